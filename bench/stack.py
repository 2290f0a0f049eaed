"""Starting and stopping Rasa servers and action servers for the benchmarks.

Like ``tests/servers.py`` but without pytest, with Sanic workers, and with memory readings.
Every process is started in its own session and stopped by its process group, so Sanic's
worker processes go with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from bench.common import PYTHON, ROOT, free_port, rasa_env
from hotline.channels.rasa_auth import rasa_jwt
from rasa_runtime.command import serve_command

TOKEN = "bench-rasa-jwt-secret-0123456789abcdef"
STARTUP_SECONDS = 300


class StartupError(RuntimeError):
    """A server did not come up; the message carries its log's tail."""


@dataclass
class Server:
    """One started server process."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    started: float
    ready_seconds: float = 0.0


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    tree = _children()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def _kib(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_mib(pid: int) -> tuple[float, float]:
    """Resident (RSS) and proportional (PSS) memory of a process and its descendants, in MiB.

    RSS counts pages shared between forked workers once per process; PSS splits them.
    """
    pids = process_tree(pid)
    rss = sum(_kib(Path(f"/proc/{p}/status"), "VmRSS") for p in pids)
    pss = sum(_kib(Path(f"/proc/{p}/smaps_rollup"), "Pss") for p in pids)
    return rss / 1024, pss / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants so far, in seconds."""
    ticks = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_until_up(
    server: Server, url: str, timeout: float, headers: dict[str, str] | None = None
) -> None:
    """Polls ``url`` until it answers 200 and records how long the server took.

    Raises:
        StartupError: When the process exits or the deadline passes.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise StartupError(f"{server.name} exited early:\n{_tail(server.log)}")
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                server.ready_seconds = time.monotonic() - server.started
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise StartupError(f"{url} did not come up in {timeout}s:\n{_tail(server.log)}")


def _tail(log: Path) -> str:
    try:
        return log.read_text(encoding="utf-8", errors="replace")[-3000:]
    except OSError:
        return ""


@dataclass
class Servers:
    """A set of servers started for one benchmark; a context manager that stops them all."""

    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    servers: dict[str, Server] = field(default_factory=dict)

    def __enter__(self) -> Servers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()

    def _spawn(
        self, name: str, args: list[str], cwd: Path, env: dict[str, str], port: int
    ) -> Server:
        log = self.workdir / f"{name}.log"
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = Server(name=name, proc=proc, port=port, log=log, started=time.monotonic())
        self.servers[name] = server
        return server

    def start_actions(
        self, name: str = "actions", workers: int = 1, module: str = "actions.server"
    ) -> Server:
        """Starts the project's action server on a free port (Sanic workers via the env;
        ``module``: what ``python -m`` runs, for a benchmark's baseline)."""
        port = free_port()
        env = rasa_env(**self.env, ACTION_SERVER_SANIC_WORKERS=str(workers))
        server = self._spawn(
            name,
            [str(PYTHON), "-m", module, "-p", str(port)],
            ROOT,
            env,
            port,
        )
        wait_until_up(server, f"http://127.0.0.1:{port}/health", 120)
        return server

    def start_rasa(
        self,
        model: Path,
        endpoints: Path | None,
        name: str = "rasa",
        workers: int = 1,
        cwd: Path | None = None,
        credentials: Path | None = ROOT / "credentials.yml",
        patched: bool = True,
    ) -> Server:
        """Starts ``rasa run`` with the REST channel and the HTTP API on a free port.

        Args:
            model: The trained model.
            endpoints: The endpoints file, if any.
            name: The server's name in this set.
            workers: ``SANIC_WORKERS`` (more than 1 needs a Redis lock store).
            cwd: The working directory (default: this set's workdir).
            credentials: The credentials file (the REST channel).
            patched: Start it as `make run` does, through ``python -m rasa_runtime`` (with
                the performance patches); False runs the plain ``rasa`` command.
        """
        port = free_port()
        args = serve_command(
            port=port,
            model=model,
            token=TOKEN,
            endpoints=endpoints,
            credentials=credentials,
            patched=patched,
        )
        env = rasa_env(**self.env, SANIC_WORKERS=str(workers))
        # The model's own components (nlu_components/) import from the project, patched or not.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        server = self._spawn(name, args, cwd or self.workdir, env, port)
        wait_until_up(
            server,
            f"http://127.0.0.1:{port}/status",
            STARTUP_SECONDS,
            headers={"Authorization": f"Bearer {rasa_jwt(TOKEN)}"},
        )
        return server

    def url(self, name: str) -> str:
        """The base URL of a started server."""
        return f"http://127.0.0.1:{self.servers[name].port}"

    def memory(self, name: str) -> tuple[float, float]:
        """RSS and PSS (MiB) of a started server and its worker processes."""
        return memory_mib(self.servers[name].proc.pid)

    def stop(self, name: str) -> None:
        """Stops one server and its process group (SIGTERM, then SIGKILL after 30 s)."""
        server = self.servers.pop(name, None)
        if server is None:
            return
        proc = server.proc
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        # Sanic workers may outlive their parent by a moment: end what is left of the group.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop_all(self) -> None:
        """Stops every server this set started, Rasa first."""
        for name in sorted(self.servers, key=lambda n: not n.startswith("rasa")):
            self.stop(name)
