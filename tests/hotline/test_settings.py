"""The one settings object: every variable's default, its parsing, and one line for a bad value."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline.config import DEFAULT_PG_ADMIN_URL, ConfigError, load_settings
from tests.hotline.test_production_secrets import RASA_PYTHON, commands
from tests.servers import PROJECT_ROOT, free_port

VARIABLES = (
    "HOTLINE_TIMEZONE",
    "HOTLINE_ON_TIME_TARGET",
    "HOTLINE_RETENTION_DAYS",
    "HOTLINE_CASES_PER_MINUTE",
    "HOTLINE_SPOOL_FLUSH_SECONDS",
    "HOTLINE_PG_ADMIN_URL",
    "HOTLINE_SECRET_KEY",
    "ACTION_SERVER_HOST",
    "HOTLINE_CALENDAR_HORIZON_DAYS",
)

GOOD = [
    ("HOTLINE_TIMEZONE", "Asia/Urumqi", "timezone", ZoneInfo("Asia/Urumqi")),
    ("HOTLINE_ON_TIME_TARGET", "0.85", "on_time_target", 0.85),
    ("HOTLINE_ON_TIME_TARGET", "1", "on_time_target", 1.0),
    ("HOTLINE_RETENTION_DAYS", "180", "retention_days", 180),
    ("HOTLINE_CASES_PER_MINUTE", " 5 ", "cases_per_minute", 5),
    ("HOTLINE_SPOOL_FLUSH_SECONDS", "0", "spool_flush_seconds", 0.0),
    ("HOTLINE_SPOOL_FLUSH_SECONDS", "0.5", "spool_flush_seconds", 0.5),
    ("HOTLINE_PG_ADMIN_URL", "postgresql://pg@db:5432/x", "pg_admin_url", "postgresql://pg@db:5432/x"),
    ("HOTLINE_SECRET_KEY", " k" * 20, "secret_key", ("k " * 20).strip()),
    ("ACTION_SERVER_HOST", "0.0.0.0", "action_server_host", "0.0.0.0"),
]  # fmt: skip
"""(variable, value, settings field, what the field holds)."""

BAD = [
    ("HOTLINE_TIMEZONE", "Asia"),
    ("HOTLINE_TIMEZONE", "Mars/Olympus"),
    ("HOTLINE_ON_TIME_TARGET", "abc"),
    ("HOTLINE_ON_TIME_TARGET", "0"),
    ("HOTLINE_ON_TIME_TARGET", "1.5"),
    ("HOTLINE_ON_TIME_TARGET", "nan"),
    ("HOTLINE_RETENTION_DAYS", "0"),
    ("HOTLINE_RETENTION_DAYS", "一年"),
    ("HOTLINE_CASES_PER_MINUTE", "-3"),
    ("HOTLINE_CASES_PER_MINUTE", "2.5"),
    ("HOTLINE_SPOOL_FLUSH_SECONDS", "soon"),
    ("HOTLINE_SPOOL_FLUSH_SECONDS", "-1"),
    ("HOTLINE_SPOOL_FLUSH_SECONDS", "inf"),
    ("HOTLINE_CALENDAR_HORIZON_DAYS", "0"),
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.timezone == ZoneInfo("Asia/Shanghai")
    assert settings.on_time_target == 0.9
    assert settings.retention_days == 365
    assert settings.cases_per_minute == 60
    assert settings.spool_flush_seconds == 30.0
    assert settings.pg_admin_url == DEFAULT_PG_ADMIN_URL
    assert settings.secret_key == ""
    assert settings.action_server_host == "127.0.0.1"


@pytest.mark.parametrize(("name", "value", "field", "expected"), GOOD)
def test_each_variable_is_read(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str, expected: object
) -> None:
    monkeypatch.setenv(name, value)
    assert getattr(load_settings(), field) == expected


@pytest.mark.parametrize(("name", "value"), BAD)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith(f"{name} must ") and repr(value) in message
    assert "\n" not in message


def test_blank_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings()
    for name in VARIABLES:
        monkeypatch.setenv(name, "  ")
    assert load_settings() == defaults


PROCESSES = ["console", "bot", "action server", "rasa_runtime", "hotline"]


@pytest.mark.parametrize("process", PROCESSES)
def test_every_process_refuses_a_bad_setting_at_start(tmp_path: Path, process: str) -> None:
    if process == "rasa_runtime" and not RASA_PYTHON.exists():
        pytest.skip(".venv-rasa is not built")
    argv = {
        **commands(tmp_path),
        "hotline": [str(PROJECT_ROOT / ".venv" / "bin" / "hotline"), "case", "list"],
    }[process]
    env = {
        **{k: v for k, v in os.environ.items() if k not in VARIABLES},
        "HOTLINE_RETENTION_DAYS": "forever",
        "HOTLINE_VAR_DIR": str(tmp_path / "var"),
        "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'hotline.db'}",
        "TELEGRAM_BOT_TOKEN": "123:fake",
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{free_port()}/bot",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    try:
        result = subprocess.run(
            argv, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{process} started with a bad HOTLINE_RETENTION_DAYS")
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    prefix = "error" if process == "hotline" else process
    assert lines[0].startswith(f"{prefix}: HOTLINE_RETENTION_DAYS must be a positive whole number")
    assert "Traceback" not in result.stderr + result.stdout
