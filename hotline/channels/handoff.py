"""Conversations and human handoff (转人工): who answers a resident, the bot or an operator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.casework import outbox
from hotline.casework.vocab import channel_of_sender
from hotline.models import Conversation, ConversationMessage, User, utcnow

BOT = "bot"
WAITING = "waiting"
OPERATOR = "operator"
IN = "in"
OUT = "out"


def get_conversation(session: Session, sender_id: str) -> Conversation:
    """The conversation of a sender, created on first use (answered by the bot)."""
    conversation = session.get(Conversation, sender_id)
    if conversation is None:
        conversation = Conversation(
            sender_id=sender_id, channel=channel_of_sender(sender_id).value, mode=BOT
        )
        session.add(conversation)
        session.flush()
    return conversation


def mode_of(session: Session, sender_id: str) -> str:
    """Who answers this sender now: ``bot``, ``waiting`` (for an operator) or ``operator``."""
    conversation = session.get(Conversation, sender_id)
    return conversation.mode if conversation else BOT


def request_handoff(session: Session, sender_id: str, now: datetime | None = None) -> int:
    """Puts the conversation in the queue for an operator.

    Returns:
        The resident's place in the queue (1 is next), or 0 if an operator already has it.
    """
    now = now or utcnow()
    conversation = get_conversation(session, sender_id)
    if conversation.mode == OPERATOR:
        return 0
    if conversation.mode != WAITING:
        conversation.mode = WAITING
        conversation.requested_at = now
        conversation.handoff_count += 1
        session.flush()
    return queue_position(session, sender_id)


def queue_position(session: Session, sender_id: str) -> int:
    """1-based place of a waiting conversation in the queue; 0 when it is not waiting."""
    conversation = session.get(Conversation, sender_id)
    if conversation is None or conversation.mode != WAITING or conversation.requested_at is None:
        return 0
    ahead = session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.mode == WAITING)
        .where(Conversation.requested_at < conversation.requested_at)
    )
    return int(ahead or 0) + 1


def waiting_conversations(session: Session) -> list[Conversation]:
    """Conversations waiting for an operator, longest-waiting first."""
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.mode == WAITING)
            .order_by(Conversation.requested_at)
        )
    )


def take(session: Session, sender_id: str, user: User, now: datetime | None = None) -> Conversation:
    """An operator takes the conversation; the bot stops answering this resident."""
    now = now or utcnow()
    conversation = get_conversation(session, sender_id)
    conversation.mode = OPERATOR
    conversation.operator_id = user.id
    conversation.taken_at = now
    conversation.requested_at = conversation.requested_at or now
    outbox.enqueue(
        session, sender_id, f"人工客服{user.display_name or user.username}已接入，请讲。", "handoff"
    )
    session.flush()
    return conversation


def release(session: Session, sender_id: str, now: datetime | None = None) -> Conversation:
    """Hands the conversation back to the assistant, telling the resident."""
    conversation = get_conversation(session, sender_id)
    was_held = conversation.mode != BOT
    conversation.mode = BOT
    conversation.operator_id = None
    conversation.released_at = now or utcnow()
    if was_held:
        outbox.enqueue(session, sender_id, "人工服务已结束，智能助手继续为您服务。", "handoff")
    session.flush()
    return conversation


def record_message(
    session: Session,
    sender_id: str,
    direction: str,
    author: str,
    text: str,
    *,
    source_id: str | None = None,
    now: datetime | None = None,
) -> ConversationMessage | None:
    """Stores a message of a conversation; a repeated ``source_id`` is stored once.

    Returns:
        The stored row, or None when this source id was already stored.
    """
    if source_id is not None and session.scalar(
        select(ConversationMessage.id).where(ConversationMessage.source_id == source_id)
    ):
        return None
    now = now or utcnow()
    row = ConversationMessage(
        sender_id=sender_id,
        direction=direction,
        author=author,
        text=text,
        created_at=now,
        source_id=source_id,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    get_conversation(session, sender_id).last_message_at = now
    return row


def operator_says(session: Session, sender_id: str, user: User, text: str) -> ConversationMessage:
    """An operator's chat message: stored, and queued for delivery to the resident."""
    row = record_message(session, sender_id, OUT, f"operator:{user.username}", text)
    assert row is not None
    outbox.enqueue(session, sender_id, text, "chat")
    return row


def messages(session: Session, sender_id: str, after_id: int = 0) -> list[ConversationMessage]:
    """Stored messages of a conversation after a given id, oldest first."""
    return list(
        session.scalars(
            select(ConversationMessage)
            .where(ConversationMessage.sender_id == sender_id)
            .where(ConversationMessage.id > after_id)
            .order_by(ConversationMessage.id)
        )
    )
