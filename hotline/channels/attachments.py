"""Photos residents attach to their cases: checked, stored under the media directory, linked.

Any channel may use this: it checks the size and the real image type (by its first bytes, not
the name or the type a client claims), writes the file under ``settings.media_dir`` and links it
to the resident's most recent open case.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.casework.workflow import OPEN_STATUSES
from hotline.channels import handoff
from hotline.config import load_settings
from hotline.models import Attachment, Case, ConversationMessage, utcnow

MAX_PHOTO_BYTES = 5 * 1024 * 1024
"""The largest photo accepted (5 MB)."""

IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
"""Accepted content types and the file extension each is stored with."""

SUPPORTED_LABEL = "JPG、PNG、WebP"


class PhotoRejected(Exception):
    """A photo that is not accepted; ``reason`` is ``too_large`` or ``unsupported_type``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SavedPhoto:
    """A stored photo: its attachment id, the case it is linked to (if any), the file."""

    attachment_id: int
    case_number: str | None
    path: Path


def sniff_image_type(data: bytes) -> str | None:
    """The content type of an image by its magic bytes, or None when it is not accepted."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_photo(data: bytes, declared_type: str | None = None) -> str:
    """Checks a photo's size and type.

    Args:
        data: The file's bytes.
        declared_type: The type the client claimed, if any; it must agree with the bytes.

    Returns:
        The content type.

    Raises:
        PhotoRejected: When it is too large or not an accepted image.
    """
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRejected("too_large")
    content_type = sniff_image_type(data)
    if content_type is None:
        raise PhotoRejected("unsupported_type")
    if declared_type and declared_type.lower() not in (content_type, "image/jpg"):
        raise PhotoRejected("unsupported_type")
    return content_type


def already_received(session: Session, source_id: str) -> bool:
    """Whether a message with this channel id was stored already (a repeated delivery)."""
    return (
        session.scalar(
            select(ConversationMessage.id).where(ConversationMessage.source_id == source_id)
        )
        is not None
    )


def latest_open_case(session: Session, sender_id: str) -> Case | None:
    """The resident's most recent case that is still being handled."""
    return session.scalar(
        select(Case)
        .where(Case.resident_ref == sender_id)
        .where(Case.status.in_([s.value for s in OPEN_STATUSES]))
        .order_by(Case.id.desc())
        .limit(1)
    )


def save_photo(
    session: Session,
    sender_id: str,
    data: bytes,
    *,
    source_id: str | None = None,
    declared_type: str | None = None,
    media_dir: Path | None = None,
    now: datetime | None = None,
) -> SavedPhoto | None:
    """Checks and stores a resident's photo and links it to their latest open case.

    The conversation gets a ``[照片]`` line, so an operator in a handoff sees it.

    Args:
        session: The caller's session (the file is written before it commits).
        sender_id: The resident's conversation id.
        data: The photo's bytes.
        source_id: The channel's id of the message; a repeat stores nothing.
        declared_type: The content type the client claimed.
        media_dir: Where files go; defaults to ``settings.media_dir``.
        now: The current time.

    Returns:
        The stored photo, or None for a repeated delivery.

    Raises:
        PhotoRejected: When it is too large or not an accepted image.
    """
    content_type = check_photo(data, declared_type)
    now = now or utcnow()
    case = latest_open_case(session, sender_id)
    note = f"[照片] 已附加到工单 {case.number}" if case else "[照片] 暂无进行中的工单"
    if (
        handoff.record_message(
            session, sender_id, handoff.IN, "resident", note, source_id=source_id, now=now
        )
        is None
    ):
        return None
    root = media_dir or load_settings().media_dir
    relative = Path(f"{now:%Y}") / f"{now:%m}" / f"{uuid.uuid4().hex}.{IMAGE_TYPES[content_type]}"
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    attachment = Attachment(
        case_id=case.id if case else None,
        sender_id=sender_id,
        path=relative.as_posix(),
        content_type=content_type,
        size=len(data),
        created_at=now,
    )
    session.add(attachment)
    session.flush()
    return SavedPhoto(attachment.id, case.number if case else None, target)


def link_unassigned(session: Session, sender_id: str, case: Case) -> int:
    """Links the resident's photos sent before the case existed to it (call on creation).

    Returns:
        How many photos were linked.
    """
    rows = list(
        session.scalars(
            select(Attachment)
            .where(Attachment.sender_id == sender_id)
            .where(Attachment.case_id.is_(None))
        )
    )
    for row in rows:
        row.case_id = case.id
    session.flush()
    return len(rows)
