"""The resident gateway: one path from every channel (Telegram, web chat) to the assistant.

Each inbound message is stored first (so nothing a resident says is lost, and a message
delivered twice is handled once), then either relayed to Rasa's REST channel or, while an
operator holds the conversation, left for the operator.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from hotline.casework.messages import LOGGED_DESPITE_AN_ERROR, case_logged
from hotline.channels import handoff
from hotline.config import load_settings
from hotline.db import transaction
from hotline.errors import StorageUnavailableError
from hotline.models import Case, ConversationMessage, OutboxMessage, utcnow

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
RATE_LIMIT_PER_MINUTE = 20
RASA_TIMEOUT_SECONDS = 30.0
UNANNOUNCED_WINDOW = timedelta(minutes=15)
"""How far back a case the resident was never told about is looked for after a failed turn."""


@dataclass
class Reply:
    """One message for the resident, with optional buttons (title, payload)."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    custom: dict[str, Any] | None = None


def busy_reply() -> Reply:
    """What a resident hears when the assistant cannot answer."""
    phone = load_settings().hotline_phone
    return Reply(
        f"系统繁忙，暂时无法自动答复。您的留言已记录，工作人员会尽快跟进；"
        f"如情况紧急，请拨打热线 {phone}。"
    )


def unanswered_reply() -> Reply:
    """What a resident hears when the assistant answered nothing at all.

    Rasa's REST channel answers an empty list when a custom action failed (the action server
    was down or crashed): the message was not processed, and the resident must send it again.
    """
    phone = load_settings().hotline_phone
    return Reply(
        f"抱歉，系统刚才没能处理您的消息，请稍后再发送一次。您之前填写的内容仍然保留；"
        f"如情况紧急，请拨打热线 {phone}。"
    )


def _unannounced_cases(sender_id: str) -> list[Reply]:
    """The resident's recent cases whose number the resident has not been told, as replies.

    The action server can die after it committed a case and before Rasa got its answer: the
    case exists, but the turn came back empty. The resident learns the number here instead.
    """
    settings = load_settings()
    with transaction() as session:
        cases = session.scalars(
            select(Case)
            .where(Case.resident_ref == sender_id)
            .where(Case.created_at >= utcnow() - UNANNOUNCED_WINDOW)
            .order_by(Case.id)
        ).all()
        replies = []
        for case in cases:
            told = session.scalar(
                select(ConversationMessage.id)
                .where(ConversationMessage.sender_id == sender_id)
                .where(ConversationMessage.direction == handoff.OUT)
                .where(ConversationMessage.text.contains(case.number, autoescape=True))
                .limit(1)
            ) or session.scalar(
                select(OutboxMessage.id)
                .where(OutboxMessage.case_id == case.id)
                .where(OutboxMessage.text.contains(case.number, autoescape=True))
                .limit(1)
            )
            if told:
                continue
            replies.append(Reply(case_logged(case, settings.timezone, LOGGED_DESPITE_AN_ERROR)))
        return replies


def _store_inbound(
    sender_id: str, text: str, source_id: str | None, needs_attention: bool = False
) -> tuple[ConversationMessage | None, str, int]:
    """Stores the message; returns the row (None if a duplicate), the mode and recent count."""
    with transaction() as session:
        row = handoff.record_message(
            session, sender_id, handoff.IN, "resident", text, source_id=source_id
        )
        if row is not None and needs_attention:
            row.needs_attention = True
        mode = handoff.mode_of(session, sender_id)
        recent = session.scalar(
            select(func.count())
            .select_from(ConversationMessage)
            .where(ConversationMessage.sender_id == sender_id)
            .where(ConversationMessage.direction == handoff.IN)
            .where(ConversationMessage.created_at >= utcnow() - timedelta(minutes=1))
        )
        return row, mode, int(recent or 0)


def _flag(row_id: int) -> None:
    with transaction() as session:
        row = session.get(ConversationMessage, row_id)
        if row is not None:
            row.needs_attention = True


def _store_replies(sender_id: str, replies: list[Reply]) -> None:
    with transaction() as session:
        for reply in replies:
            if reply.text:
                handoff.record_message(session, sender_id, handoff.OUT, "bot", reply.text)


