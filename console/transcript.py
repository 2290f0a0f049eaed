"""A resident's conversation as the case page shows it: Rasa's tracker plus the hotline's own
stored messages (operator chats, and what residents said while an operator held the chat)."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from hotline.channels import handoff
from hotline.channels.rasa_auth import rasa_auth_headers
from hotline.config import load_settings
from hotline.db import transaction

log = logging.getLogger(__name__)
RASA_TIMEOUT_SECONDS = 4.0
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?\d{3,4}(\d{4})(?!\d)")
SAME_MESSAGE_WINDOW_SECONDS = 120.0


@dataclass
class Entry:
    """One chat bubble.

    Attributes:
        who: ``resident``, ``bot`` or ``operator``.
        author: Who wrote it, as shown.
        text: The message.
        at: When it was said (None when unknown).
        buttons: Titles of the buttons the bot offered.
    """

    who: str
    author: str
    text: str
    at: datetime | None
    buttons: list[str] = field(default_factory=list)


@dataclass
class Transcript:
    """The entries, oldest first, and whether Rasa's record could be read."""

    entries: list[Entry]
    rasa_available: bool


async def fetch_tracker_events(sender_id: str) -> list[dict[str, Any]] | None:
    """The events of a conversation from Rasa's HTTP API, or None when Rasa cannot answer."""
    settings = load_settings()
    url = f"{settings.rasa_url}/conversations/{quote(sender_id, safe=':')}/tracker"
    try:
        async with httpx.AsyncClient(timeout=RASA_TIMEOUT_SECONDS) as client:
            response = await client.get(url, headers=rasa_auth_headers(settings))
        if response.status_code != 200:
            log.warning("Rasa tracker for %s answered %s", sender_id, response.status_code)
            return None
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("Rasa tracker for %s unavailable: %s", sender_id, type(exc).__name__)
        return None
    events = data.get("events") if isinstance(data, dict) else None
    return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []


def mask_numbers(text: str) -> str:
    """Masks phone numbers a resident typed in a chat (``138****5678``, ``027****1234``).

    The case page shows the full number only through its audited 显示 button.
    """
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), tz=UTC)
    return None


def entries_from_tracker(events: list[dict[str, Any]]) -> list[Entry]:
    """The user and bot messages of Rasa tracker events."""
    out = []
    for event in events:
        kind = event.get("event")
        text = str(event.get("text") or "")
        if kind == "user" and text:
            out.append(Entry("resident", "居民", text, _timestamp(event.get("timestamp"))))
        elif kind == "bot":
            data = event.get("data") if isinstance(event.get("data"), dict) else {}
            buttons = [
                str(b.get("title", ""))
                for b in (data or {}).get("buttons") or []
                if isinstance(b, dict)
            ]
            if text or buttons:
                out.append(
                    Entry("bot", "智能助手", text, _timestamp(event.get("timestamp")), buttons)
                )
    return out


def _stored_entries(sender_id: str) -> list[Entry]:
    with transaction() as session:
        rows = handoff.messages(session, sender_id)
        out = []
        for row in rows:
            if row.author.startswith("operator:"):
                out.append(
                    Entry(
                        "operator",
                        f"话务员 {row.author.split(':', 1)[1]}",
                        row.text,
                        row.created_at,
                    )
                )
            elif row.direction == handoff.IN:
                out.append(Entry("resident", "居民", row.text, row.created_at))
            else:
                out.append(Entry("bot", "智能助手", row.text, row.created_at))
        return out


def merge(tracker: list[Entry], stored: list[Entry]) -> list[Entry]:
    """Adds the stored messages Rasa does not know to its entries, in time order.

    A stored resident or bot message that matches a tracker entry (same speaker and text,
    within two minutes) is the same message and is not repeated.
    """
    unused = list(tracker)
    extra = []
    for entry in stored:
        if entry.who != "operator":
            match = next(
                (
                    t
                    for t in unused
                    if t.who == entry.who
                    and t.text == entry.text
                    and (
                        t.at is None
                        or entry.at is None
                        or abs((t.at - entry.at).total_seconds()) <= SAME_MESSAGE_WINDOW_SECONDS
                    )
                ),
                None,
            )
            if match is not None:
                unused.remove(match)
                continue
        extra.append(entry)
    epoch = datetime.min.replace(tzinfo=UTC)
    combined = [*tracker, *extra]
    combined.sort(key=lambda e: e.at or epoch)
    return combined


async def load_transcript(sender_id: str) -> Transcript:
    """The whole conversation of a resident, phone numbers masked.

    Only the hotline's own stored messages when Rasa is down.
    """
    events = await fetch_tracker_events(sender_id)
    stored = await asyncio.to_thread(_stored_entries, sender_id)
    if events is None:
        entries, available = stored, False
    else:
        entries, available = merge(entries_from_tracker(events), stored), True
    for entry in entries:
        entry.text = mask_numbers(entry.text)
    return Transcript(entries, rasa_available=available)
