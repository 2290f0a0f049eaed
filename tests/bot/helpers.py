"""Test helpers: cases, operators and outbox rows in the test database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hotline.casework import outbox
from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, NewCase, apply_action, create_case, get_case
from hotline.db import transaction
from hotline.models import OutboxMessage, User
from tests.bot.conftest import CHAT

SENDER = f"tg:{CHAT}"


def new_case(
    db_url: str, sender: str = SENDER, urgency: str = "normal", description: str = "路灯坏了"
) -> str:
    """Registers a case for a Telegram resident; returns its number."""
    with transaction(db_url) as session:
        case, _ = create_case(
            session,
            NewCase(
                category="city_management",
                description=description,
                phone="13812345678",
                location="幸福路 12 号",
                channel="telegram",
                resident_ref=sender,
                urgency=urgency,
            ),
            Actor.resident(sender),
        )
        return case.number


def act(db_url: str, number: str, action: str, note: str | None = None, **params: Any) -> None:
    """Performs a workflow action as operator alice."""
    with transaction(db_url) as session:
        apply_action(
            session,
            get_case(session, number),
            action,
            Actor.operator("alice"),
            ActionInput(note=note, **params),
        )


def operator(db_url: str, username: str = "alice", telegram_user_id: int | None = None) -> int:
    """Creates an operator account; returns its id."""
    with transaction(db_url) as session:
        user = User(
            username=username,
            display_name="王芳",
            role="operator",
            password_hash="-",
            telegram_user_id=telegram_user_id,
        )
        session.add(user)
        session.flush()
        return user.id


def enqueue(db_url: str, text: str, recipient: str = SENDER, **kwargs: Any) -> int:
    """Queues an outbox row; returns its id."""
    with transaction(db_url) as session:
        row = outbox.enqueue(session, recipient, text, kwargs.pop("kind", "chat"), **kwargs)
        assert row is not None
        return row.id


def outbox_row(db_url: str, row_id: int) -> OutboxMessage:
    """An outbox row as stored now."""
    with transaction(db_url) as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        session.expunge(row)
        return row


def outbox_rows(db_url: str) -> list[OutboxMessage]:
    """Every outbox row, oldest first."""
    with transaction(db_url) as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        for row in rows:
            session.expunge(row)
        return rows
