"""Rasa's tracker store, reached through its database with plain SQL (the core never imports
Rasa).

Rasa 3.6's SQL tracker store keeps every event of a conversation in one table, ``events``
(``id, sender_id, type_name, timestamp, intent_name, action_name, data``), ``data`` being the
event as JSON. That includes what residents typed and every slot, the phone and the name among
them; with ``carry_over_slots_to_new_session`` the slots are copied into each new session. The
retention run and a carried-out deletion therefore delete a resident's rows here, or remove
phone and ID numbers from them while one of the resident's cases is still being handled.

Where it is: ``settings.tracker_store_url`` (``HOTLINE_TRACKER_STORE_URL``), the database that
``endpoints.yml`` (SQLite, ``var/rasa_tracker.db``) or ``endpoints.scaled.yml`` (PostgreSQL)
names. A SQLite file that does not exist yet (Rasa never ran) is left alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, inspect, text
from sqlalchemy.exc import InterfaceError, OperationalError

from hotline.config import load_settings
from hotline.db import checkpoint, get_engine, sqlite_path
from hotline.errors import StorageUnavailableError
from hotline.privacy.redact import remove_numbers
from hotline.text_encoder import SHARED_VECTOR

log = logging.getLogger(__name__)
TABLE = "events"
CHUNK = 500


def _url(url: str | None) -> str:
    return url or load_settings().tracker_store_url


@contextmanager
def _connection(url: str | None) -> Iterator[Connection | None]:
    """One transaction on the tracker database; None when there is no tracker store yet.

    Raises:
        StorageUnavailableError: When the database cannot be reached.
    """
    url = _url(url)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        yield None
        return
    try:
        with get_engine(url).begin() as conn:
            yield conn if inspect(conn).has_table(TABLE) else None
    except (OperationalError, InterfaceError) as exc:
        raise StorageUnavailableError(f"tracker store unavailable: {exc.orig}") from exc


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def delete_senders(senders: Iterable[str], url: str | None = None) -> int:
    """Deletes every stored event of these conversations.

    Returns:
        How many events were deleted.
    """
    wanted = sorted(set(senders))
    if not wanted:
        return 0
    statement = text(f"DELETE FROM {TABLE} WHERE sender_id IN :senders").bindparams(
        bindparam("senders", expanding=True)
    )
    deleted = 0
    with _connection(url) as conn:
        if conn is None:
            return 0
        for chunk in _chunks(wanted):
            deleted += conn.execute(statement, {"senders": chunk}).rowcount or 0
    return deleted


def _scrubbed(value: Any) -> Any:
    """``value`` with phone and ID numbers removed from every string inside it, and without
    the embeddings of the texts (``text_vector``): they were made from the unscrubbed text."""
    if isinstance(value, str):
        return remove_numbers(value)
    if isinstance(value, dict):
        return {key: _scrubbed(inner) for key, inner in value.items() if key != SHARED_VECTOR}
    if isinstance(value, list):
        return [_scrubbed(inner) for inner in value]
    return value


def scrub_sender(sender: str, url: str | None = None) -> int:
    """Removes phone and ID numbers from one conversation's events, keeping the events.

    Returns:
        How many events were changed.
    """
    select_rows = text(f"SELECT id, data FROM {TABLE} WHERE sender_id = :sender")
    update = text(f"UPDATE {TABLE} SET data = :data WHERE id = :id")
    changed = []
    with _connection(url) as conn:
        if conn is None:
            return 0
        for row_id, data in conn.execute(select_rows, {"sender": sender}):
            try:
                cleaned = json.dumps(_scrubbed(json.loads(data)))
            except (TypeError, ValueError):
                cleaned = remove_numbers(data)
            if cleaned != data:
                changed.append({"id": row_id, "data": cleaned})
        if changed:
            conn.execute(update, changed)
    return len(changed)


def last_activity(url: str | None = None) -> dict[str, datetime]:
    """Each stored conversation's latest event time (UTC)."""
    query = text(f"SELECT sender_id, max(timestamp) FROM {TABLE} GROUP BY sender_id")
    with _connection(url) as conn:
        if conn is None:
            return {}
        return {
            sender: datetime.fromtimestamp(float(latest or 0), UTC)
            for sender, latest in conn.execute(query)
        }


def compact(url: str | None = None) -> None:
    """After a deletion: empties a SQLite tracker store's WAL (:func:`hotline.db.checkpoint`)."""
    url = _url(url)
    try:
        checkpoint(url)
    except (OperationalError, InterfaceError) as exc:
        log.warning("could not checkpoint the tracker store: %s", exc)
