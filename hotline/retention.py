"""Retention (PIPL): anonymising closed cases after a retention period, and carrying out a
resident's request to delete their personal data (/forget), through the same code.

Anonymising a case removes the phone, the name, the resident's own words (the description,
their notes and satisfaction comment), the exact location and coordinates, the link to the
resident's conversation, phone and ID numbers and the name in staff texts, the texts sent to the
resident, and its photos. It keeps everything the statistics use: category, office, channel,
type, urgency, dates, deadline, rating and the audit trail (whose resident ids, resident notes
and location notes are scrubbed, the one change ever made to audit rows). Its co-reporters'
rows (:mod:`hotline.similarity.reporters`) are anonymised too, and its description's vector is
deleted. A resident's /forget request anonymises their co-reporter rows on other residents'
cases at once, whatever those cases' state.

A resident's conversation lives outside their cases: the messages the hotline stored, Rasa's
tracker store (every event, the phone slot included), photos not linked to a case, messages
sent to them about no case, and reports set aside in the spool. It is there to serve their
cases, so it is deleted (``purge``) once none of their cases is still live (not yet
anonymised):

- by the retention run, for the residents whose last case it has just anonymised, and for
  every conversation idle for longer than the retention period with no live case (questions
  that never became a case, abandoned reports);
- by a carried-out deletion request when none of the resident's cases is still being handled.
  While one is, phone and ID numbers are removed from the conversation instead (operators
  still need it), and the retention run deletes it after that case is anonymised.

On SQLite the deleted rows are zeroed (``secure_delete``) and, after the commit, the WAL is
checkpointed and truncated (:func:`wipe`), so that no copy is left in the files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from hotline import spool, tracker_store
from hotline.actors import Actor
from hotline.cases import record_event
from hotline.config import load_settings
from hotline.db import checkpoint, transaction
from hotline.errors import NotFoundError, ValidationError
from hotline.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseReporter,
    Conversation,
    ConversationMessage,
    DataRequest,
    OutboxMessage,
    utcnow,
)
from hotline.redact import ANONYMISED, UNNAMED, remove_numbers
from hotline.similarity.vectors import forget_vector
from hotline.vocab import ActorKind
from hotline.workflow import FINAL_STATUSES

log = logging.getLogger(__name__)
FINAL_VALUES = tuple(s.value for s in FINAL_STATUSES)
MIN_DAYS = 1
MAX_DAYS = 36_500
DONE = "done"
OPEN = "open"
LOCATION_EVENTS = frozenset({"set_location"})
CHUNK = 500
MIN_NAME_CHARS = 2
"""A shorter name (one character) would blank that character everywhere in staff texts."""


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
    conversations: list[str] = field(default_factory=list)
    purged: PurgeReport | None = None


@dataclass
class PurgeReport:
    """What deleting (or scrubbing) residents' conversations removed."""

    messages: int = 0
    photos: int = 0
    outbox: int = 0
    tracker_events: int = 0
    spool_files: int = 0

    def add(self, other: PurgeReport) -> None:
        """Adds another report's counts to this one."""
        self.messages += other.messages
        self.photos += other.photos
        self.outbox += other.outbox
        self.tracker_events += other.tracker_events
        self.spool_files += other.spool_files


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
    tracker_events: int = 0
    co_reports: list[str] = field(default_factory=list)
    """Cases of other residents the resident had joined; their part is anonymised at once."""


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


def _staff_text_scrubber(case: Case) -> Callable[[str], str]:
    """What cleans a text staff wrote about a case: phone and ID numbers go, and the resident's
    name (e.g. 「已联系王浩宇」) is replaced wherever it appears."""
    name = (case.contact_name or "").strip()
    named = name not in UNNAMED and len(name) >= MIN_NAME_CHARS

    def scrub(text: str) -> str:
        cleaned = remove_numbers(text)
        return cleaned.replace(name, ANONYMISED) if named else cleaned

    return scrub


