"""Cases: creation, the workflow actions, the audit log and queries. Every front end calls this."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline import outbox
from hotline.actors import Actor
from hotline.catalogue import Catalogue, Category, get_catalogue
from hotline.config import Settings, load_settings
from hotline.errors import InvalidTransitionError, NotFoundError, ValidationError
from hotline.messages import format_local, status_message, survey_buttons, survey_message
from hotline.models import Case, CaseEvent, CategoryDepartment, User, utcnow
from hotline.numbering import next_case_number
from hotline.phone import normalise_phone
from hotline.sla import compute_due, extend_due
from hotline.vocab import ActorKind, CaseType, Channel, Satisfaction, Urgency
from hotline.workflow import OPEN_STATUSES, TRANSITIONS, CaseStatus

MAX_DESCRIPTION = 10_000
MAX_NAME = 64
MAX_LOCATION = 500
ANONYMOUS = "匿名"


@dataclass
class NewCase:
    """What is needed to register a case. Validated by :func:`create_case`."""

    category: str
    description: str
    phone: str | None = None
    location: str = ""
    contact_name: str | None = None
    case_type: str = CaseType.HELP.value
    urgency: str = Urgency.NORMAL.value
    channel: str = Channel.PHONE.value
    resident_ref: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    idempotency_key: str | None = None
    faq_topic: str | None = None
    require_phone: bool = False
    require_location: bool = False
    publish_consent: bool = False
    """The resident agreed that the case may be published (see :mod:`hotline.open311`)."""


@dataclass
class ActionInput:
    """The parameters an action may take; which ones it needs depends on the action."""

    note: str | None = None
    department: str | None = None
    category: str | None = None
    urgency: str | None = None
    assignee: str | None = None
    target: str | None = None
    rating: str | None = None
    days: int | None = None


@dataclass
class CaseFilter:
    """Filters of the queue, the API and the CLI. Empty fields do not filter."""

    statuses: Sequence[str] = ()
    category: str | None = None
    urgency: str | None = None
    department: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    overdue: bool = False
    text: str | None = None
    resident_ref: str | None = None
    channel: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    limit: int = 200
    offset: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _clean_text(value: str | None, field_name: str, limit: int, required: bool) -> str:
    text = (value or "").replace("\x00", "").strip()
    if required and not text:
        raise ValidationError(field_name, "不能为空")
    if len(text) > limit:
        raise ValidationError(field_name, f"过长（{len(text)} 字），最多 {limit} 字")
    return text


def _category(catalogue: Catalogue, code: str | None, field_name: str = "category") -> Category:
    if not code or not catalogue.has(code):
        raise ValidationError(
            field_name, f"未知的服务类别「{code or ''}」，可选：{', '.join(catalogue.codes)}"
        )
    return catalogue.get(code)


def default_department(session: Session, category: Category) -> str:
    """The office a category's cases go to: an admin's override, else the catalogue's."""
    override = session.get(CategoryDepartment, category.code)
    return override.department if override else category.department


