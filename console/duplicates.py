"""What the case page shows about duplicates: similar cases (可能重复的工单) with the merges
they allow, co-reporters (共同反映人) and the cases merged into this one.

Each list costs one query, however many rows it shows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.figures import category_name
from hotline.casework.co_reporters import co_reporters
from hotline.casework.phone import mask_phone
from hotline.casework.vocab import Channel, channel_of_sender
from hotline.casework.workflow import OPEN_STATUSES, TRANSITIONS, CaseStatus
from hotline.models import Case
from hotline.privacy.redact import mask_numbers
from hotline.similarity.matcher import similar_cases

log = logging.getLogger(__name__)
MAX_SNIPPET = 80
MERGE_TARGETS = OPEN_STATUSES | {CaseStatus.RESOLVED}
"""States a case may be merged into (``hotline.casework.cases`` refuses the others)."""


@dataclass(frozen=True)
class SuggestionRow:
    """A similar case as the case page lists it, with the merges it allows.

    Attributes:
        merge_here: This case may be merged into the suggestion (「合并到此工单」).
        merge_in: The suggestion may be merged into this case (「并入本单」).
        older: The suggestion was registered before this case (then it is the natural main
            case, and merging this case into it is the button shown first).
    """

    number: str
    score: float
    percent: int
    reason: str
    status: str
    status_label: str
    category_name: str
    location: str
    snippet: str
    created_at: datetime | None
    merge_here: bool
    merge_in: bool
    older: bool


@dataclass(frozen=True)
class ReporterRow:
    """A co-reporter of the case, with the phone masked."""

    contact_name: str
    channel_label: str
    phone: str
    created_at: datetime
    description: str
    merged_from: str | None


def _snippet(text: str) -> str:
    text = mask_numbers(text or "")
    return text if len(text) <= MAX_SNIPPET else text[:MAX_SNIPPET] + "…"


def suggestion_rows(
    session: Session, case: Case, now: datetime | None = None
) -> list[SuggestionRow] | None:
    """The similar cases of ``case``, best first, with what the page needs to show them.

    Returns:
        The rows, or None when the matcher failed (e.g. the encoder could not load for a case
        stored without a vector): the case page must open anyway, saying so.
    """
    try:
        found = similar_cases(session, case, now=now)
    except Exception:  # the page shows the case whatever happens to the suggestions
        log.exception("similar cases of %s unavailable", case.number)
        return None
    if not found:
        return []
    others = {
        c.number: c
        for c in session.scalars(select(Case).where(Case.number.in_([s.number for s in found])))
    }
    mergeable = CaseStatus(case.status) in TRANSITIONS["merge"].sources
    takes_merges = CaseStatus(case.status) in MERGE_TARGETS
    rows = []
    for s in found:
        other = others.get(s.number)
        status = CaseStatus(s.status)
        rows.append(
            SuggestionRow(
                number=s.number,
                score=s.score,
                percent=round(max(0.0, min(1.0, s.score)) * 100),
                reason=s.reason,
                status=s.status,
                status_label=status.label,
                category_name=category_name(other.category) if other else "",
                location=mask_numbers(other.location) if other else "",
                snippet=_snippet(other.description) if other else "",
                created_at=other.created_at if other else None,
                merge_here=mergeable and status in MERGE_TARGETS,
                merge_in=takes_merges and status in TRANSITIONS["merge"].sources,
                older=bool(other and other.created_at <= case.created_at),
            )
        )
    return rows


def reporter_rows(session: Session, case: Case) -> list[ReporterRow]:
    """The case's co-reporters, oldest first, phones masked."""
    rows = []
    for r in co_reporters(session, case):
        channel = _channel_label(r.channel, r.resident_ref)
        rows.append(
            ReporterRow(
                contact_name=r.contact_name or "匿名",
                channel_label=channel,
                phone=mask_phone(r.phone) if r.phone else "",
                created_at=r.created_at,
                description=_snippet(r.description or ""),
                merged_from=r.merged_from,
            )
        )
    return rows


def _channel_label(channel: str | None, resident_ref: str | None) -> str:
    try:
        return Channel(channel or "").label
    except ValueError:
        return channel_of_sender(resident_ref).label if resident_ref else (channel or "")
