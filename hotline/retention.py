"""Retention (PIPL): anonymising closed cases after a retention period, and carrying out a
resident's request to delete their personal data (/forget), through the same code.

Anonymising a case removes the phone, the name, the exact location and coordinates, the link
to the resident's conversation, phone and ID numbers typed into its texts, and its photos. It
keeps everything the statistics use: category, office, channel, type, urgency, dates,
deadline, rating and the audit trail (whose resident ids and location notes are scrubbed,
the one change ever made to audit rows).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hotline.actors import Actor
from hotline.cases import record_event
from hotline.config import load_settings
from hotline.errors import NotFoundError, ValidationError
from hotline.models import (
    Attachment,
    Case,
    CaseEvent,
    Conversation,
    ConversationMessage,
    DataRequest,
    OutboxMessage,
    utcnow,
)
from hotline.redact import ANONYMISED, remove_numbers
from hotline.vocab import ActorKind
from hotline.workflow import FINAL_STATUSES

log = logging.getLogger(__name__)
FINAL_VALUES = tuple(s.value for s in FINAL_STATUSES)
MIN_DAYS = 1
MAX_DAYS = 36_500
DONE = "done"
OPEN = "open"
LOCATION_EVENTS = frozenset({"set_location"})


@dataclass
class RetentionReport:
    """What a retention run did, or would do (dry run).

    Attributes:
        days: Cases closed more than this many days ago are anonymised.
        cutoff: The instant before which a case must have been closed.
        dry_run: Whether nothing was changed.
        numbers: The cases anonymised (or that would be).
        photos: The photos deleted (0 in a dry run).
    """

    days: int
    cutoff: datetime
    dry_run: bool
    numbers: list[str] = field(default_factory=list)
    photos: int = 0


@dataclass
class DeletionReport:
    """What carrying out a resident's deletion request did."""

    request_id: int
    sender_id: str
    anonymised: list[str] = field(default_factory=list)
    kept_open: list[str] = field(default_factory=list)
    messages_deleted: int = 0
    messages_scrubbed: int = 0
    photos: int = 0


def _delete_photo_file(path: str, media_dir: Path) -> None:
    target = (media_dir / path).resolve()
    if target.is_relative_to(media_dir.resolve()) and target.is_file():
        try:
            target.unlink()
        except OSError as exc:  # the row goes anyway; the file is logged for an admin
            log.warning("could not delete photo %s: %s", target, exc)


def _delete_photos(session: Session, rows: list[Attachment]) -> int:
    media_dir = load_settings().media_dir
    for row in rows:
        _delete_photo_file(row.path, media_dir)
        session.delete(row)
    return len(rows)


def anonymise_case(
    session: Session, case: Case, actor: Actor, *, reason: str, now: datetime | None = None
) -> int:
    """Removes a case's personal data, keeping what statistics need; audited.

    Returns:
        How many photos were deleted.
    """
    now = now or utcnow()
    case.phone = None
    case.contact_name = ANONYMISED
    case.location = ANONYMISED if case.location else ""
    case.latitude = case.longitude = None
    case.resident_ref = None
    case.idempotency_key = None
    case.description = remove_numbers(case.description)
    case.resolution = remove_numbers(case.resolution) if case.resolution else case.resolution
    case.extension_reason = (
        remove_numbers(case.extension_reason) if case.extension_reason else case.extension_reason
    )
    case.satisfaction_comment = None
    case.anonymised_at = now
    for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)):
        if event.actor_kind == ActorKind.RESIDENT.value:
            event.actor = ANONYMISED
        if event.action in LOCATION_EVENTS:
            event.note = ANONYMISED
        elif event.note:
            event.note = remove_numbers(event.note)
    for message in session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)):
        message.recipient = ANONYMISED
        message.text = remove_numbers(message.text)
        if message.status in ("pending", "sending"):
            message.status = "failed"
            message.last_error = "工单已匿名化，不再发送"
    photos = _delete_photos(
        session, list(session.scalars(select(Attachment).where(Attachment.case_id == case.id)))
    )
    record_event(session, case, actor, "anonymise", note=reason, data={"photos": photos}, now=now)
    return photos


def due_cases(session: Session, days: int, now: datetime) -> list[Case]:
    """Closed or withdrawn cases, not yet anonymised, closed more than ``days`` days ago."""
    cutoff = now - timedelta(days=days)
    return list(
        session.scalars(
            select(Case)
            .where(
                Case.status.in_(FINAL_VALUES),
                Case.closed_at.is_not(None),
                Case.closed_at < cutoff,
                Case.anonymised_at.is_(None),
            )
            .order_by(Case.closed_at, Case.id)
        )
    )


