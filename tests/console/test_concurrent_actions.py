"""Two actions on one case at once on PostgreSQL: one wins, the other gets 409; one audit event
and one message to the resident (the core locks the case row)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from hotline.access import accounts
from hotline.casework.actors import Actor
from hotline.casework.cases import apply_action, get_case
from hotline.db import transaction
from hotline.models import CaseEvent, OutboxMessage
from tests.console.conftest import make_client, new_case


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> bool:
    """Polls ``condition`` until it holds or the time is up; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def lock_waiters(url: str) -> int:
    """Backends of this database waiting for a lock."""
    with transaction(url) as session:
        return int(
            session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            )
        )


def test_two_accepts_at_once_one_succeeds_the_other_gets_409(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
    with transaction() as session:
        user = accounts.create_user(session, "op", "correct-horse-1", "operator")
        _, token = accounts.create_token(session, user)
        operator = Actor.operator(user.username, user.id)
    number = new_case()
    holding, release = threading.Event(), threading.Event()

    def first_operator() -> None:
        """Accepts the case in the console's own core and keeps the transaction open."""
        with transaction() as session:
            apply_action(session, get_case(session, number), "accept", operator)
            holding.set()
            release.wait(20)

    with make_client() as api, ThreadPoolExecutor(max_workers=2) as pool:
        api.headers["Authorization"] = f"Bearer {token}"
        first = pool.submit(first_operator)
        assert holding.wait(10)
        second = pool.submit(api.post, f"/api/v1/cases/{number}/actions", json={"action": "accept"})
        # The second request must wait for the first one's row lock, not read the old state.
        wait_until(lambda: second.done() or lock_waiters(pg_url) > 0)
        assert not second.done(), second.result().text
        release.set()
        first.result(20)
        response = second.result(20)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "invalid_transition"
    with transaction() as session:
        case = get_case(session, number)
        assert case.status == "accepted"
        accepts = (
            select(func.count())
            .select_from(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.action == "accept")
        )
        assert session.scalar(accepts) == 1
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id))
        assert len(rows.all()) == 1
