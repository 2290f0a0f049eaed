"""Helpers shared by the actions: the sender, the database, and replies when storage fails."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hotline.config import load_settings
from hotline.db import transaction
from hotline.errors import StorageUnavailableError

log = logging.getLogger(__name__)

STORAGE_APOLOGY = (
    "非常抱歉，系统暂时无法保存您的信息。您的反映已经记录下来，系统恢复后会立即登记并把工单编号发给您。"
    "如情况紧急，请拨打热线 {phone}。"
)
LOOKUP_APOLOGY = "抱歉，系统暂时无法查询，请稍后再试，或拨打热线 {phone}。"


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


def apologise(dispatcher: CollectingDispatcher, template: str = LOOKUP_APOLOGY) -> list[Any]:
    """Tells the resident storage failed, in Chinese, and returns no events."""
    dispatcher.utter_message(text=template.format(phone=load_settings().hotline_phone))
    return []
