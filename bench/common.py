"""Shared helpers for the benchmarks: paths, settings from the environment, tables, machine."""

from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hotline.config import DEV_ACTION_TOKEN

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
MODEL = ROOT / "models" / "hotline.tar.gz"
RESULTS = ROOT / "docs" / "benchmarks.md"
QUIET_ENV = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}


def env_int(name: str, default: int) -> int:
    """An integer setting from the environment, or ``default`` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def env_ints(name: str, default: Sequence[int]) -> list[int]:
    """A comma-separated list of integers from the environment (``"1,10,50"``)."""
    raw = os.environ.get(name, "").strip()
    return [int(x) for x in raw.split(",") if x.strip()] if raw else list(default)


def rasa_env(**extra: str) -> dict[str, str]:
    """The environment for a Rasa or action server process: quiet, no telemetry, the shared
    action token (endpoints*.yml read ``${HOTLINE_ACTION_TOKEN}``), plus ``extra``."""
    token = os.environ.get("HOTLINE_ACTION_TOKEN", DEV_ACTION_TOKEN)
    return {**os.environ, **QUIET_ENV, "HOTLINE_ACTION_TOKEN": token, **extra}


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table; floats are shown with three significant decimals."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
        return str(value).replace("|", "\\|")

    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def run_timed(args: Sequence[str], cwd: Path, log: Path, env: dict[str, str]) -> float:
    """Runs a command to completion with its output in ``log``; returns the seconds it took.

    Raises:
        subprocess.CalledProcessError: When it fails (the log's tail is in the message).
    """
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.run(list(args), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise subprocess.CalledProcessError(proc.returncode, list(args), output=tail)
    return time.monotonic() - started


@dataclass(frozen=True)
class Machine:
    """What the numbers were measured on."""

    uname: str
    cpu: str
    cores: int
    ram_gib: float
    commit: str
    dirty: bool
    date: str


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or "unknown"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else platform.processor() or "unknown"


def _ram_gib() -> float:
    try:
        text = Path("/proc/meminfo").read_text(encoding="utf-8")
    except OSError:
        return 0.0
    found = re.search(r"^MemTotal:\s*(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) / 1024 / 1024 if found else 0.0


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _uname() -> str:
    try:
        return subprocess.run(
            ["uname", "-a"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return " ".join(platform.uname())


def machine() -> Machine:
    """Describes this machine and the checked-out commit."""
    return Machine(
        uname=_uname(),
        cpu=_cpu_model(),
        cores=os.cpu_count() or 0,
        ram_gib=_ram_gib(),
        commit=_git("rev-parse", "--short", "HEAD") or "unknown",
        # The runs this file appends do not make the next run's code uncommitted.
        dirty=bool(
            _git(
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                f":!{RESULTS.relative_to(ROOT)}",
            )
        ),
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def load_average() -> str:
    """The 1/5/15-minute load averages, to show how busy the machine was."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def busy_processes(limit: int = 6) -> list[str]:
    """The processes using the most CPU right now, other than this one (``ps``)."""
    try:
        out = subprocess.run(
            ["ps", "-eo", "pid,pcpu,etimes,args", "--sort=-pcpu", "--no-headers"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    rows = []
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) < 4 or int(parts[0]) == os.getpid() or float(parts[1]) < 5.0:
            continue
        rows.append(f"{parts[1]}% cpu: {parts[3][:110]}")
        if len(rows) >= limit:
            break
    return rows
