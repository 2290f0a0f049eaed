"""Fault tests: the shared real stack (``rasa_stack``), with helpers to break and mend it.

Every fault test uses the session's Rasa server and action server (starting Rasa costs one to
two minutes) and leaves both running as it found them: the ``stack`` fixture restarts whatever
a test stopped, and puts the action server back on the session's SQLite case database.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, select, text

from hotline.db import dispose_engines, transaction
from hotline.models import Case
from tests.bot.conftest import rasa, tg  # noqa: F401  (the fake Rasa and fake Telegram)
from tests.console.conftest import (  # noqa: F401  (signed-in console clients)
    as_role,
    cheap_hashing,
    console_env,
    role_users,
)
from tests.faults.proxy import ActionProxy
from tests.servers import Stack, free_port
from tests.services import PG_ADMIN_URL

CASE_NUMBER = re.compile(r"[A-Z]{2}\d{8}-\d{4}")
DESCRIPTION = "我家楼下的路灯坏了好几天了"
LOCATION = "幸福小区3栋门口"
PHONE = "13812345678"
NAME = "王先生"


ASKED_SAME = "是否为同一问题"
"""What the assistant asks when another resident's open case is probably the same problem."""


def place_answered(say: Callable[[str], str]) -> str:
    """Gives the place; the reply to it.

    These tests' residents all report the same lamp at the same place, each expecting a case
    of their own: asked whether an earlier resident's open case is their problem (issue 14),
    they answer no.
    """
    reply = say(LOCATION)
    return say("/deny") if ASKED_SAME in reply else reply


def texts(replies: list[dict[str, object]]) -> str:
    """The replies' texts, one per line."""
    return "\n".join(str(r.get("text", "")) for r in replies)


def new_sender(tag: str) -> str:
    """A fresh web-chat sender id."""
    return f"web:{tag}-{uuid.uuid4().hex[:8]}"


@dataclass
class CaseRow:
    """What the fault tests compare of a case."""

    number: str
    resident_ref: str | None
    description: str
    location: str


def cases_of(db_url: str, sender: str | None = None) -> list[CaseRow]:
    """The cases in a database (of one resident, if given), oldest first."""
    stmt = select(Case).order_by(Case.id)
    if sender is not None:
        stmt = stmt.where(Case.resident_ref == sender)
    with transaction(db_url) as session:
        return [
            CaseRow(c.number, c.resident_ref, c.description, c.location)
            for c in session.scalars(stmt)
        ]


def answer_until_summary(stack: Stack, sender: str) -> str:
    """Plays the report conversation up to the summary; returns the summary's text."""
    reply = texts(stack.say(sender, DESCRIPTION))
    if "哪一类" in reply:
        reply = texts(stack.say(sender, '/choose_category{"category": "city_management"}'))
    assert "在哪里" in reply, reply
    assert "电话" in place_answered(lambda text: texts(stack.say(sender, text)))
    assert "称呼" in texts(stack.say(sender, PHONE))
    summary = texts(stack.say(sender, NAME))
    assert "请核对登记信息" in summary, summary
    return summary


@pytest.fixture()
def stack(rasa_stack: Stack) -> Iterator[Stack]:
    """The session's stack, both servers up; restored to how it was after the test."""
    ensure_running(rasa_stack)
    saved_env = dict(rasa_stack.env)
    saved_port = rasa_stack.action_port
    yield rasa_stack
    changed = rasa_stack.env != saved_env or rasa_stack.action_port != saved_port
    if changed:
        rasa_stack.stop("actions")
        rasa_stack.env = saved_env
        rasa_stack.action_port = saved_port
    ensure_running(rasa_stack)


def ensure_running(stack: Stack) -> None:
    """Starts whichever of the two servers is not running."""
    for name, start in (("actions", stack.start_actions), ("rasa", stack.start_rasa)):
        proc = stack.procs.get(name)
        if proc is None or proc.poll() is not None:
            stack.procs.pop(name, None)
            start()


def restart_actions(stack: Stack, **env: str) -> None:
    """Restarts the action server with extra environment variables (kept until the test ends)."""
    stack.stop("actions")
    stack.env = {**stack.env, **env}
    stack.start_actions()


@contextmanager
def proxied_actions(stack: Stack) -> Iterator[ActionProxy]:
    """Puts an :class:`ActionProxy` where Rasa expects the action server.

    The action server moves to a new port; the proxy listens on the old one, which Rasa's
    endpoints.yml names. The ``stack`` fixture moves it back afterwards.
    """
    listen = stack.action_port
    stack.stop("actions")
    stack.action_port = free_port()
    stack.start_actions()
    proxy = ActionProxy(listen, stack.action_url).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def pg_admin_execute(*statements: str) -> None:
    """Runs statements on the PostgreSQL server as the test administrator (autocommit)."""
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


@contextmanager
def database_refusing_connections(db_url: str) -> Iterator[None]:
    """Makes a PostgreSQL database refuse every connection, and drops those it had.

    Everybody (the action server, this process) gets "not currently accepting connections"
    until the block ends, as when the server is down.
    """
    name = db_url.rsplit("/", 1)[1]
    dispose_engines()
    pg_admin_execute(
        f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false',
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()",
    )
    try:
        yield
    finally:
        pg_admin_execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
