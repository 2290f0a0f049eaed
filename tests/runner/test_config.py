"""``make run``'s runner: the process definitions, the supervisord configuration, the output.

The configuration is read back with supervisord's own parser, so what is checked here is what
supervisord will do.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions
from supervisor.process import Subprocess

from hotline.config import DEV_ACTION_TOKEN, PROJECT_ROOT
from rasa_runtime.command import serve_command
from runner.output import Follower
from runner.processes import MODEL, Process, prepare_environment, processes
from runner.supervisor import STARTRETRIES, Paths, write_config


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"HOTLINE_VAR_DIR": str(tmp_path / "var"), "RASA_TOKEN": "secret-token", **extra}
    prepare_environment(env)
    return env


def read_back(procs: list[Process], tmp_path: Path) -> ServerOptions:
    """Writes the configuration and parses it as supervisord does."""
    options = ServerOptions()
    options.realize(args=["-c", str(write_config(procs, Paths(tmp_path / "var")))])
    return options


def test_prepare_environment_derives_urls_and_keeps_what_is_set(tmp_path: Path) -> None:
    env = {"RASA_PORT": "6005", "ACTION_SERVER_URL": "http://10.0.0.1:1", "HOTLINE_VAR_DIR": "v"}
    prepare_environment(env)
    assert env["RASA_URL"] == "http://127.0.0.1:6005"
    assert env["ACTION_SERVER_URL"] == "http://10.0.0.1:1"
    assert env["ACTION_PORT"] == "5055" and env["CONSOLE_PORT"] == "8000"
    assert env["HOTLINE_VAR_DIR"] == str(Path("v").resolve())
    assert env["HOTLINE_ACTION_TOKEN"] == DEV_ACTION_TOKEN  # endpoints.yml needs it set


def test_rasa_is_started_with_the_shared_command_line(tmp_path: Path) -> None:
    env = environment(tmp_path, RASA_PORT="6005")
    [rasa] = [p for p in processes(env) if p.name == "rasa"]
    # The secret stays off the command line: rasa_runtime adds it from the settings.
    assert "secret-token" not in rasa.argv
    assert list(rasa.argv) == serve_command(
        port=6005,
        model=MODEL,
        token=None,
        endpoints=PROJECT_ROOT / "endpoints.yml",
        credentials=PROJECT_ROOT / "credentials.yml",
    )
    [scaled] = [p for p in processes(env, scaled=True) if p.name == "rasa"]
    assert str(PROJECT_ROOT / "endpoints.scaled.yml") in scaled.argv
    assert scaled.env == {"SANIC_WORKERS": "2"}


def test_the_bot_runs_only_with_a_token(tmp_path: Path) -> None:
    names = [p.name for p in processes(environment(tmp_path))]
    assert names == ["rasa", "actions", "console"]
    with_bot = processes(environment(tmp_path, TELEGRAM_BOT_TOKEN="123:ABC"))
    assert [p.name for p in with_bot] == ["rasa", "actions", "console", "bot"]


@pytest.mark.parametrize("scaled", [False, True])
def test_supervisord_restarts_every_process_it_reads(tmp_path: Path, scaled: bool) -> None:
    env = environment(tmp_path, TELEGRAM_BOT_TOKEN="123:ABC", ACTION_WORKERS="3")
    procs = processes(env, scaled=scaled)
    options = read_back(procs, tmp_path)
    assert options.nodaemon
    configs = {c.name: c for g in options.process_group_configs for c in g.process_configs}
    reaper = configs.pop("reaper")
    assert reaper.autorestart is RestartUnconditionally
    assert sorted(configs) == sorted(p.name for p in procs)
    for process in procs:
        config = configs[process.name]
        _, argv = Subprocess(config).get_execv_args()
        assert argv == list(process.argv)
        assert config.autorestart is RestartUnconditionally
        assert config.startretries == STARTRETRIES and config.startsecs == process.startsecs
        assert config.stopasgroup and config.killasgroup and config.redirect_stderr
        assert config.stdout_logfile == str(tmp_path / "var" / "log" / f"{process.name}.log")
        assert (config.environment or {}) == dict(process.env)
    assert configs["rasa"].startsecs == 30
    if scaled:
        assert configs["actions"].environment == {"ACTION_SERVER_SANIC_WORKERS": "3"}
    # It holds the control socket's password: its owner alone may read it.
    assert os.stat(Paths(tmp_path / "var").config).st_mode & 0o077 == 0


def test_follower_prefixes_lines_and_follows_rotation(tmp_path: Path) -> None:
    rasa, bot = tmp_path / "rasa.log", tmp_path / "bot.log"
    rasa.write_text("from an earlier run\n")
    out = io.StringIO()
    follower = Follower({"rasa": rasa, "bot": bot}, out)
    with rasa.open("a") as handle:
        handle.write("loading\nhalf a li")
    bot.write_text("polling\n")
    assert follower.poll() == 2
    with rasa.open("a") as handle:
        handle.write("ne\n")
    follower.poll()
    rasa.rename(tmp_path / "rasa.log.1")  # supervisord rotates: a new, shorter file
    rasa.write_text("after rotation\nno newline yet")
    follower.poll()
    follower.drain()
    lines = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == [
        "rasa   | loading",
        "bot    | polling",
        "rasa   | half a line",
        "rasa   | after rotation",
        "rasa   | no newline yet",
    ]
