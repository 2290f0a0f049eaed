"""The processes of the hotline and their command lines: the one definition.

``make run`` (through supervisord, :mod:`runner.supervisor`) and the systemd units in
docs/deploy.md start exactly these commands. Rasa's command line comes from
:func:`rasa_runtime.command.serve_command`, which the tests and benchmarks use too.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from hotline.config import DEV_ACTION_TOKEN, PROJECT_ROOT
from rasa_runtime.command import serve_command

VENV_BIN = PROJECT_ROOT / ".venv" / "bin"
MODEL = PROJECT_ROOT / "models" / "hotline.tar.gz"
CREDENTIALS = PROJECT_ROOT / "credentials.yml"
DEFAULT_PORTS = {"RASA_PORT": "5005", "ACTION_PORT": "5055", "CONSOLE_PORT": "8000"}


@dataclass(frozen=True)
class Process:
    """One long-running component.

    Attributes:
        name: Short name, used as the log prefix and the supervisord program name.
        argv: The command line (absolute paths; run from the project root).
        env: Variables this process needs beyond the shared environment.
        startsecs: Seconds it must stay up to count as started; dying sooner is a failed start,
            retried with a growing delay (supervisord's backoff).
    """

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    startsecs: int = 5


QUIET_LOGS: dict[str, str] = {
    # TensorFlow's C++ notes (oneDNN, CUDA, TensorRT, type inference) are noise here: level 2
    # keeps its errors only.
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # Deprecation warnings of Rasa 3.6's pinned libraries (SQLAlchemy 1.4, pkg_resources,
    # sanic_cors, pyparsing) say nothing an operator can act on.
    "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::PendingDeprecationWarning",
    # SQLAlchemy 1.4's one "MovedIn20Warning" about Rasa's tracker store.
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}
"""Defaults that keep ``make run``'s console readable; each can be overridden from the
environment (``TF_CPP_MIN_LOG_LEVEL=0`` shows TensorFlow's notes again)."""


def prepare_environment(environ: MutableMapping[str, str]) -> None:
    """Fills in what every process needs to find the others, keeping what is already set.

    The ports (``RASA_PORT``, ``ACTION_PORT``, ``CONSOLE_PORT``), the URLs derived from them
    (``RASA_URL`` for the console and the bot, ``ACTION_SERVER_URL`` for ``/healthz``; Rasa
    reads ``ACTION_PORT`` in its endpoints file), ``HOTLINE_VAR_DIR`` as an absolute path
    (the endpoints files put Rasa's tracker store there) and ``HOTLINE_ACTION_TOKEN``, which
    Rasa sends to the action server.

    Args:
        environ: The environment to complete, usually ``os.environ``.
    """
    for name, port in DEFAULT_PORTS.items():
        environ.setdefault(name, port)
    environ.setdefault("RASA_URL", f"http://127.0.0.1:{environ['RASA_PORT']}")
    environ.setdefault("ACTION_SERVER_URL", f"http://127.0.0.1:{environ['ACTION_PORT']}")
    var_dir = Path(environ.get("HOTLINE_VAR_DIR") or PROJECT_ROOT / "var")
    environ["HOTLINE_VAR_DIR"] = str(var_dir.resolve())
    # Rasa reads the action server's token in its endpoints file, so it must be set; the
    # development default (refused by HOTLINE_ENV=production) is the settings'.
    environ.setdefault("HOTLINE_ACTION_TOKEN", DEV_ACTION_TOKEN)
    for name, value in QUIET_LOGS.items():
        environ.setdefault(name, value)


def bot_enabled(environ: Mapping[str, str]) -> bool:
    """Whether the Telegram bot runs: only with a bot token."""
    return bool(environ.get("TELEGRAM_BOT_TOKEN", "").strip())


def processes(environ: Mapping[str, str], *, scaled: bool = False) -> list[Process]:
    """The processes to run, in start order.

    Args:
        environ: The environment after :func:`prepare_environment`.
        scaled: The scaled configuration (docs/deploy.md): PostgreSQL tracker store, Redis
            lock store, ``SANIC_WORKERS`` Rasa workers (default 2) and ``ACTION_WORKERS``
            action-server workers (default 2).

    Returns:
        Rasa, the action server, the console, and the bot when ``TELEGRAM_BOT_TOKEN`` is set.
    """
    endpoints = PROJECT_ROOT / ("endpoints.scaled.yml" if scaled else "endpoints.yml")
    # No secret on the command line (the process list shows it to every local user):
    # rasa_runtime gives Rasa RASA_TOKEN from the settings.
    rasa_argv = serve_command(
        port=int(environ["RASA_PORT"]),
        model=MODEL,
        token=None,
        endpoints=endpoints,
        credentials=CREDENTIALS,
    )
    rasa_env = {"SANIC_WORKERS": environ.get("SANIC_WORKERS", "2")} if scaled else {}
    actions_env = (
        {"ACTION_SERVER_SANIC_WORKERS": environ.get("ACTION_WORKERS", "2")} if scaled else {}
    )
    python = str(VENV_BIN / "python")
    found = [
        # Rasa loads TensorFlow and the model for tens of seconds: a death in its first 30
        # seconds is a failed start (backoff), later a crash (restarted at once).
        Process("rasa", tuple(rasa_argv), rasa_env, startsecs=30),
        Process(
            "actions",
            (python, "-m", "actions.server", "-p", environ["ACTION_PORT"]),
            actions_env,
        ),
        Process(
            "console",
            (
                str(VENV_BIN / "uvicorn"),
                "console.app:app",
                "--ws",
                "none",
                "--host",
                "127.0.0.1",
                "--port",
                environ["CONSOLE_PORT"],
            ),
        ),
    ]
    if bot_enabled(environ):
        found.append(Process("bot", (python, "-m", "bot")))
    return found
