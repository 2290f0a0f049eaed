"""Photos from Telegram: pick a size within the limit, download it, hand it to ``hotline``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from telegram import Bot, Message

from hotline.channels.attachments import MAX_PHOTO_BYTES, PhotoRejected, SavedPhoto, save_photo
from hotline.db import transaction


@dataclass(frozen=True)
class IncomingImage:
    """A photo or image file of a message: its file id, reported size and claimed type."""

    file_id: str
    size: int | None
    declared_type: str | None


def image_of(message: Message) -> IncomingImage | None:
    """The image a message carries: the largest photo size within the limit, or a document.

    Returns:
        The image, or None when the message has no photo and no document.
    """
    if message.photo:
        fitting = [p for p in message.photo if (p.file_size or 0) <= MAX_PHOTO_BYTES]
        chosen = max(fitting or message.photo, key=lambda p: (p.file_size or 0, p.width))
        return IncomingImage(chosen.file_id, chosen.file_size, None)
    if message.document:
        doc = message.document
        return IncomingImage(doc.file_id, doc.file_size, doc.mime_type or "")
    return None


async def download(bot: Bot, image: IncomingImage) -> bytes:
    """Downloads an image, refusing one that is reported too large before fetching it.

    Raises:
        PhotoRejected: ``unsupported_type`` for a file that claims not to be an image,
            ``too_large`` when Telegram reports more than the limit.
        telegram.error.TelegramError: When the download fails.
    """
    if image.declared_type is not None and not image.declared_type.lower().startswith("image/"):
        raise PhotoRejected("unsupported_type")
    if image.size is not None and image.size > MAX_PHOTO_BYTES:
        raise PhotoRejected("too_large")
    telegram_file = await bot.get_file(image.file_id)
    if telegram_file.file_size is not None and telegram_file.file_size > MAX_PHOTO_BYTES:
        raise PhotoRejected("too_large")
    return bytes(await telegram_file.download_as_bytearray())


def _save(
    sender_id: str, data: bytes, source_id: str, declared_type: str | None
) -> SavedPhoto | None:
    with transaction() as session:
        return save_photo(
            session, sender_id, data, source_id=source_id, declared_type=declared_type
        )


async def store(
    sender_id: str, data: bytes, source_id: str, declared_type: str | None
) -> SavedPhoto | None:
    """Checks and stores the photo (see :func:`hotline.channels.attachments.save_photo`).

    Returns:
        The stored photo, or None for a repeated delivery.

    Raises:
        PhotoRejected: When it is too large or not an accepted image.
    """
    return await asyncio.to_thread(_save, sender_id, data, source_id, declared_type)
