"""HOTLINE_ENV=production refuses development defaults and short secrets, in every process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hotline.config import (
    DEV_ACTION_TOKEN,
    DEV_RASA_TOKEN,
    ConfigError,
    check_production_secrets,
    load_settings,
)
from rasa_runtime.command import RASA_PYTHON
from tests.servers import PROJECT_ROOT, PYTHON, free_port

GOOD = {
    "RASA_TOKEN": "r" * 32,
    "HOTLINE_ACTION_TOKEN": "a" * 40,
    "HOTLINE_SECRET_KEY": "s" * 48,
}
DEFAULTS = {"RASA_TOKEN": DEV_RASA_TOKEN, "HOTLINE_ACTION_TOKEN": DEV_ACTION_TOKEN}
BAD = [
    *((name, DEFAULTS.get(name, ""), "development default") for name in DEFAULTS),
    ("HOTLINE_SECRET_KEY", None, "is not set"),
    *((name, "x" * 31, "shorter than 32") for name in GOOD),
]
"""(variable, bad value or None for unset, what the message says)."""


def production_env(name: str, value: str | None, **extra: str) -> dict[str, str]:
    """The environment with good secrets except ``name``."""
    env = {k: v for k, v in os.environ.items() if k not in GOOD}
    env |= {**GOOD, "HOTLINE_ENV": "production", **extra}
    if value is None:
        del env[name]
    else:
        env[name] = value
    return env


@pytest.mark.parametrize(("name", "value", "problem"), BAD)
def test_each_bad_secret_is_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str | None, problem: str
) -> None:
    for key, val in {**GOOD, "HOTLINE_ENV": "production"}.items():
        monkeypatch.setenv(key, val)
    if value is None:
        monkeypatch.delenv(name)
    else:
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        check_production_secrets()
    message = str(error.value)
    assert message.startswith(f"{name} ") and problem in message
    assert "\n" not in message


def test_good_secrets_pass_and_development_needs_none(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, val in {**GOOD, "HOTLINE_ENV": "production"}.items():
        monkeypatch.setenv(key, val)
    check_production_secrets()
    for key in (*GOOD, "HOTLINE_ENV"):
        monkeypatch.delenv(key)
    # make run: zero configuration, the development defaults.
    assert not load_settings().is_production
    check_production_secrets()


def commands(tmp_path: Path) -> dict[str, list[str]]:
    """How the Procfile starts each process (ports free, nothing else needed)."""
    return {
        "console": [
            str(PROJECT_ROOT / ".venv" / "bin" / "uvicorn"),
            "console.app:app",
            "--port",
            str(free_port()),
        ],
        "bot": [str(PYTHON), "-m", "bot"],
        "action server": [str(PYTHON), "-m", "actions.server", "-p", str(free_port())],
        "rasa_runtime": [
            str(RASA_PYTHON),
            "-m",
            "rasa_runtime",
            "run",
            "--enable-api",
            "-p",
            str(free_port()),
            "-m",
            str(tmp_path / "no-model.tar.gz"),
        ],
    }


@pytest.mark.parametrize("process", ["console", "bot", "action server", "rasa_runtime"])
@pytest.mark.parametrize(("name", "value", "problem"), BAD[:3])
def test_every_process_refuses_to_start(
    tmp_path: Path, process: str, name: str, value: str | None, problem: str
) -> None:
    env = production_env(
        name,
        value,
        HOTLINE_VAR_DIR=str(tmp_path / "var"),
        HOTLINE_DATABASE_URL=f"sqlite:///{tmp_path / 'hotline.db'}",
        TELEGRAM_BOT_TOKEN="123:fake",
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{free_port()}/bot",
        PYTHONPATH=str(PROJECT_ROOT),
    )
    try:
        result = subprocess.run(
            commands(tmp_path)[process],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{process} started with a bad {name}")
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(f"{process}: {name} ") and problem in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
