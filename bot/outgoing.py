"""Sending text with inline buttons to a chat: splitting long text, building keyboards."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from telegram import Bot, InlineKeyboardMarkup, Message

from bot import texts
from bot.keyboards import fits, inline_keyboard
from hotline.channels.gateway import Reply
from hotline.db import transaction

MAX_TEXT = 4000
"""A little under Telegram's 4096 for one message (it counts some characters, e.g. emoji, twice)."""


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cuts a text into parts Telegram accepts, preferring line breaks as cut points."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest.strip():
        parts.append(rest)
    return parts


def truncate(text: str, limit: int = MAX_TEXT) -> str:
    """Shortens a text to one message (for rows that must be sent in a single call)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _keyboard(items: Sequence[dict[str, str]]) -> InlineKeyboardMarkup | None:
    if all(fits(str(b.get("payload") or b.get("title") or "")) for b in items):
        return inline_keyboard(None, items)
    with transaction() as session:
        return inline_keyboard(session, items)


async def keyboard_for(items: Sequence[dict[str, str]] | None) -> InlineKeyboardMarkup | None:
    """The inline keyboard for buttons, storing long payloads in the database."""
    if not items:
        return None
    return await asyncio.to_thread(_keyboard, list(items))


async def send_replies(bot: Bot, chat_id: int, replies: Sequence[Reply]) -> list[Message]:
    """Sends the assistant's replies in order; buttons go under the last part of their text."""
    sent: list[Message] = []
    for reply in replies:
        markup = await keyboard_for(reply.buttons)
        text = reply.text or (texts.CHOOSE if markup else "")
        parts = split_text(text)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            sent.append(
                await bot.send_message(chat_id, part, reply_markup=markup if last else None)
            )
    return sent
