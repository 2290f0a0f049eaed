"""The case database (PostgreSQL) refuses connections while a resident confirms a report.

The action server runs against a fresh PostgreSQL database. While the database refuses every
connection, the resident confirms: the report is spooled and the resident gets the Chinese
apology. Once the database is back, the action server's own flusher logs the report (once)
and queues the case number for the resident.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from hotline.casework.spool import flush_spool, pending_reports
from hotline.db import transaction, upgrade
from hotline.models import OutboxMessage
from tests.faults.conftest import (
    CASE_NUMBER,
    answer_until_summary,
    cases_of,
    database_refusing_connections,
    new_sender,
    restart_actions,
    texts,
)
from tests.servers import Stack
from tests.services import fresh_postgres_database

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(600)]

FLUSH_SECONDS = 1.0


@pytest.fixture()
def pg_stack(stack: Stack) -> Iterator[tuple[Stack, str]]:
    """The stack with the action server on a fresh PostgreSQL case database."""
    with fresh_postgres_database() as url:
        upgrade(url)
        restart_actions(
            stack, HOTLINE_DATABASE_URL=url, HOTLINE_SPOOL_FLUSH_SECONDS=str(FLUSH_SECONDS)
        )
        yield stack, url
        stack.stop("actions")  # before the database is dropped


def _wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def _still_down_logged(stack: Stack) -> int:
    """How often the action server's flusher has logged that the database is still down."""
    log = stack.workdir / "actions.log"
    return log.read_text(errors="replace").count("case database still unavailable")


def test_confirming_while_the_database_refuses_connections(pg_stack: tuple[Stack, str]) -> None:
    stack, url = pg_stack
    spool_dir = stack.workdir / "var" / "spool"
    sender, other = new_sender("db-down"), new_sender("db-up")
    summary = answer_until_summary(stack, sender)
    assert "138****5678" in summary

    with database_refusing_connections(url):
        reply = texts(stack.say(sender, "/affirm"))
        assert "非常抱歉，系统暂时无法保存您的信息" in reply
        assert "系统恢复后会立即登记并把工单编号发给您" in reply and "12343" in reply
        assert not CASE_NUMBER.search(reply)
        [spooled] = pending_reports(spool_dir)
        # Confirming again in the outage keeps one report, not two.
        stack.say(sender, "/affirm")
        assert pending_reports(spool_dir) == [spooled]
        # The action server's flusher tries twice more (it logs each try), and keeps the report.
        tries = _still_down_logged(stack)
        _wait_for(lambda: _still_down_logged(stack) >= tries + 2)
        assert pending_reports(spool_dir) == [spooled]

    # Back: the action server's flusher logs the report within a few seconds, exactly once.
    _wait_for(lambda: pending_reports(spool_dir) == [])
    [case] = cases_of(url, sender)
    assert case.location == "幸福小区3栋门口" and case.description == "我家楼下的路灯坏了好几天了"
    with transaction(url) as session:
        notices = session.scalars(
            select(OutboxMessage.text).where(OutboxMessage.recipient == sender)
        ).all()
    assert len(notices) == 1
    assert case.number in notices[0] and "系统已恢复" in notices[0]

    # Business as usual afterwards: another resident's report is logged at once.
    answer_until_summary(stack, other)
    done = texts(stack.say(other, "/affirm"))
    [number] = set(CASE_NUMBER.findall(done))
    assert [c.number for c in cases_of(url)] == [case.number, number]
    # A flush of our own waits for any flusher at work on this spool (a file lock): once it
    # returns, nothing is left to be logged a second time.
    assert flush_spool(spool_dir, url) == []
    assert len(cases_of(url)) == 2
