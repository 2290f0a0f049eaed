"""Cases: creation, the workflow actions, the audit log and queries. Every front end calls this."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.casework import outbox
from hotline.casework.actors import Actor
from hotline.casework.catalogue import Catalogue, Category, get_catalogue
from hotline.casework.messages import format_local, status_message, survey_buttons, survey_message
from hotline.casework.numbering import next_case_number
from hotline.casework.phone import normalise_phone
from hotline.casework.sla import compute_due, extend_due
from hotline.casework.vocab import ActorKind, CaseType, Channel, Satisfaction, Urgency
from hotline.casework.workflow import OPEN_STATUSES, TRANSITIONS, CaseStatus
from hotline.config import Settings, load_settings
from hotline.errors import InvalidTransitionError, NotFoundError, ValidationError
from hotline.models import Case, CaseEvent, CategoryDepartment, User, utcnow

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
    """The resident agreed that the case may be published (see :mod:`hotline.channels.open311`)."""


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
    from hotline.casework import case_vectors as vectors

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
    from hotline.casework.co_reporters import notice_recipients

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


@dataclass
class _Notice:
    """A message for the resident: its text, outbox kind and payload (buttons)."""

    text: str | None
    kind: str = "status"
    payload: dict[str, Any] | None = None


@dataclass
class _Step:
    """One action being applied: what the handlers read, and what they leave for the end.

    Handlers change ``case``, fill ``data`` (the audit event's details) and ``wording`` (the
    fields of the resident's status message), and may replace ``target`` (the state after the
    action) or ``notice`` (a message other than the status message).
    """

    session: Session
    case: Case
    action: str
    actor: Actor
    params: ActionInput
    note: str | None
    now: datetime
    settings: Settings
    catalogue: Catalogue
    status: CaseStatus
    target: CaseStatus | None
    data: dict[str, Any] = field(default_factory=dict)
    wording: dict[str, str | None] = field(default_factory=dict)
    notice: _Notice | None = None
    co_text: str | None = None
    """What co-reporters are told instead of the status message, when it differs."""


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

    :data:`hotline.casework.workflow.TRANSITIONS` says where the action is allowed from, where it
    leads, whether it needs a note and whether the resident is told; the action's handler in
    :data:`ACTION_HANDLERS` does the rest.

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
            from hotline.casework.co_reporters import rate_as_co_reporter

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

    step = _Step(
        session=session,
        case=case,
        action=action,
        actor=actor,
        params=params,
        note=note,
        now=now,
        settings=settings,
        catalogue=catalogue,
        status=status,
        target=transition.target,
    )
    ACTION_HANDLERS[action](step)

    from_status = case.status
    if step.target is not None:
        case.status = step.target.value
    case.updated_at = now
    # Residents are not told about what they did themselves (the assistant already answered).
    # A co-reporter who acts (e.g. adds information) is not told either; the others are.
    if transition.notify_resident:
        notice = step.notice or _Notice(status_message(action, case.number, **step.wording))
        _notify(
            session,
            case,
            notice.text,
            notice.kind,
            notice.payload,
            skip=actor.name if actor.kind is ActorKind.RESIDENT else None,
            co_text=step.co_text,
        )
    record_event(
        session,
        case,
        actor,
        action,
        from_status=from_status,
        to_status=case.status,
        note=note,
        data=step.data or None,
        now=now,
    )
    session.flush()
    return case


def _is_co_reporter(session: Session, case: Case, actor: Actor) -> bool:
    """Whether the actor is a resident who joined this case as a co-reporter."""
    if actor.kind is not ActorKind.RESIDENT or actor.name == case.resident_ref:
        return False
    from hotline.casework.co_reporters import co_reporter

    return co_reporter(session, case, actor.name) is not None


def _accept(step: _Step) -> None:
    step.case.accepted_at = step.case.accepted_at or step.now


def _claim(step: _Step) -> None:
    if step.actor.user_id is None:
        raise ValidationError("actor", "认领需要操作员账号")
    step.data["assignee"] = step.actor.name
    step.case.assignee_id = step.actor.user_id


def _assign(step: _Step) -> None:
    user = _resolve_user(step.session, step.params.assignee)
    step.data["assignee"] = user.username
    step.case.assignee_id = user.id


def _reroute(step: _Step) -> None:
    case = step.case
    new_category = _category(step.catalogue, step.params.category)
    if new_category.code == case.category:
        raise ValidationError("category", f"工单已属于「{new_category.name}」")
    step.data.update({"from": case.category, "to": new_category.code})
    case.category = new_category.code
    case.department = default_department(step.session, new_category)
    case.due_at = _due(case, step.now, step.catalogue, step.settings)


def _set_urgency(step: _Step) -> None:
    case = step.case
    urgency = Urgency.parse(step.params.urgency or "", "urgency")
    step.data.update({"from": case.urgency, "to": urgency.value})
    case.urgency = urgency.value
    case.due_at = _due(case, step.now, step.catalogue, step.settings)


def _dispatch(step: _Step) -> None:
    case = step.case
    department = (step.params.department or "").strip() or default_department(
        step.session, step.catalogue.get(case.category)
    )
    step.data["department"] = department
    case.department = department
    case.dispatched_at = step.now
    step.wording.update(
        department=department, due=format_local(case.due_at, step.settings.timezone)
    )


def _start(step: _Step) -> None:
    step.wording["department"] = step.case.department


def _return(step: _Step) -> None:
    step.data["department"] = step.case.department


def _extend(step: _Step) -> None:
    case = step.case
    if case.extended:
        raise InvalidTransitionError(
            case.number, step.status.value, step.action, "每个工单只能延期一次"
        )
    days = (
        step.params.days
        or step.catalogue.get(case.category).time_limits.working_days[CaseType(case.case_type)]
    )
    if not 1 <= days <= 60:
        raise ValidationError("days", "延期天数须在 1～60 个工作日之间")
    step.data.update({"from": case.due_at.isoformat(), "days": days})
    case.due_at = extend_due(case.due_at, days, step.settings.timezone)
    step.data["to"] = case.due_at.isoformat()
    case.extended = True
    case.extension_reason = step.note


def _reply(step: _Step) -> None:
    step.wording["note"] = step.note


def _resolve(step: _Step) -> None:
    case = step.case
    case.resolution = step.note
    case.resolved_at = step.now
    step.notice = _Notice(
        survey_message(case.number, step.note or ""),
        "survey",
        {"buttons": survey_buttons(case.number)},
    )


def _merge(step: _Step) -> None:
    session, case, now = step.session, step.case, step.now
    target = get_case(session, step.params.target or "")
    if target.id == case.id:
        raise ValidationError("target", "不能合并到工单自身")
    if CaseStatus(target.status) not in OPEN_STATUSES | {CaseStatus.RESOLVED}:
        raise ValidationError("target", f"目标工单 {target.number} 已结束，不能合并")
    case.merged_into = target.number
    case.closed_at = now
    step.data["target"] = target.number
    step.wording["target"] = target.number
    from hotline.casework.co_reporters import absorb_merged

    # The merged case's residents keep hearing about their problem, from the target.
    joined = absorb_merged(session, case, target, now)
    record_event(
        session,
        target,
        step.actor,
        "merged_from",
        note=step.note,
        data={"source": case.number, "co_reporters": joined},
        now=now,
    )


def _reopen(step: _Step) -> None:
    case = step.case
    case.reopen_count += 1
    case.closed_at = None
    case.due_at = _restart_clock(case, step.now, step.catalogue, step.settings)
    step.data["due"] = case.due_at.isoformat()


def _close(step: _Step) -> None:
    step.case.closed_at = step.now


def _cancel(step: _Step) -> None:
    from hotline.casework.duplicate_wording import CO_REPORTER_CANCELLED

    step.case.closed_at = step.now
    step.co_text = CO_REPORTER_CANCELLED.format(number=step.case.number)


def _rate(step: _Step) -> None:
    case = step.case
    rating = Satisfaction.parse(step.params.rating or "", "rating")
    case.satisfaction = rating.value
    case.satisfaction_comment = step.note
    step.data["rating"] = rating.value
    if rating is Satisfaction.DISSATISFIED:
        step.target = CaseStatus.IN_PROGRESS
        case.reopen_count += 1
        case.flagged = True
        case.due_at = _restart_clock(case, step.now, step.catalogue, step.settings)
        step.data["due"] = case.due_at.isoformat()
    else:
        step.target = CaseStatus.CLOSED
        case.closed_at = step.now


def _event_only(step: _Step) -> None:
    """Actions that change nothing on the case: their audit event is all they write."""


ACTION_HANDLERS: dict[str, Callable[[_Step], None]] = {
    "accept": _accept,
    "claim": _claim,
    "assign": _assign,
    "reroute": _reroute,
    "set_urgency": _set_urgency,
    "dispatch": _dispatch,
    "start": _start,
    "return": _return,
    "extend": _extend,
    "note": _event_only,
    "reply": _reply,
    "resolve": _resolve,
    "merge": _merge,
    "reopen": _reopen,
    "close": _close,
    "cancel": _cancel,
    "rate": _rate,
    "add_info": _event_only,
}
"""What each action of :data:`hotline.casework.workflow.TRANSITIONS` does beyond the state
change."""
if ACTION_HANDLERS.keys() != TRANSITIONS.keys():
    raise RuntimeError("ACTION_HANDLERS and TRANSITIONS name different actions")


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
