"""The outbox row commits with its change and disappears with its rollback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hotline.casework import outbox
from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, NewCase, apply_action, create_case, get_case
from hotline.casework.vocab import Channel
from hotline.db import transaction
from hotline.models import OutboxMessage, utcnow


class Boom(Exception):
    pass


def _case(url: str) -> str:
    with transaction(url) as session:
        case, _ = create_case(
            session,
            NewCase(
                category="city_management",
                description="垃圾没人清",
                phone="13812345678",
                location="幸福路",
                channel="telegram",
                resident_ref="tg:7",
            ),
            Actor.resident("tg:7"),
        )
        return case.number


def _count(url: str) -> int:
    with transaction(url) as session:
        return int(session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


def test_outbox_row_written_in_same_transaction(any_db_url: str) -> None:
    number = _case(any_db_url)
    with transaction(any_db_url) as session:
        apply_action(session, get_case(session, number), "accept", Actor.operator("alice"))
        # Visible inside the transaction, before commit.
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    assert _count(any_db_url) == 1
    with transaction(any_db_url) as session:
        case = get_case(session, number)
        assert case.status == "accepted"


def test_outbox_row_not_written_when_change_rolls_back(any_db_url: str) -> None:
    number = _case(any_db_url)
    with pytest.raises(Boom), transaction(any_db_url) as session:
        case = get_case(session, number)
        apply_action(session, case, "reply", Actor.operator("alice"), ActionInput(note="您好"))
        raise Boom
    assert _count(any_db_url) == 0
    with transaction(any_db_url) as session:
        assert get_case(session, number).status == "new"


def test_claim_retry_and_give_up(db_url: str) -> None:
    with transaction(db_url) as session:
        row = outbox.enqueue(session, "tg:5", "您好", "chat")
        assert row is not None
        row_id = row.id
        assert outbox.enqueue(session, "rest:5", "unreachable", "chat") is None
    for attempt in (1, 2, 3):
        with transaction(db_url) as session:
            claimed = outbox.claim_due(
                session, Channel.TELEGRAM, now=utcnow() + timedelta(hours=attempt)
            )
            assert [r.id for r in claimed] == [row_id] and claimed[0].attempts == attempt
            status = outbox.mark_retry(session, row_id, "502", utcnow(), max_attempts=3)
        assert status == ("failed" if attempt == 3 else "pending")
    with transaction(db_url) as session:
        assert outbox.claim_due(session, Channel.TELEGRAM, now=utcnow() + timedelta(days=1)) == []


def test_sent_rows_are_never_claimed_again(db_url: str) -> None:
    with transaction(db_url) as session:
        row = outbox.enqueue(session, "tg:5", "您好", "chat")
        assert row is not None
        row_id = row.id
    with transaction(db_url) as session:
        (claimed,) = outbox.claim_due(session, Channel.TELEGRAM)
        outbox.mark_sent(session, claimed.id)
    with transaction(db_url) as session:
        later = utcnow() + timedelta(days=1)
        assert outbox.claim_due(session, Channel.TELEGRAM, now=later) == []
        assert session.get(OutboxMessage, row_id).status == "sent"  # type: ignore[union-attr]


def test_row_abandoned_mid_send_is_claimed_again_after_the_stale_period(db_url: str) -> None:
    with transaction(db_url) as session:
        outbox.enqueue(session, "tg:5", "您好", "chat")
    with transaction(db_url) as session:
        assert len(outbox.claim_due(session, Channel.TELEGRAM)) == 1
    # The sender crashed before recording the outcome.
    with transaction(db_url) as session:
        assert outbox.claim_due(session, Channel.TELEGRAM) == []
        again = outbox.claim_due(session, Channel.TELEGRAM, now=utcnow() + timedelta(minutes=6))
        assert len(again) == 1 and again[0].attempts == 2
