"""Bookkeeping for a channel's outbox sender: one row at a time, never twice after a crash.

A sender claims one due row (``pending`` → ``sending``), sends it, and records the outcome. The
row is claimed right before its send, so a row found in ``sending`` by a sender that has just
started was being sent when the previous sender stopped: the message may or may not have
reached the resident. Such a row is marked ``failed`` with :data:`INTERRUPTED` instead of being
sent again, so no resident ever receives a message twice; the console lists it with the other
failed rows, and an operator decides whether to message the resident again. Every other row is
delivered at least once: failed attempts are retried with a delay until ``max_attempts``.

The same rule applies while running: a row left in ``sending`` longer than the stale period
(its sender hung or died) is failed, before :func:`hotline.casework.outbox.claim_due` would reclaim
and resend it. Run one sender per channel.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.casework import outbox
from hotline.casework.vocab import Channel
from hotline.models import OutboxMessage, utcnow

INTERRUPTED = "发送过程中断，无法确认是否已送达；为避免重复发送，未自动重发。"
STALE_AFTER = timedelta(minutes=5)


def recover_interrupted(
    session: Session,
    channel: Channel,
    *,
    now: datetime | None = None,
    older_than: timedelta | None = None,
) -> list[int]:
    """Fails the channel's rows left in ``sending``, whose delivery is uncertain.

    Args:
        session: The caller's session.
        channel: The sender's channel.
        now: The current time.
        older_than: Only rows claimed longer ago than this; None for every such row (when a
            sender starts, no row of its channel can still be in flight).

    Returns:
        The ids of the rows marked failed.
    """
    now = now or utcnow()
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.channel == channel.value)
        .where(OutboxMessage.status == outbox.SENDING)
    )
    if older_than is not None:
        stmt = stmt.where(OutboxMessage.next_attempt_at <= now - older_than)
    rows = list(session.scalars(stmt))
    for row in rows:
        row.status = outbox.FAILED
        row.last_error = INTERRUPTED
    session.flush()
    return [row.id for row in rows]


def claim_next(
    session: Session,
    channel: Channel,
    *,
    now: datetime | None = None,
    stale_after: timedelta = STALE_AFTER,
) -> OutboxMessage | None:
    """Claims the oldest due row of a channel for one send attempt, or returns None."""
    now = now or utcnow()
    recover_interrupted(session, channel, now=now, older_than=stale_after)
    rows = outbox.claim_due(session, channel, limit=1, now=now, stale_after=stale_after)
    return rows[0] if rows else None


def record_sent(session: Session, row_id: int, now: datetime | None = None) -> None:
    """Records a delivered row; it is never sent again."""
    outbox.mark_sent(session, row_id, now)


def record_retry(
    session: Session,
    row_id: int,
    error: str,
    retry_at: datetime,
    *,
    max_attempts: int,
    count_attempt: bool = True,
) -> str:
    """Records a failed attempt, to be retried at ``retry_at`` unless attempts are used up.

    Args:
        session: The caller's session.
        row_id: The outbox row.
        error: What went wrong (no personal data).
        retry_at: When to try again.
        max_attempts: Attempts after which the row is failed.
        count_attempt: False when the channel only asked to wait (flood control): the attempt
            is not counted against ``max_attempts``.

    Returns:
        The row's new status.
    """
    if not count_attempt:
        row = session.get(OutboxMessage, row_id)
        if row is not None and row.attempts > 0:
            row.attempts -= 1
    return outbox.mark_retry(session, row_id, error, retry_at, max_attempts=max_attempts)


def record_failed(session: Session, row_id: int, error: str) -> str:
    """Records a permanent failure (e.g. the resident blocked the bot): no more attempts."""
    row = session.get(OutboxMessage, row_id)
    if row is None:
        return outbox.FAILED
    row.status = outbox.FAILED
    row.last_error = error[:500]
    return row.status


def backoff_delay(attempts: int, base_seconds: float, cap_seconds: float = 300.0) -> float:
    """Exponential backoff before the next attempt: base, 2×base, 4×base … up to the cap."""
    return float(min(base_seconds * (2 ** max(attempts - 1, 0)), cap_seconds))
