"""What residents may do with their own cases: look up, withdraw, add information, consult."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.case_vectors import refresh_place
from hotline.casework.cases import (
    ActionInput,
    NewCase,
    apply_action,
    create_case,
    get_case,
    record_event,
    resident_cases,
)
from hotline.casework.co_reporters import co_reported_cases, co_reporter, comment_as_co_reporter
from hotline.casework.phone import last_four
from hotline.casework.vocab import CaseType, Satisfaction, Urgency
from hotline.casework.workflow import BEFORE_DISPATCH, OPEN_STATUSES, CaseStatus
from hotline.errors import NotFoundError
from hotline.models import Case, utcnow


def submit_report(session: Session, new: NewCase) -> Case:
    """Logs a resident's report (idempotently) and links the photos they sent before it."""
    from hotline.channels.attachments import link_unassigned

    case, created = create_case(session, new, Actor.resident(new.resident_ref))
    if created and new.resident_ref:
        link_unassigned(session, new.resident_ref, case)
    return case


def owned_case(session: Session, number: str | None, sender_id: str) -> Case | None:
    """The case if it exists and was first reported by this sender; None otherwise.

    The ownership check of what only the reporter may do: withdraw the case, give an
    emergency's location. :func:`reported_case` also admits co-reporters, for what they may
    do too (status, added information, rating). A conversation can never read or change
    another resident's case: None both for a number that does not exist and for someone
    else's case, so the answer never reveals that a case exists.
    """
    if not number or not sender_id:
        return None
    try:
        case = get_case(session, number)
    except NotFoundError:
        return None
    return case if case.resident_ref == sender_id else None


def reported_case(session: Session, number: str | None, sender_id: str) -> Case | None:
    """The case if this sender reported it or joined it as a co-reporter; None otherwise
    (also for a number that does not exist).

    For what co-reporters may do as well as the reporter: look the case up, add
    information, rate it (a co-reporter's rating never changes the case's state, see
    :mod:`hotline.casework.co_reporters`).
    """
    case = owned_case(session, number, sender_id)
    if case is not None or not number or not sender_id:
        return case
    try:
        case = get_case(session, number)
    except NotFoundError:
        return None
    return case if co_reporter(session, case, sender_id) is not None else None


def visible_case(
    session: Session, number: str, sender_id: str, phone_last4: str | None = None
) -> Case | None:
    """The case if this resident may see it: their own or co-reported, or proven by the
    phone's last four.

    Returns None both for a number that does not exist and for someone else's case, so the
    answer never reveals that a case exists.
    """
    case = reported_case(session, number, sender_id)
    if case is not None:
        return case
    digits = (phone_last4 or "").strip()
    if len(digits) != 4 or not digits.isdigit():
        return None
    try:
        case = get_case(session, number)
    except NotFoundError:
        return None
    return case if case.phone and last_four(case.phone) == digits else None


@dataclass(frozen=True)
class Rating:
    """A resident's recorded 回访 rating.

    Attributes:
        number: The case.
        rating: What they chose.
        co_reporter: Whether they rated as a co-reporter (the case's state did not change).
    """

    number: str
    rating: Satisfaction
    co_reporter: bool


def rate_case(
    session: Session, number: str | None, sender_id: str, rating: Satisfaction
) -> Rating | None:
    """Records a resident's rating of a case they reported or co-reported.

    The reporter's rating closes the case (不满意 reopens it); a co-reporter's is kept on their
    reporter row and changes nothing else (:mod:`hotline.casework.co_reporters`).

    Returns:
        The rating, or None when the case is not theirs (or does not exist).

    Raises:
        InvalidTransitionError: The case cannot be rated now, or they already rated it.
    """
    case = reported_case(session, number, sender_id)
    if case is None:
        return None
    apply_action(session, case, "rate", Actor.resident(sender_id), ActionInput(rating=rating.value))
    return Rating(case.number, rating, co_reporter=case.resident_ref != sender_id)


def save_rating_comment(session: Session, number: str | None, sender_id: str, comment: str) -> bool:
    """Adds what a dissatisfied resident said after their rating: on the reopened case for its
    reporter (also as added information for the office), on their reporter row for a
    co-reporter.

    Returns:
        False when the case is not theirs.

    Raises:
        InvalidTransitionError: The reporter's case is no longer open.
    """
    case = reported_case(session, number, sender_id)
    if case is None:
        return False
    if case.resident_ref != sender_id:
        comment_as_co_reporter(session, case, sender_id, comment)
        return True
    case.satisfaction_comment = comment
    apply_action(
        session,
        case,
        "add_info",
        Actor.resident(sender_id),
        ActionInput(note=f"回访意见：{comment}"),
    )
    return True


def owns(session: Session, number: str | None, sender_id: str) -> bool:
    """Whether the case exists and was reported by this sender."""
    return owned_case(session, number, sender_id) is not None


def withdrawable_cases(session: Session, sender_id: str) -> list[Case]:
    """The resident's own cases that can still be withdrawn (not yet dispatched); never a
    case they only co-reported."""
    return [
        c for c in resident_cases(session, sender_id) if CaseStatus(c.status) in BEFORE_DISPATCH
    ]


def open_cases(session: Session, sender_id: str) -> list[Case]:
    """The resident's cases still being handled, their own and those they co-reported,
    newest first."""
    cases = {c.id: c for c in resident_cases(session, sender_id)}
    cases.update({c.id: c for c in co_reported_cases(session, sender_id)})
    return [
        c for _, c in sorted(cases.items(), reverse=True) if CaseStatus(c.status) in OPEN_STATUSES
    ]


def set_location(
    session: Session,
    case: Case,
    location: str,
    actor: Actor,
    latitude: float | None = None,
    longitude: float | None = None,
) -> None:
    """Records a location given after the case was logged (emergencies ask for it last)."""
    case.location = location.strip()[:500]
    if latitude is not None and longitude is not None:
        case.latitude, case.longitude = latitude, longitude
    refresh_place(session, case)
    record_event(session, case, actor, "set_location", note=case.location)


def latest_unlocated_emergency(session: Session, sender_id: str) -> Case | None:
    """The resident's newest emergency case that still has no location, if any."""
    return session.scalar(
        select(Case)
        .where(
            Case.resident_ref == sender_id,
            Case.urgency == Urgency.EMERGENCY.value,
            Case.location == "",
        )
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(1)
    )


def log_consultation(
    session: Session,
    *,
    sender_id: str,
    channel: str,
    text: str,
    category: str,
    topic: str,
    title: str,
    now: datetime | None = None,
) -> Case:
    """Logs a policy question the assistant answered as a 咨询 case, resolved and closed at once.

    Supervisors count consultation volume by topic from these cases.
    """
    now = now or utcnow()
    case, _ = create_case(
        session,
        NewCase(
            category=category,
            description=text,
            case_type=CaseType.CONSULTATION.value,
            channel=channel,
            resident_ref=sender_id,
            faq_topic=topic,
        ),
        Actor.resident(sender_id),
        now=now,
    )
    assistant = Actor.system("assistant")
    resolution = f"智能助手已答复：{title}"
    case.resolution = resolution
    case.resolved_at = case.closed_at = now
    record_event(
        session,
        case,
        assistant,
        "resolve",
        from_status=case.status,
        to_status=CaseStatus.RESOLVED.value,
        note=resolution,
        now=now,
    )
    record_event(
        session,
        case,
        assistant,
        "close",
        from_status=CaseStatus.RESOLVED.value,
        to_status=CaseStatus.CLOSED.value,
        now=now,
    )
    case.status = CaseStatus.CLOSED.value
    return case
