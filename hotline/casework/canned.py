"""Canned replies (常用回复) operators pick when messaging residents."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import record_event
from hotline.errors import NotFoundError, ValidationError
from hotline.models import CannedReply

MAX_TITLE = 64
MAX_TEXT = 2000


def list_replies(session: Session, active_only: bool = True) -> list[CannedReply]:
    """Canned replies by title."""
    stmt = select(CannedReply).order_by(CannedReply.title, CannedReply.id)
    if active_only:
        stmt = stmt.where(CannedReply.active.is_(True))
    return list(session.scalars(stmt))


def get_reply(session: Session, reply_id: int) -> CannedReply:
    """One canned reply.

    Raises:
        NotFoundError: When there is none.
    """
    reply = session.get(CannedReply, reply_id)
    if reply is None:
        raise NotFoundError(f"常用回复 #{reply_id} 不存在")
    return reply


def _clean(title: str, text: str) -> tuple[str, str]:
    title = (title or "").strip()
    text = (text or "").replace("\x00", "").strip()
    if not title:
        raise ValidationError("title", "请填写标题")
    if len(title) > MAX_TITLE:
        raise ValidationError("title", f"标题最多 {MAX_TITLE} 字")
    if not text:
        raise ValidationError("text", "请填写回复内容")
    if len(text) > MAX_TEXT:
        raise ValidationError("text", f"回复内容最多 {MAX_TEXT} 字")
    return title, text


def add_reply(session: Session, title: str, text: str, *, actor: Actor) -> CannedReply:
    """Adds a canned reply.

    Raises:
        ValidationError: When the title or text is empty or too long.
    """
    title, text = _clean(title, text)
    reply = CannedReply(title=title, text=text, active=True)
    session.add(reply)
    session.flush()
    record_event(session, None, actor, "canned_add", note=title, data={"id": reply.id})
    return reply


def update_reply(
    session: Session, reply_id: int, title: str, text: str, active: bool, *, actor: Actor
) -> CannedReply:
    """Edits, disables or re-enables a canned reply.

    Raises:
        NotFoundError: When there is no such reply.
        ValidationError: When the title or text is empty or too long.
    """
    reply = get_reply(session, reply_id)
    reply.title, reply.text = _clean(title, text)
    reply.active = active
    session.flush()
    record_event(session, None, actor, "canned_edit", note=reply.title, data={"id": reply.id})
    return reply