def anonymise_case(
    session: Session, case: Case, actor: Actor, *, reason: str, now: datetime | None = None
) -> int:
    """Removes a case's personal data, keeping what statistics need; audited.

    Returns:
        How many photos were deleted.
    """
    now = now or utcnow()
    scrub = _staff_text_scrubber(case)
    case.phone = None
    case.contact_name = ANONYMISED
    case.location = ANONYMISED if case.location else ""
    case.latitude = case.longitude = None
    case.resident_ref = None
    case.idempotency_key = None
    case.description = ANONYMISED
    case.resolution = scrub(case.resolution) if case.resolution else case.resolution
    case.extension_reason = (
        scrub(case.extension_reason) if case.extension_reason else case.extension_reason
    )
    case.satisfaction_comment = None
    case.anonymised_at = now
    for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)):
        if event.actor_kind == ActorKind.RESIDENT.value:
            event.actor = ANONYMISED
            event.note = ANONYMISED if event.note else event.note
        elif event.action in LOCATION_EVENTS:
            event.note = ANONYMISED
        elif event.note:
            event.note = scrub(event.note)
    for message in session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)):
        _blank_message(message)
    for reporter in session.scalars(select(CaseReporter).where(CaseReporter.case_id == case.id)):
        _anonymise_reporter(reporter)
    forget_vector(session, case)
    photos = _delete_photos(
        session, list(session.scalars(select(Attachment).where(Attachment.case_id == case.id)))
    )
    record_event(session, case, actor, "anonymise", note=reason, data={"photos": photos}, now=now)
    return photos


def _anonymise_reporter(reporter: CaseReporter) -> None:
    """Removes a co-reporter's personal data from their reporter row (the rating stays)."""
    reporter.resident_ref = None
    reporter.phone = None
    reporter.contact_name = ANONYMISED
    reporter.description = ANONYMISED if reporter.description else ""
    reporter.satisfaction_comment = None


def forget_co_reports(session: Session, sender: str) -> list[str]:
    """Removes a resident's co-reports everywhere, whatever the state of the cases: their
    reporter rows are anonymised (so they get no more notices), their events on those cases
    scrubbed, and the messages sent to them about those cases blanked. The cases are other
    residents' reports and go on.

    Returns:
        The numbers of the cases they had joined.
    """
    rows = list(session.scalars(select(CaseReporter).where(CaseReporter.resident_ref == sender)))
    numbers = []
    for row in rows:
        case = session.get(Case, row.case_id)
        _anonymise_reporter(row)
        for event in session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == row.case_id, CaseEvent.actor == sender)
        ):
            event.actor = ANONYMISED
            event.note = ANONYMISED if event.note else event.note
            if event.data and "phone" in event.data:
                event.data = {**event.data, "phone": None}
        for message in session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.case_id == row.case_id, OutboxMessage.recipient == sender
            )
        ):
            _blank_message(message)
        if case is not None:
            numbers.append(case.number)
    return numbers


def _blank_message(message: OutboxMessage) -> None:
    message.recipient = ANONYMISED
    message.text = ANONYMISED
    message.payload = None
    if message.status in ("pending", "sending"):
        message.status = "failed"
        message.last_error = "工单已匿名化，不再发送"


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


def _co_reporters_of(session: Session, case_ids: list[int]) -> set[str]:
    """The co-reporters of these cases (their conversations may go with the cases)."""
    found: set[str] = set()
    for start in range(0, len(case_ids), CHUNK):
        chunk = case_ids[start : start + CHUNK]
        found.update(
            r
            for r in session.scalars(
                select(CaseReporter.resident_ref).where(CaseReporter.case_id.in_(chunk))
            )
            if r
        )
    return found


def check_days(days: int) -> int:
    """Validates a retention period.

    Raises:
        ValidationError: When it is not between 1 and 36500 days.
    """
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValidationError("days", f"保留天数须在 {MIN_DAYS}～{MAX_DAYS} 之间")
    return days


def live_senders(
    session: Session, senders: set[str], ignoring: set[int] | frozenset[int] = frozenset()
) -> set[str]:
    """Those of ``senders`` who still have a case that is not anonymised (other than the
    cases ``ignoring``, which a dry run would anonymise)."""
    live: set[str] = set()
    wanted = sorted(senders)
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        query = select(Case.resident_ref).where(Case.resident_ref.in_(chunk))
        joined = select(CaseReporter.resident_ref).where(CaseReporter.resident_ref.in_(chunk))
        if ignoring:
            query = query.where(Case.id.not_in(sorted(ignoring)))
            joined = joined.where(CaseReporter.case_id.not_in(sorted(ignoring)))
        live.update(r for r in session.scalars(query) if r)
        live.update(r for r in session.scalars(joined) if r)
    return live


def _latest(into: dict[str, datetime], rows: Any) -> None:
    for sender, at in rows:
        if sender and at is not None and (sender not in into or at > into[sender]):
            into[sender] = at


