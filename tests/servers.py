"""Starting the real Rasa server and action server for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

from hotline.channels.rasa_auth import rasa_jwt
from hotline.config import ACTION_TOKEN_HEADER, PROJECT_ROOT
from rasa_runtime.command import serve_command

PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"
MODEL = PROJECT_ROOT / "models" / "hotline.tar.gz"
TOKEN = "test-rasa-jwt-secret-0123456789abcdef"
ACTION_TOKEN = "test-action-token"
STARTUP_SECONDS = 240
TRACKER_STORE = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))[
    "tracker_store"
]["type"]
"""The tracker store class endpoints.yml names, which the test stack uses too."""


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(
    url: str,
    proc: subprocess.Popen[bytes],
    log: Path,
    timeout: float,
    headers: dict[str, str] | None = None,
) -> None:
    """Polls ``url`` until it answers 200; fails with the log's tail if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args!r} exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not come up in {timeout}s:\n{log.read_text()[-3000:]}")


@dataclass
class Stack:
    """A running Rasa server and action server with their own case database."""

    workdir: Path
    db_url: str
    rasa_port: int
    action_port: int
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def tracker_url(self) -> str:
        """The stack's tracker store, as HOTLINE_TRACKER_STORE_URL names it."""
        return f"sqlite:///{self.workdir / 'tracker.db'}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://127.0.0.1:{self.action_port}"

    def start_actions(self) -> None:
        """Starts (or restarts) the action server."""
        log = self.workdir / "actions.log"
        self.procs["actions"] = subprocess.Popen(
            [str(PYTHON), "-m", "actions.server", "-p", str(self.action_port)],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_until_up(f"{self.action_url}/health", self.procs["actions"], log, 60)

    def start_rasa(self) -> None:
        """Starts (or restarts) the Rasa server as `make run` does (python -m rasa_runtime)."""
        log = self.workdir / "rasa.log"
        self.procs["rasa"] = subprocess.Popen(
            serve_command(
                port=self.rasa_port,
                model=MODEL,
                token=TOKEN,
                endpoints=self.workdir / "endpoints.yml",
                credentials=PROJECT_ROOT / "credentials.yml",
            ),
            cwd=self.workdir,
            env=self.env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_until_up(
            f"{self.rasa_url}/status",
            self.procs["rasa"],
            log,
            STARTUP_SECONDS,
            headers={"Authorization": f"Bearer {rasa_jwt(TOKEN)}"},
        )

    def stop(self, name: str, sig: int | None = None) -> None:
        """Stops one process (SIGTERM, or the given signal) and waits for it."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        if sig is None:
            proc.terminate()
        else:
            proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close_open_cases(self) -> int:
        """Marks every open case in the stack's database closed; returns how many.

        The stack is shared by the session, so without this a case one test left open would
        make the assistant ask another test's resident whether their report is the same
        problem (issue 14). Test housekeeping only: no audit event, no notice.
        """
        from sqlalchemy import update

        from hotline.casework.workflow import OPEN_STATUSES
        from hotline.db import transaction
        from hotline.models import Case

        with transaction(self.db_url) as session:
            result = session.execute(
                update(Case)
                .where(Case.status.in_([s.value for s in OPEN_STATUSES]))
                .values(status="closed")
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def say(self, sender: str, text: str) -> list[dict[str, object]]:
        """Posts one message to the REST channel and returns the replies."""
        response = httpx.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=60,
        )
        response.raise_for_status()
        return list(response.json())


def start_stack(workdir: Path) -> Stack:
    """Starts both servers against a fresh SQLite case database in ``workdir``."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (make test does)")
    from hotline.db import upgrade

    workdir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{workdir / 'hotline.db'}"
    upgrade(db_url)
    stack = Stack(
        workdir=workdir, db_url=db_url, rasa_port=free_port(), action_port=free_port(), env={}
    )
    (workdir / "endpoints.yml").write_text(
        f'action_endpoint:\n  url: "{stack.action_url}/webhook"\n'
        f"  headers:\n    {ACTION_TOKEN_HEADER}: {ACTION_TOKEN}\n"
        f"tracker_store:\n  type: {TRACKER_STORE}\n"
        f'  dialect: "sqlite"\n  db: "{workdir / "tracker.db"}"\n',
        encoding="utf-8",
    )
    stack.env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": db_url,
        "HOTLINE_VAR_DIR": str(workdir / "var"),
        "HOTLINE_TRACKER_STORE_URL": stack.tracker_url,
        "HOTLINE_ACTION_TOKEN": ACTION_TOKEN,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p
        ),
    }
    stack.start_actions()
    stack.start_rasa()
    return stack


@pytest.fixture(autouse=True)
def no_open_cases_from_earlier_tests(request: pytest.FixtureRequest) -> None:
    """Each test on the shared stack starts with no open case left by an earlier test.

    Residents of different tests often report the same problem at the same place (a street
    lamp at 幸福小区3栋): such a case left open would make the assistant ask the next test's
    resident 「该问题已有居民反映…是否为同一问题？」, which that conversation does not expect.
    tests/dialogue/test_duplicates_e2e.py logs its first report inside the test.
    """
    if "rasa_stack" in request.fixturenames:
        request.getfixturevalue("rasa_stack").close_open_cases()


@pytest.fixture(scope="session")
def rasa_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real Rasa server and action server, shared by the session's end-to-end tests.

    Tests must use their own sender ids. RASA_URL, HOTLINE_DATABASE_URL and
    HOTLINE_TRACKER_STORE_URL point at the stack for the duration of the session.
    """
    stack = start_stack(tmp_path_factory.mktemp("stack"))
    names = ("RASA_URL", "RASA_TOKEN", "HOTLINE_DATABASE_URL", "HOTLINE_TRACKER_STORE_URL")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update(
        RASA_URL=stack.rasa_url,
        RASA_TOKEN=TOKEN,
        HOTLINE_DATABASE_URL=stack.db_url,
        HOTLINE_TRACKER_STORE_URL=stack.tracker_url,
    )
    try:
        yield stack
    finally:
        for name in list(stack.procs):
            stack.stop(name)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
