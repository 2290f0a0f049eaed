"""The transactional outbox: messages for residents, written with the change that causes them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from hotline.casework.vocab import Channel, channel_of_sender
from hotline.models import OutboxMessage, utcnow

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
DELIVERABLE_CHANNELS = frozenset({Channel.TELEGRAM, Channel.WEB})


def can_reach(recipient: str | None) -> bool:
    """Whether a resident reference is on a channel the hotline can message."""
    return bool(recipient) and channel_of_sender(recipient or "") in DELIVERABLE_CHANNELS


def enqueue(
    session: Session,
    recipient: str,
    text: str,
    kind: str,
    *,
    case_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> OutboxMessage | None:
    """Adds a message for a resident to the caller's transaction.

    Returns:
        The row, or None when the recipient is on a channel the hotline cannot message.
    """
    if not can_reach(recipient):
        return None
    row = OutboxMessage(
        recipient=recipient,
        channel=channel_of_sender(recipient).value,
        kind=kind,
        text=text,
        payload=payload,
        case_id=case_id,
        status=PENDING,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def claim_due(
    session: Session,
    channel: Channel,
    *,
    limit: int = 20,
    now: datetime | None = None,
    recipient: str | None = None,
    stale_after: timedelta = timedelta(minutes=5),
) -> list[OutboxMessage]:
    """Claims pending rows that are due, marking them as being sent (one attempt each).

    A row left in ``sending`` longer than ``stale_after`` (its sender crashed before it could
    record the outcome) is claimed again, so every row is delivered at least once.
    """
    now = now or utcnow()
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.channel == channel.value)
        .where(
            or_(
                (OutboxMessage.status == PENDING) & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == SENDING)
                & (OutboxMessage.next_attempt_at <= now - stale_after),
            )
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if recipient is not None:
        stmt = stmt.where(OutboxMessage.recipient == recipient)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.scalars(stmt))
    for row in rows:
        row.status = SENDING
        row.attempts += 1
        row.next_attempt_at = now
    session.flush()
    return rows


def mark_sent(session: Session, row_id: int, now: datetime | None = None) -> None:
    """Records a delivered row; it is never sent again."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(status=SENT, sent_at=now or utcnow(), last_error=None)
    )


def mark_retry(
    session: Session, row_id: int, error: str, retry_at: datetime, *, max_attempts: int
) -> str:
    """Records a failed attempt: retried at ``retry_at``, or failed after ``max_attempts``.

    Returns:
        The row's new status.
    """
    row = session.get(OutboxMessage, row_id)
    if row is None:
        return FAILED
    row.last_error = error[:500]
    if row.attempts >= max_attempts:
        row.status = FAILED
    else:
        row.status = PENDING
        row.next_attempt_at = retry_at
    return row.status


def messages_for_case(session: Session, case_id: int) -> list[OutboxMessage]:
    """Every outbox row of a case, oldest first."""
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.case_id == case_id).order_by(OutboxMessage.id)
        )
    )