def record_event(
    session: Session,
    case: Case | None,
    actor: Actor,
    action: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> CaseEvent:
    """Appends one audit row. Audit rows are never updated or deleted."""
    event = CaseEvent(
        case_id=case.id if case is not None else None,
        at=now or utcnow(),
        actor_kind=actor.kind.value,
        actor=actor.name,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
        data=data,
    )
    session.add(event)
    session.flush()
    return event


def find_by_idempotency_key(session: Session, key: str) -> Case | None:
    """The case created under an idempotency key, if any."""
    return session.scalar(select(Case).where(Case.idempotency_key == key))


def create_case(
    session: Session,
    new: NewCase,
    actor: Actor,
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
    catalogue: Catalogue | None = None,
) -> tuple[Case, bool]:
    """Validates and registers a case, with its number, deadline and creation event.

    With an idempotency key, a second call returns the first call's case.

    Returns:
        The case, and whether this call created it.

    Raises:
        ValidationError: Naming the field at fault.
    """
    settings = settings or load_settings()
    catalogue = catalogue or get_catalogue()
    now = now or utcnow()
    if new.idempotency_key:
        existing = find_by_idempotency_key(session, new.idempotency_key)
        if existing is not None:
            return existing, False
    category = _category(catalogue, new.category)
    description = _clean_text(new.description, "description", MAX_DESCRIPTION, True)
    location = _clean_text(new.location, "location", MAX_LOCATION, new.require_location)
    name = _clean_text(new.contact_name, "name", MAX_NAME, False) or ANONYMOUS
    case_type = CaseType.parse(new.case_type, "type")
    urgency = Urgency.parse(new.urgency, "urgency")
    channel = Channel.parse(new.channel, "channel")
    phone = None
    if new.phone and new.phone.strip():
        phone = normalise_phone(new.phone)
    elif new.require_phone:
        raise ValidationError("phone", "请提供联系电话")
    for value, name_, low, high in (
        (new.latitude, "latitude", -90.0, 90.0),
        (new.longitude, "longitude", -180.0, 180.0),
    ):
        if value is not None and not (low <= value <= high):
            raise ValidationError(name_, f"超出范围 {low}～{high}")
    from hotline.similarity import vectors

    # Encoded before the row is written, so that SQLite's write lock is not held meanwhile.
    vector = None if new.faq_topic else vectors.try_encode(description, location)

    case = Case(
        channel=channel.value,
        resident_ref=new.resident_ref,
        contact_name=name,
        phone=phone,
        location=location,
        latitude=new.latitude,
        longitude=new.longitude,
        description=description,
        category=category.code,
        original_category=category.code,
        case_type=case_type.value,
        urgency=urgency.value,
        status=CaseStatus.NEW.value,
        department=default_department(session, category),
        due_at=compute_due(now, category, case_type, urgency, settings.timezone),
        created_at=now,
        updated_at=now,
        idempotency_key=new.idempotency_key,
        faq_topic=new.faq_topic,
        publish_consent=bool(new.publish_consent),
    )
    try:
        with session.begin_nested():
            case.number = next_case_number(
                session, settings.case_prefix, now.astimezone(settings.timezone)
            )
            session.add(case)
            session.flush()
    except IntegrityError:
        if new.idempotency_key:
            existing = find_by_idempotency_key(session, new.idempotency_key)
            if existing is not None:
                return existing, False
        raise
    record_event(
        session,
        case,
        actor,
        "create",
        to_status=case.status,
        data={"category": case.category, "urgency": case.urgency, "channel": case.channel},
        now=now,
    )
    if not new.faq_topic:
        vectors.save_new_case_vector(session, case, vector)
    return case, True


def get_case(session: Session, number: str) -> Case:
    """Returns the case with this number.

    Raises:
        NotFoundError: When there is none.
    """
    cleaned = (number or "").strip().upper()
    case = session.scalar(select(Case).where(Case.number == cleaned))
    if case is None:
        raise NotFoundError(f"工单 {cleaned or number} 不存在")
    return case


def lock_case(session: Session, case: Case) -> None:
    """Locks the case's row until the transaction ends and reloads it (SELECT … FOR UPDATE).

    Two actions on one case at once then run one after the other: the second sees the state the
    first left, and is refused when that state no longer allows it. SQLite ignores FOR UPDATE;
    it lets one writer at a time anyway.
    """
    if case.id is None:
        return
    session.scalars(
        select(Case)
        .where(Case.id == case.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _resolve_user(session: Session, username: str | None) -> User:
    user = session.scalar(select(User).where(User.username == (username or "")))
    if user is None or not user.active:
        raise ValidationError("assignee", f"没有名为「{username or ''}」的在岗账号")
    return user


def _notify(
    session: Session,
    case: Case,
    text: str | None,
    kind: str = "status",
    payload: dict[str, Any] | None = None,
    *,
    skip: str | None = None,
    co_text: str | None = None,
) -> None:
    """Queues a message for the case's reporter and every co-reporter (except ``skip``, who
    did what the message is about); co-reporters get ``co_text`` when given."""
    if not text:
        return
    from hotline.similarity.reporters import notice_recipients

    for recipient in notice_recipients(session, case):
        if recipient == skip:
            continue
        own = recipient == case.resident_ref
        outbox.enqueue(
            session,
            recipient,
            text if own or co_text is None else co_text,
            kind,
            case_id=case.id,
            payload=payload,
        )


def apply_action(
    session: Session,
    case: Case,
    action: str,
    actor: Actor,
    params: ActionInput | None = None,
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
    catalogue: Catalogue | None = None,
) -> Case:
    """Performs a workflow action, writing its audit event and any message to the resident.

    Raises:
        ValidationError: An unknown action, or a missing or invalid parameter.
        InvalidTransitionError: The case's state does not allow the action.
    """
    params = params or ActionInput()
    settings = settings or load_settings()
    catalogue = catalogue or get_catalogue()
    now = now or utcnow()
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ValidationError("action", f"未知的操作「{action}」")
    lock_case(session, case)
    status = CaseStatus(case.status)
    if _is_co_reporter(session, case, actor):
        if action == "rate":
            # A co-reporter's rating is theirs alone: it never closes or reopens the case.
            from hotline.similarity.reporters import rate_as_co_reporter

            rate_as_co_reporter(
                session, case, actor.name, params.rating or "", params.note, now=now
            )
            return case
        if action == "cancel":
            raise InvalidTransitionError(
                case.number, f"{status.value}（{status.label}）", action, "只有反映人本人可以撤回"
            )
    if status not in transition.sources:
        raise InvalidTransitionError(case.number, f"{status.value}（{status.label}）", action)
    note = (params.note or "").strip() or None
    if transition.needs_note and not note:
        raise ValidationError("note", f"操作「{transition.label}」需要填写说明")
    if note and len(note) > MAX_DESCRIPTION:
        raise ValidationError("note", f"过长，最多 {MAX_DESCRIPTION} 字")

    target_status: CaseStatus | None = transition.target
    data: dict[str, Any] = {}
    tz = settings.timezone
    message: str | None = None
    co_message: str | None = None  # what co-reporters are told instead, when it differs
    if action == "accept":
        case.accepted_at = case.accepted_at or now
        message = status_message("accept", case.number)
    elif action == "claim":
        if actor.user_id is None:
            raise ValidationError("actor", "认领需要操作员账号")
        data["assignee"] = actor.name
        case.assignee_id = actor.user_id
    elif action == "assign":
        user = _resolve_user(session, params.assignee)
        data["assignee"] = user.username
        case.assignee_id = user.id
    elif action == "reroute":
        new_category = _category(catalogue, params.category)
        if new_category.code == case.category:
            raise ValidationError("category", f"工单已属于「{new_category.name}」")
        data.update({"from": case.category, "to": new_category.code})
        case.category = new_category.code
        case.department = default_department(session, new_category)
        case.due_at = _due(case, now, catalogue, settings)
    elif action == "set_urgency":
        urgency = Urgency.parse(params.urgency or "", "urgency")
        data.update({"from": case.urgency, "to": urgency.value})
        case.urgency = urgency.value
        case.due_at = _due(case, now, catalogue, settings)
    elif action == "dispatch":
        department = (params.department or "").strip() or default_department(
            session, catalogue.get(case.category)
        )
        data["department"] = department
        case.department = department
        case.dispatched_at = now
        message = status_message(
            "dispatch", case.number, department=department, due=format_local(case.due_at, tz)
        )
    elif action == "start":
        message = status_message("start", case.number, department=case.department)
    elif action == "return":
        data["department"] = case.department
    elif action == "extend":
        if case.extended:
            raise InvalidTransitionError(case.number, status.value, action, "每个工单只能延期一次")
        days = (
            params.days
            or catalogue.get(case.category).time_limits.working_days[CaseType(case.case_type)]
        )
        if not 1 <= days <= 60:
            raise ValidationError("days", "延期天数须在 1～60 个工作日之间")
        data.update({"from": case.due_at.isoformat(), "days": days})
        case.due_at = extend_due(case.due_at, days, tz)
        data["to"] = case.due_at.isoformat()
        case.extended = True
        case.extension_reason = note
    elif action == "reply":
        message = status_message("reply", case.number, note=note)
    elif action == "resolve":
        case.resolution = note
        case.resolved_at = now
        _notify(
            session,
            case,
            survey_message(case.number, note or ""),
            "survey",
            {"buttons": survey_buttons(case.number)},
        )
    elif action == "merge":
        target = get_case(session, params.target or "")
        if target.id == case.id:
            raise ValidationError("target", "不能合并到工单自身")
        if CaseStatus(target.status) not in OPEN_STATUSES | {CaseStatus.RESOLVED}:
            raise ValidationError("target", f"目标工单 {target.number} 已结束，不能合并")
        case.merged_into = target.number
        case.closed_at = now
        data["target"] = target.number
        message = status_message("merge", case.number, target=target.number)
        from hotline.similarity.reporters import absorb_merged

        # The merged case's residents keep hearing about their problem, from the target.
        joined = absorb_merged(session, case, target, now)
        record_event(
            session,
            target,
            actor,
            "merged_from",
            note=note,
            data={"source": case.number, "co_reporters": joined},
            now=now,
        )
    elif action == "reopen":
        case.reopen_count += 1
        case.closed_at = None
        case.due_at = _restart_clock(case, now, catalogue, settings)
        data["due"] = case.due_at.isoformat()
        message = status_message("reopen", case.number)
    elif action == "close":
        case.closed_at = now
    elif action == "cancel":
        case.closed_at = now
        message = status_message("cancel", case.number)
        from hotline.similarity.wording import CO_REPORTER_CANCELLED

        co_message = CO_REPORTER_CANCELLED.format(number=case.number)
    elif action == "rate":
        rating = Satisfaction.parse(params.rating or "", "rating")
        case.satisfaction = rating.value
        case.satisfaction_comment = note
        data["rating"] = rating.value
        if rating is Satisfaction.DISSATISFIED:
            target_status = CaseStatus.IN_PROGRESS
            case.reopen_count += 1
            case.flagged = True
            case.due_at = _restart_clock(case, now, catalogue, settings)
            data["due"] = case.due_at.isoformat()
        else:
            target_status = CaseStatus.CLOSED
            case.closed_at = now
    # note and add_info only write their event.

    from_status = case.status
    if target_status is not None:
        case.status = target_status.value
    case.updated_at = now
    # Residents are not told about what they did themselves (the assistant already answered).
    # A co-reporter who acts (e.g. adds information) is not told either; the others are.
    if action != "resolve":
        _notify(
            session,
            case,
            message,
            skip=actor.name if actor.kind is ActorKind.RESIDENT else None,
            co_text=co_message,
        )
    record_event(
        session,
        case,
        actor,
        action,
        from_status=from_status,
        to_status=case.status,
        note=note,
        data=data or None,
        now=now,
    )
    session.flush()
    return case


def _is_co_reporter(session: Session, case: Case, actor: Actor) -> bool:
    """Whether the actor is a resident who joined this case as a co-reporter."""
    if actor.kind is not ActorKind.RESIDENT or actor.name == case.resident_ref:
        return False
    from hotline.similarity.reporters import co_reporter

    return co_reporter(session, case, actor.name) is not None


def _due(case: Case, now: datetime, catalogue: Catalogue, settings: Settings) -> datetime:
    urgency = Urgency(case.urgency)
    start = case.created_at if urgency is Urgency.NORMAL else now
    return compute_due(
        start, catalogue.get(case.category), CaseType(case.case_type), urgency, settings.timezone
    )


def _restart_clock(case: Case, now: datetime, catalogue: Catalogue, settings: Settings) -> datetime:
    """A reopened case gets its full time limit again, counted from the reopening."""
    return compute_due(
        now,
        catalogue.get(case.category),
        CaseType(case.case_type),
        Urgency(case.urgency),
        settings.timezone,
    )


URGENCY_ORDER = sql_case(
    (Case.urgency == Urgency.EMERGENCY.value, 0),
    (Case.urgency == Urgency.URGENT.value, 1),
    else_=2,
)


def _filtered(flt: CaseFilter, now: datetime) -> Any:
    stmt = select(Case)
    if flt.statuses:
        stmt = stmt.where(Case.status.in_(list(flt.statuses)))
    for column, value in (
        (Case.category, flt.category),
        (Case.urgency, flt.urgency),
        (Case.department, flt.department),
        (Case.resident_ref, flt.resident_ref),
        (Case.channel, flt.channel),
    ):
        if value:
            stmt = stmt.where(column == value)
    if flt.assignee_id is not None:
        stmt = stmt.where(Case.assignee_id == flt.assignee_id)
    if flt.unassigned:
        stmt = stmt.where(Case.assignee_id.is_(None))
    if flt.overdue:
        stmt = stmt.where(Case.due_at < now).where(
            Case.status.in_([s.value for s in OPEN_STATUSES])
        )
    if flt.created_from:
        stmt = stmt.where(Case.created_at >= flt.created_from)
    if flt.created_to:
        stmt = stmt.where(Case.created_at < flt.created_to)
    text = (flt.text or "").strip()
    if text:
        like = f"%{text}%"
        conditions = [Case.number.ilike(like), Case.description.ilike(like)]
        if text.isdigit() and len(text) == 4:
            conditions.append(Case.phone.like(f"%{text}"))
        stmt = stmt.where(or_(*conditions))
    return stmt


def list_cases(
    session: Session, flt: CaseFilter | None = None, now: datetime | None = None
) -> list[Case]:
    """Cases matching the filter, most urgent first, then by deadline."""
    flt = flt or CaseFilter()
    stmt = (
        _filtered(flt, now or utcnow())
        .order_by(URGENCY_ORDER, Case.due_at, Case.id)
        .limit(flt.limit)
        .offset(flt.offset)
    )
    return list(session.scalars(stmt))


def count_by_status(
    session: Session, flt: CaseFilter | None = None, now: datetime | None = None
) -> dict[str, int]:
    """How many cases match the filter, per status."""
    flt = flt or CaseFilter()
    sub = _filtered(flt, now or utcnow()).subquery()
    rows = session.execute(select(sub.c.status, func.count()).group_by(sub.c.status))
    return {status: count for status, count in rows}


def is_overdue(case: Case, now: datetime | None = None) -> bool:
    """Whether an open case is past its deadline."""
    return CaseStatus(case.status) in OPEN_STATUSES and case.due_at < (now or utcnow())


def resident_cases(session: Session, resident_ref: str, open_only: bool = True) -> list[Case]:
    """A resident's own cases, newest first."""
    stmt = select(Case).where(Case.resident_ref == resident_ref).order_by(Case.id.desc())
    if open_only:
        stmt = stmt.where(Case.status.in_([s.value for s in OPEN_STATUSES | {CaseStatus.RESOLVED}]))
    return list(session.scalars(stmt))


def case_events(session: Session, case: Case) -> list[CaseEvent]:
    """A case's audit trail, oldest first."""
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
    )