def _queue_reply(sender_id: str) -> Reply:
    with transaction() as session:
        position = handoff.queue_position(session, sender_id)
    return Reply(
        f"已为您转接人工客服，正在排队（您前面还有 {max(position - 1, 0)} 位），请稍候。"
        "您的留言工作人员都能看到。"
    )


async def post_to_rasa(
    sender_id: str, text: str, metadata: dict[str, Any] | None = None
) -> list[Reply]:
    """Sends one message to Rasa's REST channel and returns its replies in order.

    Raises:
        httpx.HTTPError: When Rasa cannot be reached or answers with an error.
    """
    settings = load_settings()
    async with httpx.AsyncClient(timeout=RASA_TIMEOUT_SECONDS) as client:
        response = await client.post(
            f"{settings.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender_id, "message": text, "metadata": metadata or {}},
        )
        response.raise_for_status()
        payload = response.json()
    replies = []
    for item in payload if isinstance(payload, list) else []:
        replies.append(
            Reply(
                text=str(item.get("text") or ""),
                buttons=[
                    {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                    for b in item.get("buttons") or []
                ],
                custom=item.get("custom"),
            )
        )
    return [r for r in replies if r.text or r.buttons or r.custom]


async def relay(
    sender_id: str,
    text: str,
    *,
    metadata: dict[str, Any] | None = None,
    source_id: str | None = None,
    stored_text: str | None = None,
) -> list[Reply]:
    """Handles one message from a resident on any channel.

    Args:
        sender_id: ``tg:<chat_id>`` or ``web:<id>``; also the Rasa sender id.
        text: What the resident wrote (or a button payload).
        metadata: Channel details passed to Rasa (user id, language, first name).
        source_id: The channel's id of this message; a repeat is ignored.
        stored_text: What the conversation record (and an operator) shows instead of ``text``,
            e.g. a button's title for its payload, or a masked phone for a shared contact.

    Returns:
        The replies to show the resident, in order (empty for a duplicate, or while an
        operator holds the conversation: the operator answers through the outbox). When the
        assistant cannot be reached, or answers nothing (a custom action failed), the resident
        is told so in Chinese, and given the number of a case that was saved all the same.
    """
    cut = len(text) > MAX_MESSAGE_CHARS
    text = text[:MAX_MESSAGE_CHARS]
    record = text if stored_text is None else stored_text[:MAX_MESSAGE_CHARS]
    try:
        row, mode, recent = await asyncio.to_thread(_store_inbound, sender_id, record, source_id)
    except StorageUnavailableError:
        log.error("case database unavailable; relaying %s without storing", sender_id)
        row, mode, recent = None, handoff.BOT, 0
        if source_id is None:
            return [busy_reply()]
    else:
        if row is None:
            log.info("duplicate message %s from %s ignored", source_id, sender_id)
            return []
    prefix = [Reply(f"您的消息较长，只保留了前 {MAX_MESSAGE_CHARS} 字。")] if cut else []
    if recent > RATE_LIMIT_PER_MINUTE:
        return [Reply("您发送消息太频繁了，请稍等一分钟再发。您刚才的留言已记录。")]
    if mode == handoff.OPERATOR:
        return prefix
    if mode == handoff.WAITING:
        return [*prefix, await asyncio.to_thread(_queue_reply, sender_id)]
    try:
        replies = await post_to_rasa(sender_id, text, metadata)
    except (httpx.HTTPError, ValueError) as exc:
        log.error("assistant unreachable for %s: %s", sender_id, type(exc).__name__)
        if row is not None:
            await asyncio.to_thread(_flag, row.id)
        return [*prefix, busy_reply()]
    if not replies:
        # Every turn of the assistant says something; nothing means an action failed.
        log.error("assistant gave no answer to %s (a custom action failed?)", sender_id)
        try:
            replies = await asyncio.to_thread(_unannounced_cases, sender_id)
            if row is not None and not replies:
                await asyncio.to_thread(_flag, row.id)
        except StorageUnavailableError:
            replies = []
        replies = replies or [unanswered_reply()]
    try:
        await asyncio.to_thread(_store_replies, sender_id, replies)
    except StorageUnavailableError:
        log.error("could not store the assistant's replies for %s", sender_id)
    return [*prefix, *replies]
