"""Operator-side views of handoff conversations, and turning one into a case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.casework import outbox
from hotline.casework.actors import Actor
from hotline.casework.cases import NewCase, create_case
from hotline.casework.catalogue import get_catalogue
from hotline.casework.messages import LOGGED_BY_OPERATOR, case_logged
from hotline.casework.phone import normalise_phone
from hotline.casework.vocab import channel_of_sender
from hotline.channels import handoff
from hotline.config import load_settings
from hotline.errors import ValidationError
from hotline.models import Case, Conversation, ConversationMessage, User, utcnow
from hotline.privacy.redact import phone_numbers_in

MAX_DESCRIPTION_MESSAGES = 20


@dataclass(frozen=True)
class ConversationSummary:
    """A conversation as the handoff list shows it.

    Attributes:
        conversation: The row.
        last_text: The last stored message, if any.
        waiting_seconds: How long the resident has waited for an operator (0 unless waiting).
        position: The place in the queue (0 unless waiting).
    """

    conversation: Conversation
    last_text: str
    waiting_seconds: int
    position: int


def held_conversations(session: Session, operator_id: int | None = None) -> list[Conversation]:
    """Conversations an operator holds (all operators', or one's), oldest taken first."""
    stmt = (
        select(Conversation)
        .where(Conversation.mode == handoff.OPERATOR)
        .order_by(Conversation.taken_at)
    )
    if operator_id is not None:
        stmt = stmt.where(Conversation.operator_id == operator_id)
    return list(session.scalars(stmt))


def _last_text(session: Session, sender_id: str) -> str:
    text = session.scalar(
        select(ConversationMessage.text)
        .where(ConversationMessage.sender_id == sender_id)
        .order_by(ConversationMessage.id.desc())
        .limit(1)
    )
    return text or ""


def summarise(
    session: Session, conversations: list[Conversation], now: datetime | None = None
) -> list[ConversationSummary]:
    """Adds the last message, waiting time and queue place to each conversation."""
    now = now or utcnow()
    out = []
    for position, conv in enumerate(conversations, start=1):
        waiting = conv.mode == handoff.WAITING and conv.requested_at is not None
        seconds = (
            int((now - conv.requested_at).total_seconds()) if waiting and conv.requested_at else 0
        )
        out.append(
            ConversationSummary(
                conv,
                _last_text(session, conv.sender_id),
                max(seconds, 0),
                position if waiting else 0,
            )
        )
    return out


def resident_text(session: Session, sender_id: str, limit: int = MAX_DESCRIPTION_MESSAGES) -> str:
    """What the resident wrote in the conversation (latest messages, oldest first), one a line."""
    rows = list(
        session.scalars(
            select(ConversationMessage)
            .where(ConversationMessage.sender_id == sender_id)
            .where(ConversationMessage.direction == handoff.IN)
            .order_by(ConversationMessage.id.desc())
            .limit(limit)
        )
    )
    return "\n".join(r.text for r in reversed(rows) if not r.text.startswith("/"))


def guess_category(text: str) -> str:
    """A first guess at the category from the catalogue's keywords; ``other`` when none match.

    Only a suggestion for the operator's form: the operator picks the category.
    """
    best, best_hits = "other", 0
    for category in get_catalogue().categories:
        hits = sum(1 for keyword in category.keywords if keyword and keyword in text)
        if hits > best_hits:
            best, best_hits = category.code, hits
    return best


def case_from_conversation(session: Session, sender_id: str, new: NewCase, operator: User) -> Case:
    """Registers a case for the resident of a conversation and tells them its number.

    The case's channel and resident reference come from the conversation, so status notices
    reach the resident on their channel; the notice is also kept in the chat history.

    Raises:
        ValidationError: When a field of ``new`` is invalid.
    """
    new.channel = channel_of_sender(sender_id).value
    new.resident_ref = sender_id
    actor = Actor.operator(operator.username, operator.id)
    case, _ = create_case(session, new, actor)
    notice = case_logged(case, load_settings().timezone, LOGGED_BY_OPERATOR)
    handoff.record_message(session, sender_id, handoff.OUT, f"operator:{operator.username}", notice)
    outbox.enqueue(session, sender_id, notice, "status", case_id=case.id)
    return case


def phone_said(session: Session, sender_id: str) -> str | None:
    """The last valid phone number the resident typed in the conversation (E.164), if any.

    Operators see typed numbers masked; a case registered from the conversation takes this
    number, and the case page reveals it through the audited 显示.
    """
    rows = session.scalars(
        select(ConversationMessage.text)
        .where(ConversationMessage.sender_id == sender_id)
        .where(ConversationMessage.direction == handoff.IN)
        .order_by(ConversationMessage.id.desc())
        .limit(MAX_DESCRIPTION_MESSAGES)
    )
    for text in rows:
        for written in reversed(phone_numbers_in(text)):
            try:
                return normalise_phone(written)
            except ValidationError:
                continue
    return None