def last_activity(session: Session) -> dict[str, datetime]:
    """Each known conversation's latest trace, in the case database and the tracker store."""
    latest: dict[str, datetime] = {}
    _latest(latest, tracker_store.last_activity().items())
    _latest(
        latest,
        session.execute(
            select(
                ConversationMessage.sender_id, func.max(ConversationMessage.created_at)
            ).group_by(ConversationMessage.sender_id)
        ),
    )
    _latest(
        latest,
        session.execute(
            select(Conversation.sender_id, Conversation.last_message_at).where(
                Conversation.last_message_at.is_not(None)
            )
        ),
    )
    _latest(
        latest,
        session.execute(
            select(Attachment.sender_id, func.max(Attachment.created_at))
            .where(Attachment.case_id.is_(None))
            .group_by(Attachment.sender_id)
        ),
    )
    _latest(
        latest,
        session.execute(
            select(OutboxMessage.recipient, func.max(OutboxMessage.created_at))
            .where(OutboxMessage.case_id.is_(None))
            .group_by(OutboxMessage.recipient)
        ),
    )
    return latest


def _deleted(session: Session, statement: Any) -> int:
    """Runs a DELETE; returns how many rows it deleted."""
    result = cast(CursorResult[Any], session.execute(statement))
    return int(result.rowcount or 0)


def delete_orphan_media(session: Session, before: datetime) -> int:
    """Deletes media files that no attachment row names, last changed before ``before``: a
    photo whose transaction failed after the file was written (it cannot be traced to a
    resident, so only the retention period removes it).

    Returns:
        How many files were deleted.
    """
    media_dir = load_settings().media_dir
    if not media_dir.is_dir():
        return 0
    known = set(session.scalars(select(Attachment.path)))
    deleted = 0
    for path in media_dir.rglob("*"):
        try:
            if not path.is_file() or path.stat().st_mtime >= before.timestamp():
                continue
            if path.relative_to(media_dir).as_posix() in known:
                continue
            path.unlink()
        except OSError as exc:
            log.warning("could not delete orphan media file %s: %s", path, exc)
            continue
        deleted += 1
    return deleted


def purge_conversations(session: Session, senders: list[str]) -> PurgeReport:
    """Deletes these residents' conversations everywhere: stored messages, the conversations'
    details, photos not linked to a case, messages about no case, spooled reports set aside,
    and the tracker store's events, a chunk of residents per statement. Callers make sure no
    live case needs them."""
    report = PurgeReport()
    for start in range(0, len(senders), CHUNK):
        chunk = senders[start : start + CHUNK]
        report.messages += _deleted(
            session, delete(ConversationMessage).where(ConversationMessage.sender_id.in_(chunk))
        )
        session.execute(
            update(Conversation)
            .where(Conversation.sender_id.in_(chunk))
            .values(metadata_json=None)
            .execution_options(synchronize_session=False)
        )
        report.photos += _delete_photos(
            session,
            list(
                session.scalars(
                    select(Attachment).where(
                        Attachment.sender_id.in_(chunk), Attachment.case_id.is_(None)
                    )
                )
            ),
        )
        report.outbox += _deleted(
            session,
            delete(OutboxMessage).where(
                OutboxMessage.recipient.in_(chunk), OutboxMessage.case_id.is_(None)
            ),
        )
    report.spool_files = spool.discard_unlogged(residents=set(senders)) if senders else 0
    report.tracker_events = tracker_store.delete_senders(senders)
    return report


def scrub_conversation(session: Session, sender: str) -> PurgeReport:
    """Removes phone and ID numbers from a resident's conversation, which a live case still
    needs: stored messages, messages about no case and the tracker store's events."""
    report = PurgeReport()
    for message in session.scalars(
        select(ConversationMessage).where(ConversationMessage.sender_id == sender)
    ):
        cleaned = remove_numbers(message.text)
        if cleaned != message.text:
            message.text = cleaned
            report.messages += 1
    for row in session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.recipient == sender, OutboxMessage.case_id.is_(None)
        )
    ):
        cleaned = remove_numbers(row.text)
        if cleaned != row.text:
            row.text = cleaned
            report.outbox += 1
    report.spool_files = spool.discard_unlogged(residents={sender})
    report.tracker_events = tracker_store.scrub_sender(sender)
    return report


def conversations_due(
    session: Session,
    cutoff: datetime,
    finished: set[str],
    ignoring: set[int] | frozenset[int] = frozenset(),
) -> list[str]:
    """Conversations the retention run deletes: those of ``finished`` (residents whose cases it
    anonymises) and those idle since before ``cutoff``, unless a live case still needs them."""
    idle = {sender for sender, at in last_activity(session).items() if at < cutoff}
    candidates = finished | idle
    return sorted(candidates - live_senders(session, candidates, ignoring))


