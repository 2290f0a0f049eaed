"""The systemd units in docs/deploy.md start what ``make run`` starts (runner/processes.py)."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest

from hotline.config import PROJECT_ROOT
from runner.processes import prepare_environment, processes

DOC = PROJECT_ROOT / "docs" / "deploy.md"
INSTALL_DIR = "/opt/hotline"
UNIT = re.compile(r"`/etc/systemd/system/hotline-(\w+)\.service`:\s*```ini\n(.*?)```", re.S)


def units() -> dict[str, configparser.ConfigParser]:
    """The documented units by process name."""
    found = {}
    for name, body in UNIT.findall(DOC.read_text(encoding="utf-8")):
        parser = configparser.ConfigParser(interpolation=None, strict=True)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(body)
        found[name] = parser
    return found


def test_one_unit_per_process(tmp_path: Path) -> None:
    env = {"HOTLINE_VAR_DIR": str(tmp_path), "TELEGRAM_BOT_TOKEN": "1:x"}
    prepare_environment(env)
    assert sorted(units()) == sorted(p.name for p in processes(env))


@pytest.mark.parametrize("name", ["rasa", "actions", "console", "bot"])
def test_unit_starts_the_runners_command(name: str, tmp_path: Path) -> None:
    env = {
        "HOTLINE_VAR_DIR": str(tmp_path),
        "TELEGRAM_BOT_TOKEN": "1:x",
        "RASA_TOKEN": "the-token",
        "RASA_PORT": "5105",
        "ACTION_PORT": "5155",
        "CONSOLE_PORT": "8100",
    }
    prepare_environment(env)
    [process] = [p for p in processes(env) if p.name == name]
    unit = units()[name]
    argv = [
        re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], word).replace(
            INSTALL_DIR, str(PROJECT_ROOT)
        )
        for word in shlex.split(unit["Service"]["ExecStart"])
    ]
    assert argv == list(process.argv)
    service = unit["Service"]
    assert service["Restart"] == "on-failure" and service["RestartSec"]
    assert service["User"] == "hotline" and service["EnvironmentFile"] == "/etc/hotline/hotline.env"
    assert int(unit["Unit"]["StartLimitBurst"]) > 1 and unit["Unit"]["StartLimitIntervalSec"]
    assert "hotline.target" in unit["Install"]["WantedBy"]
    # Every listening process binds the loopback interface only.
    if "-i" in argv or "--host" in argv:
        assert argv[argv.index("-i" if "-i" in argv else "--host") + 1] == "127.0.0.1"
