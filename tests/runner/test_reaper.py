"""A process that forked workers is killed with SIGKILL: its workers must not keep its port.

Real supervisord with the runner's configuration, and a small program that binds a port and
forks a worker holding it, as Rasa and the action server do with several Sanic workers.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.processes import VENV_BIN, Process
from runner.supervisor import Paths, write_config
from tests.servers import free_port

pytestmark = pytest.mark.timeout(120)

SERVER = textwrap.dedent(
    """
    import os, socket, sys, time
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", int(sys.argv[1])))  # fails while an old worker still listens
    sock.listen()
    if os.fork() == 0:
        print("worker", os.getpid(), flush=True)
    while True:
        time.sleep(1)
    """
)


def ctl(paths: Paths, *args: str) -> str:
    result = subprocess.run(
        [str(VENV_BIN / "supervisorctl"), "-c", str(paths.config), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.stdout.strip()


def running_pid(paths: Paths) -> int:
    """The server's pid once supervisord counts it as RUNNING, else 0."""
    found = re.search(r"RUNNING\s+pid (\d+)", ctl(paths, "status", "server"))
    return int(found.group(1)) if found else 0


def wait(check, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture()
def supervised(tmp_path: Path) -> Iterator[Paths]:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    paths = Paths(tmp_path / "var")
    server = Process("server", (sys.executable, str(script), str(free_port())), startsecs=1)
    config = write_config([server], paths)
    daemon = subprocess.Popen([str(VENV_BIN / "supervisord"), "-c", str(config)])
    try:
        assert wait(lambda: running_pid(paths) > 0, 30), ctl(paths, "status")
        yield paths
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)


def test_workers_of_a_killed_process_are_reaped_and_it_restarts(supervised: Paths) -> None:
    paths = supervised
    log = paths.process_log("server")
    assert wait(lambda: "worker" in log.read_text(), 10)
    old = running_pid(paths)
    worker = int(log.read_text().split("worker", 1)[1].split()[0])

    os.kill(old, signal.SIGKILL)

    assert wait(lambda: running_pid(paths) not in (0, old), 30), ctl(paths, "status")
    assert not alive(worker)
    assert f"killed the processes server (pid {old})" in paths.process_log("reaper").read_text()
