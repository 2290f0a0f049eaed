"""Co-reporters: residents who reported a problem someone had already reported.

Instead of a second case, the resident joins the first one (``case_reporters``). From then on
they get the case's progress notices and the satisfaction survey
(:func:`hotline.casework.cases._notify`
fans out to :func:`notice_recipients`), may look the case up and rate it
(:mod:`hotline.residents.resident`), but may not withdraw it: it is someone else's report.

A co-reporter's rating is kept on their reporter row, with an audit event; it does not change
the case's state. Only the original reporter's rating closes or reopens a case (a case has one
回访 outcome in the workflow and the statistics). A dissatisfied co-reporter's rating is
visible on the case page and in the audit trail.

When case A is merged into case B, A's reporter and A's co-reporters become co-reporters of
B, so that they keep hearing about the problem.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.casework import duplicate_wording as wording
from hotline.casework.actors import Actor
from hotline.casework.cases import (
    ANONYMOUS,
    MAX_DESCRIPTION,
    MAX_NAME,
    get_case,
    lock_case,
    record_event,
)
from hotline.casework.phone import mask_phone, normalise_phone
from hotline.casework.vocab import Channel, Satisfaction
from hotline.casework.workflow import OPEN_STATUSES, CaseStatus
from hotline.errors import InvalidTransitionError, ValidationError
from hotline.models import Case, CaseReporter, utcnow

RATEABLE = frozenset({CaseStatus.RESOLVED, CaseStatus.CLOSED})
"""A co-reporter may rate once the case is resolved, also after the original reporter's
rating closed it."""


def co_reporters(session: Session, case: Case) -> list[CaseReporter]:
    """A case's co-reporters, in the order they joined."""
    return list(
        session.scalars(
            select(CaseReporter).where(CaseReporter.case_id == case.id).order_by(CaseReporter.id)
        )
    )


def co_reporter(session: Session, case: Case, resident_ref: str) -> CaseReporter | None:
    """This resident's co-reporter row on the case, if they are one."""
    if not resident_ref:
        return None
    return session.scalar(
        select(CaseReporter).where(
            CaseReporter.case_id == case.id, CaseReporter.resident_ref == resident_ref
        )
    )


def notice_recipients(session: Session, case: Case) -> list[str]:
    """Everyone told about a case's progress: its reporter, then its co-reporters (each
    once)."""
    refs = [case.resident_ref] if case.resident_ref else []
    if case.id is not None:
        refs += session.scalars(
            select(CaseReporter.resident_ref)
            .where(CaseReporter.case_id == case.id, CaseReporter.resident_ref.is_not(None))
            .order_by(CaseReporter.id)
        )
    return list(dict.fromkeys(r for r in refs if r))


def co_reported_cases(session: Session, resident_ref: str) -> list[Case]:
    """The cases this resident joined as a co-reporter, newest first."""
    return list(
        session.scalars(
            select(Case)
            .join(CaseReporter, CaseReporter.case_id == Case.id)
            .where(CaseReporter.resident_ref == resident_ref)
            .order_by(Case.id.desc())
        )
    )