def check_days(days: int) -> int:
    """Validates a retention period.

    Raises:
        ValidationError: When it is not between 1 and 36500 days.
    """
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValidationError("days", f"保留天数须在 {MIN_DAYS}～{MAX_DAYS} 之间")
    return days


def run(
    session: Session,
    days: int,
    actor: Actor,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> RetentionReport:
    """Anonymises every case closed more than ``days`` days ago.

    A dry run only lists them and changes nothing. A real run writes one ``anonymise`` event
    per case and one ``retention_run`` event (about no case) with the totals.
    """
    now = now or utcnow()
    check_days(days)
    cases = due_cases(session, days, now)
    report = RetentionReport(
        days=days,
        cutoff=now - timedelta(days=days),
        dry_run=dry_run,
        numbers=[c.number for c in cases],
    )
    if dry_run:
        return report
    reason = f"保留期限 {days} 天已满，自动匿名化"
    for case in cases:
        report.photos += anonymise_case(session, case, actor, reason=reason, now=now)
    record_event(
        session,
        None,
        actor,
        "retention_run",
        note=f"匿名化 {len(cases)} 件归档超过 {days} 天的工单",
        data={
            "days_kept": days,
            "cases": len(cases),
            "photos": report.photos,
            "numbers": report.numbers[:500],
        },
        now=now,
    )
    session.flush()
    return report


def carry_out_deletion(
    session: Session, request_id: int, actor: Actor, *, now: datetime | None = None
) -> DeletionReport:
    """Carries out a resident's /forget request.

    Their finished cases are anonymised at once; cases still being handled are kept (they
    are anonymised by the retention period after they close). Their stored conversation
    messages and unlinked photos are deleted when no case is still open; otherwise phone and
    ID numbers are removed from the messages, which operators still need. The request is
    marked done, and the work is audited.

    Raises:
        NotFoundError: When there is no such request.
        ValidationError: When it has already been carried out.
    """
    now = now or utcnow()
    request = session.get(DataRequest, request_id)
    if request is None:
        raise NotFoundError(f"删除申请 #{request_id} 不存在")
    if request.status != OPEN:
        raise ValidationError("request", f"删除申请 #{request_id} 已于此前办理")
    sender = request.sender_id
    report = DeletionReport(request_id=request.id, sender_id=sender)
    cases = list(session.scalars(select(Case).where(Case.resident_ref == sender).order_by(Case.id)))
    reason = f"居民申请删除个人信息（申请 #{request.id}）"
    for case in cases:
        if case.status in FINAL_VALUES:
            report.anonymised.append(case.number)
            report.photos += anonymise_case(session, case, actor, reason=reason, now=now)
        else:
            report.kept_open.append(case.number)
    messages = list(
        session.scalars(select(ConversationMessage).where(ConversationMessage.sender_id == sender))
    )
    if report.kept_open:
        for message in messages:
            cleaned = remove_numbers(message.text)
            if cleaned != message.text:
                message.text = cleaned
                report.messages_scrubbed += 1
    else:
        report.messages_deleted = len(messages)
        session.execute(delete(ConversationMessage).where(ConversationMessage.sender_id == sender))
        conversation = session.get(Conversation, sender)
        if conversation is not None:
            conversation.metadata_json = None
        report.photos += _delete_photos(
            session,
            list(
                session.scalars(
                    select(Attachment).where(
                        Attachment.sender_id == sender, Attachment.case_id.is_(None)
                    )
                )
            ),
        )
    request.status = DONE
    request.handled_by = actor.name
    request.handled_at = now
    kept = f"，保留 {len(report.kept_open)} 件在办工单" if report.kept_open else ""
    record_event(
        session,
        None,
        actor,
        "data_request_done",
        note=f"办理删除申请 #{request.id}：匿名化 {len(report.anonymised)} 件工单{kept}",
        data={
            "request": request.id,
            "cases": len(report.anonymised),
            "open_kept": report.kept_open,
            "messages": report.messages_deleted or report.messages_scrubbed,
            "photos": report.photos,
        },
        now=now,
    )
    session.flush()
    return report


def open_requests(session: Session) -> list[DataRequest]:
    """Deletion requests not yet carried out, oldest first."""
    return list(
        session.scalars(
            select(DataRequest).where(DataRequest.status == OPEN).order_by(DataRequest.id)
        )
    )


def recent_requests(session: Session, limit: int = 50) -> list[DataRequest]:
    """Requests already carried out, newest first."""
    return list(
        session.scalars(
            select(DataRequest)
            .where(DataRequest.status != OPEN)
            .order_by(DataRequest.handled_at.desc(), DataRequest.id.desc())
            .limit(limit)
        )
    )
