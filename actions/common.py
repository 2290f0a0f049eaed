"""Helpers shared by the actions: the sender, the database, and replies when storage fails."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hotline.config import load_settings
from hotline.db import transaction
from hotline.errors import StorageUnavailableError

log = logging.getLogger(__name__)


def sender_of(tracker: Tracker) -> str:
    """The conversation's sender id (``tg:…``, ``web:…``), which identifies the resident."""
    return str(tracker.sender_id)


def latest_text(tracker: Tracker) -> str:
    """What the resident last wrote, verbatim.

    The NLU rewrites traditional characters to simplified ones and keeps the resident's own
    words as ``original_text``; cases keep those.
    """
    message = tracker.latest_message
    return str(message.get("original_text") or message.get("text") or "")


def as_value(text: str) -> str:
    """A resident's own words, made safe to fill into a domain response.

    Rasa 3.6 sends a response's bare template when a filled-in value contains 「0[」
    (``rasa.core.nlg.interpolator.interpolate_text``), so that bracket is made full-width.
    """
    return text.replace("0[", "0［")


def with_db[T](work: Callable[[Session], T]) -> T:
    """Runs ``work`` in one transaction.

    Raises:
        StorageUnavailableError: When the database is down or fails.
    """
    try:
        with transaction() as session:
            return work(session)
    except SQLAlchemyError as exc:
        log.error("case database error: %s", type(exc).__name__)
        raise StorageUnavailableError(str(exc)) from exc


def apologise(
    dispatcher: CollectingDispatcher,
    response: Literal["utter_lookup_apology", "utter_storage_apology"] = "utter_lookup_apology",
) -> list[Any]:
    """Tells the resident storage failed, with the hotline's number, and returns no events.

    ``utter_storage_apology`` when what they reported is kept for later (the spool);
    ``utter_lookup_apology`` when nothing could be looked up or changed.
    """
    dispatcher.utter_message(response=response, hotline_phone=load_settings().hotline_phone)
    return []
