"""The supervisord configuration for :func:`runner.processes.processes`.

supervisord (http://supervisord.org) starts every process, and restarts one that dies:

- a process that dies after ``startsecs`` (a crash, the OOM killer's SIGKILL) is started again
  at once;
- one that dies sooner is a failed start, retried after 1, 2, 3 … seconds
  (``STARTRETRIES`` times); after that it is FATAL and stays down (``supervisorctl start NAME``
  once the cause is fixed);
- every exit, start and give-up is logged with its reason in ``supervisord.log``, e.g.
  ``exited: actions (terminated by SIGKILL; not expected)``.

When a process dies, :mod:`runner.reaper` kills the workers it left behind in its process
group, so that they do not keep its port. Each process writes to its own log file
(``var/log/NAME.log``, rotated), which :mod:`runner.output` prints with a name prefix. The
processes get the runner's environment.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path

from hotline.config import PROJECT_ROOT
from runner.processes import Process

STARTRETRIES = 5
STOPWAITSECS = 20
LOG_MAXBYTES = "10MB"
LOG_BACKUPS = 3


@dataclass(frozen=True)
class Paths:
    """Where supervisord keeps its files, under the var directory."""

    var_dir: Path

    @property
    def run_dir(self) -> Path:
        """The control socket, the pid file and the generated configuration."""
        return self.var_dir / "run"

    @property
    def log_dir(self) -> Path:
        """supervisord's own log and one log per process."""
        return self.var_dir / "log"

    @property
    def config(self) -> Path:
        return self.run_dir / "supervisord.conf"

    @property
    def socket(self) -> Path:
        return self.run_dir / "supervisor.sock"

    @property
    def main_log(self) -> Path:
        return self.log_dir / "supervisord.log"

    def process_log(self, name: str) -> Path:
        """The log file of one process (stdout and stderr)."""
        return self.log_dir / f"{name}.log"


def _quote(value: str) -> str:
    """A value for supervisord's ``environment=`` (double quotes, %% for %)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped}"'


def _command(argv: tuple[str, ...]) -> str:
    """A command line supervisord splits back into ``argv`` (it uses shlex; % is expanded)."""
    return shlex.join(argv).replace("%", "%%")


def program_section(process: Process, paths: Paths) -> str:
    """The ``[program:NAME]`` section of one process."""
    lines = [
        f"[program:{process.name}]",
        f"command={_command(process.argv)}",
        f"directory={PROJECT_ROOT}",
        "autostart=true",
        # Restart whatever way it ended: the hotline has no process that may stay down.
        "autorestart=true",
        f"startsecs={process.startsecs}",
        f"startretries={STARTRETRIES}",
        "stopsignal=TERM",
        f"stopwaitsecs={STOPWAITSECS}",
        # Signals go to the process group, so workers a process forked stop with it.
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={paths.process_log(process.name)}",
        f"stdout_logfile_maxbytes={LOG_MAXBYTES}",
        f"stdout_logfile_backups={LOG_BACKUPS}",
    ]
    if process.env:
        pairs = ",".join(f"{key}={_quote(value)}" for key, value in process.env.items())
        lines.append(f"environment={pairs}")
    return "\n".join(lines) + "\n"


def reaper_section(paths: Paths) -> str:
    """The event listener that kills what a dead process left in its group (runner/reaper.py)."""
    python = PROJECT_ROOT / ".venv" / "bin" / "python"
    return f"""[eventlistener:reaper]
command={_command((str(python), "-m", "runner.reaper"))}
directory={PROJECT_ROOT}
events=PROCESS_STATE_EXITED
autorestart=true
buffer_size=100
stdout_logfile=NONE
stderr_logfile={paths.process_log("reaper")}
stderr_logfile_maxbytes={LOG_MAXBYTES}
stderr_logfile_backups={LOG_BACKUPS}
"""


def render(processes: list[Process], paths: Paths) -> str:
    """The whole supervisord configuration: control socket, daemon settings, programs.

    The control socket is the owner's only, and asks for a password that is new on every run
    (supervisorctl reads it from the same file).
    """
    password = secrets.token_urlsafe(24)
    head = f"""; Written by `python -m runner` (make run) from runner/processes.py; edits are lost.
[unix_http_server]
file={paths.socket}
chmod=0700
username=runner
password={password}

[supervisord]
nodaemon=true
; The user the runner runs as: supervisord changes nothing, and does not warn about root.
user={pwd.getpwuid(os.getuid()).pw_name}
silent=true
logfile={paths.main_log}
logfile_maxbytes={LOG_MAXBYTES}
logfile_backups={LOG_BACKUPS}
pidfile={paths.run_dir / "supervisord.pid"}
childlogdir={paths.log_dir}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{paths.socket}
username=runner
password={password}
"""
    sections = [head, reaper_section(paths), *(program_section(p, paths) for p in processes)]
    return "\n".join(sections)


def write_config(processes: list[Process], paths: Paths) -> Path:
    """Writes the configuration (readable by its owner only: it holds the socket's password)."""
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    paths.log_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(render(processes, paths))
    os.chmod(paths.config, 0o600)
    return paths.config