def run(
    session: Session,
    days: int,
    actor: Actor,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> RetentionReport:
    """Anonymises every case closed more than ``days`` days ago, then deletes the
    conversations no live case needs any more (see the module docstring).

    A dry run only lists them and changes nothing. A real run writes one ``anonymise`` event
    per case and one ``retention_run`` event (about no case) with the totals. Call
    :func:`wipe` after the commit.

    Raises:
        StorageUnavailableError: When the tracker store cannot be reached (the caller's
            transaction then rolls back; conversations already deleted stay deleted).
    """
    now = now or utcnow()
    check_days(days)
    cutoff = now - timedelta(days=days)
    cases = due_cases(session, days, now)
    finished = {c.resident_ref for c in cases if c.resident_ref}
    finished |= _co_reporters_of(session, [c.id for c in cases])
    report = RetentionReport(
        days=days, cutoff=cutoff, dry_run=dry_run, numbers=[c.number for c in cases]
    )
    if dry_run:
        report.conversations = conversations_due(
            session, cutoff, finished, ignoring={c.id for c in cases}
        )
        return report
    reason = f"保留期限 {days} 天已满，自动匿名化"
    for case in cases:
        report.photos += anonymise_case(session, case, actor, reason=reason, now=now)
    session.flush()
    report.conversations = conversations_due(session, cutoff, finished)
    purged = purge_conversations(session, report.conversations)
    purged.spool_files += spool.discard_unlogged(before=cutoff.timestamp())
    purged.photos += delete_orphan_media(session, cutoff)
    report.purged = purged
    report.photos += purged.photos
    record_event(
        session,
        None,
        actor,
        "retention_run",
        note=f"匿名化 {len(cases)} 件归档超过 {days} 天的工单，"
        f"删除 {len(report.conversations)} 段会话记录",
        data={
            "days_kept": days,
            "cases": len(cases),
            "photos": report.photos,
            "numbers": report.numbers[:500],
            "conversations": len(report.conversations),
            "messages": purged.messages,
            "tracker_events": purged.tracker_events,
            "outbox": purged.outbox,
            "spool_files": purged.spool_files,
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
    are anonymised by the retention period after they close, and their conversation deleted
    then). When no case is still open, the resident's conversation is deleted everywhere
    (:func:`purge_conversations`: stored messages, tracker store, unlinked photos, messages
    about no case, spool); otherwise phone and ID numbers are removed from it
    (:func:`scrub_conversation`), as operators still need it. The request is marked done, and
    the work is audited. Call :func:`wipe` after the commit.

    Raises:
        NotFoundError: When there is no such request.
        ValidationError: When it has already been carried out.
        StorageUnavailableError: When the tracker store cannot be reached (nothing is
            committed then, and the request stays open).
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
    report.co_reports = forget_co_reports(session, sender)
    session.flush()
    if report.kept_open:
        scrubbed = scrub_conversation(session, sender)
        report.messages_scrubbed = scrubbed.messages
        report.tracker_events = scrubbed.tracker_events
    else:
        purged = purge_conversations(session, [sender])
        report.messages_deleted = purged.messages
        report.photos += purged.photos
        report.tracker_events = purged.tracker_events
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
            "co_reports": len(report.co_reports),
            "messages": report.messages_deleted or report.messages_scrubbed,
            "photos": report.photos,
            "tracker_events": report.tracker_events,
        },
        now=now,
    )
    session.flush()
    return report


def wipe() -> None:
    """After a committed deletion: checkpoints and truncates the SQLite WALs (case database and
    tracker store), which still hold the deleted rows' earlier pages. Nothing on PostgreSQL."""
    checkpoint()
    tracker_store.compact()


def run_retention(
    days: int, actor: Actor, *, dry_run: bool = False, now: datetime | None = None
) -> RetentionReport:
    """:func:`run` in its own transaction, then :func:`wipe` (for the CLI and the console)."""
    with transaction() as session:
        report = run(session, days, actor, dry_run=dry_run, now=now)
    if not dry_run:
        wipe()
    return report


def forget(request_id: int, actor: Actor, *, now: datetime | None = None) -> DeletionReport:
    """:func:`carry_out_deletion` in its own transaction, then :func:`wipe`."""
    with transaction() as session:
        report = carry_out_deletion(session, request_id, actor, now=now)
    wipe()
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