def _add(
    session: Session,
    case: Case,
    *,
    resident_ref: str,
    channel: str,
    description: str,
    phone: str | None,
    contact_name: str | None,
    now: datetime,
    merged_from: str | None = None,
) -> CaseReporter | None:
    """Adds a reporter row unless the resident already is the case's reporter or a
    co-reporter; returns the new row, or None."""
    if resident_ref == case.resident_ref or co_reporter(session, case, resident_ref):
        return None
    row = CaseReporter(
        case_id=case.id,
        resident_ref=resident_ref,
        channel=channel,
        contact_name=contact_name,
        phone=phone,
        description=description,
        created_at=now,
        merged_from=merged_from,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # the same resident joined at the same moment elsewhere
        return None
    return row


def join_as_co_reporter(
    session: Session,
    number: str,
    resident_ref: str,
    channel: str,
    *,
    description: str,
    phone: str | None,
    contact_name: str | None,
    now: datetime | None = None,
) -> Case:
    """Makes a resident a co-reporter of an open case, instead of logging a new case.

    Audited as ``co_reported`` (actor: the resident; data: the channel and the masked phone).
    Joining again, or joining one's own case, changes nothing.

    Raises:
        NotFoundError: No case has this number.
        InvalidTransitionError: The case is no longer open (resolved, closed, withdrawn).
        ValidationError: A field is invalid (phone, name, description).
    """
    now = now or utcnow()
    if not resident_ref:
        raise ValidationError("resident_ref", "缺少居民标识")
    channel_value = Channel.parse(channel, "channel").value
    text = (description or "").replace("\x00", "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise ValidationError("description", f"过长（{len(text)} 字），最多 {MAX_DESCRIPTION} 字")
    name = (contact_name or "").replace("\x00", "").strip() or ANONYMOUS
    if len(name) > MAX_NAME:
        raise ValidationError("name", f"过长，最多 {MAX_NAME} 字")
    normalised = normalise_phone(phone) if phone and phone.strip() else None
    case = get_case(session, number)
    lock_case(session, case)
    if resident_ref == case.resident_ref or co_reporter(session, case, resident_ref):
        return case
    status = CaseStatus(case.status)
    if status not in OPEN_STATUSES or case.merged_into:
        raise InvalidTransitionError(case.number, f"{status.value}（{status.label}）", "co_report")
    row = _add(
        session,
        case,
        resident_ref=resident_ref,
        channel=channel_value,
        description=text,
        phone=normalised,
        contact_name=name,
        now=now,
    )
    if row is not None:
        record_event(
            session,
            case,
            Actor.resident(resident_ref),
            "co_reported",
            note=text or wording.CO_REPORTED_NOTE,
            data={
                "channel": channel_value,
                "phone": mask_phone(normalised) if normalised else None,
            },
            now=now,
        )
    case.updated_at = now
    return case


def absorb_merged(session: Session, source: Case, target: Case, now: datetime) -> int:
    """Makes a merged case's reporter and co-reporters co-reporters of the case it was merged
    into (the caller's ``merged_from`` event on the target says how many). Returns how many
    joined."""
    joined = 0
    people: list[tuple[str, str, str, str | None, str]] = []
    if source.resident_ref:
        people.append(
            (
                source.resident_ref,
                source.channel,
                source.description,
                source.phone,
                source.contact_name,
            )
        )
    people += [
        (r.resident_ref, r.channel, r.description, r.phone, r.contact_name)
        for r in co_reporters(session, source)
        if r.resident_ref
    ]
    for ref, channel, description, phone, name in people:
        row = _add(
            session,
            target,
            resident_ref=ref,
            channel=channel,
            description=description,
            phone=phone,
            contact_name=name,
            now=now,
            merged_from=source.number,
        )
        joined += row is not None
    return joined


def rate_as_co_reporter(
    session: Session,
    case: Case,
    resident_ref: str,
    rating: str,
    comment: str | None = None,
    *,
    now: datetime | None = None,
) -> CaseReporter:
    """Records a co-reporter's 回访 rating on their reporter row, audited as
    ``co_reporter_rate``; the case's state does not change.

    Raises:
        ValidationError: The resident is not a co-reporter of the case, or the rating is
            not on the scale.
        InvalidTransitionError: The case is not resolved yet, or they already rated it.
    """
    now = now or utcnow()
    row = co_reporter(session, case, resident_ref)
    if row is None:
        raise ValidationError("resident", f"不是工单 {case.number} 的共同反映人")
    value = Satisfaction.parse(rating, "rating")
    status = CaseStatus(case.status)
    if status not in RATEABLE:
        raise InvalidTransitionError(case.number, f"{status.value}（{status.label}）", "rate")
    if row.satisfaction is not None:
        raise InvalidTransitionError(case.number, status.value, "rate", "已经评价过了")
    row.satisfaction = value.value
    row.satisfaction_comment = (comment or "").strip() or None
    row.rated_at = now
    record_event(
        session,
        case,
        Actor.resident(resident_ref),
        "co_reporter_rate",
        note=row.satisfaction_comment,
        data={"rating": value.value},
        now=now,
    )
    return row


def comment_as_co_reporter(
    session: Session, case: Case, resident_ref: str, comment: str, *, now: datetime | None = None
) -> CaseReporter:
    """Adds the comment a co-reporter gave after their rating (回访意见).

    Raises:
        ValidationError: The resident is not a co-reporter of the case.
    """
    row = co_reporter(session, case, resident_ref)
    if row is None:
        raise ValidationError("resident", f"不是工单 {case.number} 的共同反映人")
    row.satisfaction_comment = comment.strip() or None
    record_event(
        session,
        case,
        Actor.resident(resident_ref),
        "co_reporter_comment",
        note=row.satisfaction_comment,
        now=now or utcnow(),
    )
    return row
