"""A report that matches an open case: asking the resident once, and joining them to it.

When a report matches an open case with high confidence (:func:`hotline.similarity.
likely_duplicate`), the report form asks 「该问题已有居民反映（工单 …，…），是否为同一问题？」
once, right after it knows the category, the description and the place. A clear yes makes the
resident a co-reporter of that case (progress notices and the satisfaction survey reach them;
no new case); anything else logs a new case as before.

Slots: ``same_problem`` is the form's slot for the question (``yes``, ``no``, or ``not_asked``
when nothing matched, which also marks the lookup as done); ``similar_case_number`` and
``similar_case_status`` hold the matched case's number and how its state reads. The question is
the domain response ``utter_ask_same_problem``, filled from those two slots by Rasa itself: no
action-server round trip while the resident waits (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from sqlalchemy.orm import Session

from actions.common import with_db
from hotline.casework.cases import NewCase
from hotline.casework.co_reporters import join_as_co_reporter
from hotline.casework.duplicate_wording import status_phrase
from hotline.casework.vocab import Urgency
from hotline.models import Case
from hotline.residents.resident import reported_case
from hotline.similarity.matcher import likely_duplicate, prepare_draft

log = logging.getLogger(__name__)

ANSWER_SLOT = "same_problem"
MATCH_SLOT = "similar_case_number"
STATUS_SLOT = "similar_case_status"
YES, NO, NOT_ASKED = "yes", "no", "not_asked"

_YES = re.compile(r"是|对|没错|同一|一样|一回事|就是|嗯")
_NOT_YES = re.compile(r"不|没有|别|新问题|另|两回事|其他")


def says_same(text: str) -> bool:
    """Whether typed words clearly say 'the same problem' (是的, 对，就是这个, 同一个)."""
    compact = text.replace(" ", "")
    return bool(_YES.search(compact)) and not _NOT_YES.search(compact)


def answer_value(value: Any, text: str) -> str:
    """The form's value for an answer: ``yes`` only for a clear yes, ``no`` for anything else."""
    if value in (YES, NO):
        return str(value)
    return YES if says_same(text) else NO


def wants_lookup(slots: dict[str, Any]) -> bool:
    """Whether the form has what a lookup needs and has not looked up yet."""
    return (
        slots.get(ANSWER_SLOT) is None
        and bool(slots.get("category"))
        and bool(slots.get("location"))
        and bool(slots.get("description"))
    )


def _match(session: Session, draft: NewCase) -> dict[str, str]:
    suggestion = likely_duplicate(session, draft)
    if suggestion is None:
        return {}
    if draft.resident_ref and reported_case(session, suggestion.number, draft.resident_ref):
        # The resident reported it already, or joined it: asking would only confuse them.
        return {}
    return {"number": suggestion.number, "status": status_phrase(suggestion.status)}


def _look_up(draft: NewCase) -> dict[str, str]:
    prepare_draft(draft)
    return with_db(lambda s: _match(s, draft))


async def same_problem_events(
    slots: dict[str, Any], draft: Callable[[], NewCase]
) -> list[EventType]:
    """Looks for an open case that is probably the same problem, once per report.

    The draft's problem is encoded and looked up in a worker thread: the encoder releases the
    GIL, and the lookup (a query and numpy over every candidate, tens of milliseconds at a
    hotspot) would otherwise hold the event loop, so the action server answers other
    residents meanwhile (docs/benchmarks.md).

    Returns the slot events: the match and an unanswered question, or ``not_asked`` when
    nothing matched, the report is an emergency, or the lookup failed.
    """
    if not wants_lookup(slots):
        return []
    new = draft()
    found: dict[str, str] = {}
    if new.urgency != Urgency.EMERGENCY.value:
        try:
            found = await asyncio.to_thread(_look_up, new)
        except Exception:
            # The question only saves work; whatever fails here, the report goes on as before.
            log.exception("duplicate lookup failed; the report goes on without it")
    if found:
        return [SlotSet(MATCH_SLOT, found["number"]), SlotSet(STATUS_SLOT, found["status"])]
    return [SlotSet(ANSWER_SLOT, NOT_ASKED)]


def form_slots(domain_slots: list[str], slots: dict[str, Any]) -> list[str]:
    """The report form's slots: a yes to the same-problem question ends the form there."""
    if slots.get(ANSWER_SLOT) == YES and ANSWER_SLOT in domain_slots:
        return domain_slots[: domain_slots.index(ANSWER_SLOT) + 1]
    return domain_slots


def matched_number(tracker: Tracker) -> str | None:
    """The case the resident said their report is about, if they said yes to one."""
    number = tracker.get_slot(MATCH_SLOT)
    if tracker.get_slot(ANSWER_SLOT) != YES or not number:
        return None
    return str(number)


def join(number: str, new: NewCase) -> Case:
    """Adds the resident to the case as a co-reporter (idempotent; no new case).

    Raises:
        StorageUnavailableError: When the database is down.
        HotlineError: When the case cannot take co-reporters any more.
    """
    return with_db(
        lambda s: join_as_co_reporter(
            s,
            number,
            new.resident_ref or "",
            new.channel,
            description=new.description,
            phone=new.phone,
            contact_name=new.contact_name,
        )
    )
