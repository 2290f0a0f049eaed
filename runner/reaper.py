"""A supervisord event listener: when a process dies, kill what is left of its process group.

supervisord starts every process as the leader of its own process group. A process that forks
workers (Rasa with ``SANIC_WORKERS``, the action server with ``ACTION_SERVER_SANIC_WORKERS``)
leaves them running when it is killed with SIGKILL: they keep the listening port, so every
restart fails to bind and supervisord soon gives up. supervisord only signals the group when it
stops a process itself (``stopasgroup``, ``killasgroup``), so this listener does it on
``PROCESS_STATE_EXITED``: it sends SIGKILL to the dead process's group, and the restart (retried
with backoff if it came too early) finds the port free.

Run by supervisord as ``python -m runner.reaper``; stdout is supervisord's event protocol, so
messages go to stderr.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import TextIO

from supervisor import childutils


def reap(pid: int) -> bool:
    """Kills the process group led by ``pid``; whether anything was left in it."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def handle(headers: dict[str, str], payload: str, err: TextIO) -> None:
    """Handles one event: reaps the group of a process that exited."""
    if headers.get("eventname") != "PROCESS_STATE_EXITED":
        return
    details, _ = childutils.eventdata(payload + "\n")
    pid = int(details.get("pid", "0"))
    if pid > 1 and reap(pid):
        name = details.get("processname", "?")
        err.write(f"killed the processes {name} (pid {pid}) left behind in its group\n")
        err.flush()


def main() -> None:
    """The listener loop: wait for an event, handle it, acknowledge it."""
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        try:
            handle(headers, payload, sys.stderr)
        finally:
            childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    main()
