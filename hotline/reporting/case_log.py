"""The case log (督办查询): search over every case by any field, and the audit trail of users.

The filters read from and write to plain string parameters, so the dashboard can link every
figure to the case list behind it, and exports can repeat a search exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from hotline.casework.catalogue import get_catalogue
from hotline.casework.vocab import CaseType, Channel, Satisfaction, Urgency
from hotline.casework.workflow import OPEN_STATUSES, CaseStatus
from hotline.errors import ValidationError
from hotline.models import Case, CaseEvent, Conversation, User
from hotline.reporting.periods import MAX_PERIOD_DAYS, Period, parse_day, start_of_day

DATE_FIELDS = {
    "created": "登记时间",
    "accepted": "受理时间",
    "dispatched": "派单时间",
    "resolved": "办结时间",
    "closed": "归档时间",
    "updated": "最近更新",
}
"""The dates a search range can apply to, with their Chinese labels."""
_DATE_COLUMNS = {
    "created": Case.created_at,
    "accepted": Case.accepted_at,
    "dispatched": Case.dispatched_at,
    "resolved": Case.resolved_at,
    "closed": Case.closed_at,
    "updated": Case.updated_at,
}
FLAGS = {
    "overdue": "超时未办结",
    "extended": "已延期",
    "reopened": "重办过",
    "rerouted": "改过类别",
    "flagged": "居民不满意",
    "handoff": "转过人工",
    "anonymised": "已匿名化",
}
"""Yes/no filters (``1`` or ``0``), with their Chinese labels."""
MAX_TEXT = 100
MAX_LIST = 20
COMPLETED = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)
OPEN_VALUES = tuple(s.value for s in CaseStatus if s in OPEN_STATUSES)
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass
class LogFilter:
    """A case-log search. Empty fields do not filter.

    Attributes:
        q: Text in the number, description, location, resolution, name or rating comment.
        number: The case number, or its beginning.
        phone4: The last four digits of the phone.
        date_field: Which date ``first``/``last`` apply to (see :data:`DATE_FIELDS`).
        first: The first local day of the range (inclusive).
        last: The last local day of the range (inclusive).
        statuses: Any of these states.
        category: The current category.
        original_category: The category the case came in with.
        department: The responsible office.
        channel: Where the case came in.
        urgency: The urgency.
        case_type: 咨询, 求助…
        assignee: A username, or ``none`` for unassigned cases.
        satisfactions: Any of these follow-up answers, or ``none`` for no answer.
        topic: The consultation topic the assistant answered.
        on_time: True: completed by the deadline; False: completed late.
        resident: The resident's conversation id (``tg:…``, ``web:…``).
        flags: Yes/no filters by name (see :data:`FLAGS`).
    """

    q: str = ""
    number: str = ""
    phone4: str = ""
    date_field: str = "created"
    first: date | None = None
    last: date | None = None
    statuses: list[str] = field(default_factory=list)
    category: str = ""
    original_category: str = ""
    department: str = ""
    channel: str = ""
    urgency: str = ""
    case_type: str = ""
    assignee: str = ""
    satisfactions: list[str] = field(default_factory=list)
    topic: str = ""
    on_time: bool | None = None
    resident: str = ""
    flags: dict[str, bool] = field(default_factory=dict)

    def to_params(self) -> dict[str, str]:
        """The filter as query parameters (what :func:`parse_filter` reads back)."""
        params: dict[str, str] = {}
        for name in ("q", "number", "phone4"):
            if getattr(self, name):
                params[name] = getattr(self, name)
        if self.first or self.last:
            params["date"] = self.date_field
            if self.first:
                params["from"] = self.first.isoformat()
            if self.last:
                params["to"] = self.last.isoformat()
        if self.statuses:
            params["status"] = ",".join(self.statuses)
        for name in (
            "category",
            "original_category",
            "department",
            "channel",
            "urgency",
            "case_type",
            "assignee",
            "topic",
            "resident",
        ):
            if getattr(self, name):
                params[name] = getattr(self, name)
        if self.satisfactions:
            params["satisfaction"] = ",".join(self.satisfactions)
        if self.on_time is not None:
            params["on_time"] = "1" if self.on_time else "0"
        for name, value in self.flags.items():
            params[name] = "1" if value else "0"
        return params


PARAMS = (
    "q",
    "number",
    "phone4",
    "date",
    "from",
    "to",
    "status",
    "category",
    "original_category",
    "department",
    "channel",
    "urgency",
    "case_type",
    "assignee",
    "satisfaction",
    "topic",
    "on_time",
    "resident",
    *FLAGS,
)
"""Every query parameter of a case-log search."""


def _choice(value: str, allowed: list[str], name: str, what: str) -> str:
    if value and value not in allowed:
        raise ValidationError(name, f"未知的{what}「{value[:40]}」")
    return value


def _choices(value: str, allowed: list[str], name: str, what: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if len(items) > MAX_LIST:
        raise ValidationError(name, f"最多 {MAX_LIST} 项")
    return [_choice(v, allowed, name, what) for v in dict.fromkeys(items)]


def _flag(value: str, name: str) -> bool | None:
    lowered = value.lower()
    if not lowered:
        return None
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValidationError(name, "取值须为 1 或 0")


def parse_filter(params: Mapping[str, str]) -> LogFilter:
    """Reads a case-log search from query parameters (see :data:`PARAMS`).

    Raises:
        ValidationError: Naming the parameter at fault.
    """
    get = {k: (params.get(k) or "").strip() for k in PARAMS}
    for name in ("q", "number", "department", "assignee", "topic", "resident"):
        if len(get[name]) > MAX_TEXT:
            raise ValidationError(name, f"最多 {MAX_TEXT} 字")
    phone4 = get["phone4"]
    if phone4 and not (phone4.isdigit() and len(phone4) == 4):
        raise ValidationError("phone4", "电话后四位须为 4 位数字")
    date_field = _choice(get["date"] or "created", list(DATE_FIELDS), "date", "日期类型")
    first = parse_day(get["from"], "from") if get["from"] else None
    last = parse_day(get["to"], "to") if get["to"] else None
    if first and last and last < first:
        raise ValidationError("to", "结束日期不能早于开始日期")
    codes = get_catalogue().codes
    satisfactions = _choices(
        get["satisfaction"], [s.value for s in Satisfaction] + ["none"], "satisfaction", "评价"
    )
    on_time = _flag(get["on_time"], "on_time")
    return LogFilter(
        q=get["q"],
        number=get["number"].upper(),
        phone4=phone4,
        date_field=date_field,
        first=first,
        last=last,
        statuses=_choices(get["status"], [s.value for s in CaseStatus], "status", "状态"),
        category=_choice(get["category"], codes, "category", "服务类别"),
        original_category=_choice(get["original_category"], codes, "original_category", "类别"),
        department=get["department"],
        channel=_choice(get["channel"], [c.value for c in Channel], "channel", "渠道"),
        urgency=_choice(get["urgency"], [u.value for u in Urgency], "urgency", "紧急程度"),
        case_type=_choice(get["case_type"], [t.value for t in CaseType], "case_type", "类型"),
        assignee=get["assignee"],
        satisfactions=satisfactions,
        topic=get["topic"],
        on_time=on_time,
        resident=get["resident"],
        flags={name: value for name in FLAGS if (value := _flag(get[name], name)) is not None},
    )


def _range(flt: LogFilter, tz: Any) -> tuple[datetime | None, datetime | None]:
    start = start_of_day(flt.first, tz) if flt.first else None
    end = Period(flt.last, flt.last, tz).end if flt.last else None
    return start, end


def _statement(session: Session, flt: LogFilter, now: datetime, tz: Any) -> Select[Any]:
    stmt = select(Case)
    text = flt.q
    if text:
        like = f"%{text}%"
        columns = (
            Case.number,
            Case.description,
            Case.location,
            Case.resolution,
            Case.contact_name,
            Case.satisfaction_comment,
        )
        stmt = stmt.where(or_(*(c.ilike(like) for c in columns)))
    if flt.number:
        stmt = stmt.where(Case.number.like(f"{flt.number}%"))
    if flt.phone4:
        stmt = stmt.where(Case.phone.like(f"%{flt.phone4}"))
    start, end = _range(flt, tz)
    column = _DATE_COLUMNS[flt.date_field]
    if start is not None:
        stmt = stmt.where(column >= start)
    if end is not None:
        stmt = stmt.where(column < end)
    if flt.statuses:
        stmt = stmt.where(Case.status.in_(flt.statuses))
    for name in ("category", "original_category", "department", "channel", "urgency"):
        value = getattr(flt, name)
        if value:
            stmt = stmt.where(getattr(Case, name) == value)
    if flt.case_type:
        stmt = stmt.where(Case.case_type == flt.case_type)
    if flt.topic:
        stmt = stmt.where(Case.faq_topic == flt.topic)
    if flt.resident:
        stmt = stmt.where(Case.resident_ref == flt.resident)
    if flt.assignee == "none":
        stmt = stmt.where(Case.assignee_id.is_(None))
    elif flt.assignee:
        user_id = session.scalar(select(User.id).where(User.username == flt.assignee))
        stmt = stmt.where(Case.assignee_id == (user_id if user_id is not None else -1))
    if flt.satisfactions:
        answers = [s for s in flt.satisfactions if s != "none"]
        conditions = [Case.satisfaction.in_(answers)] if answers else []
        if "none" in flt.satisfactions:
            conditions.append(Case.satisfaction.is_(None))
        stmt = stmt.where(or_(*conditions))
    if flt.on_time is not None:
        stmt = stmt.where(Case.status.in_(COMPLETED), Case.resolved_at.is_not(None))
        stmt = stmt.where(
            Case.resolved_at <= Case.due_at if flt.on_time else Case.resolved_at > Case.due_at
        )
    return _flag_conditions(stmt, flt.flags, now)


def _flag_conditions(stmt: Select[Any], flags: dict[str, bool], now: datetime) -> Select[Any]:
    for name, wanted in flags.items():
        condition: ColumnElement[bool]
        if name == "overdue":
            condition = Case.status.in_(OPEN_VALUES) & (Case.due_at < now)
        elif name == "extended":
            condition = Case.extended.is_(True)
        elif name == "reopened":
            condition = Case.reopen_count > 0
        elif name == "rerouted":
            condition = Case.category != Case.original_category
        elif name == "flagged":
            condition = Case.flagged.is_(True)
        elif name == "anonymised":
            condition = Case.anonymised_at.is_not(None)
        else:  # handoff
            handed = select(Conversation.sender_id).where(Conversation.handoff_count > 0)
            # NOT IN on a NULL resident is NULL, not true: phone cases must count as "no".
            condition = Case.resident_ref.is_not(None) & Case.resident_ref.in_(handed)
        stmt = stmt.where(condition if wanted else ~condition)
    return stmt


def search(
    session: Session,
    flt: LogFilter,
    now: datetime,
    tz: Any,
    *,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Case], int]:
    """The cases matching a search, newest first, and how many match in all.

    Args:
        tz: The hotline's time zone, in which the date range's days are counted.
    """
    stmt = _statement(session, flt, now, tz)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    page = (
        stmt.options(selectinload(Case.assignee))
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(page)), total


@dataclass(frozen=True)
class AuditQuery:
    """An audit search: what one user (or anyone) did over some days.

    Attributes:
        actor: The account name (or resident id, or ``system`` name); empty: everyone.
        first: The first local day (inclusive).
        last: The last local day (inclusive).
        action: One audit action, e.g. ``reveal_phone``; empty: every action.
    """

    actor: str
    first: date
    last: date
    action: str = ""


def parse_audit(params: Mapping[str, str], today: date) -> AuditQuery:
    """Reads an audit search (``actor``, ``from``, ``to``, ``action``); the default range is
    the last 7 days.

    Raises:
        ValidationError: For a bad date, an inverted or too long range.
    """
    get = {k: (params.get(k) or "").strip() for k in ("actor", "from", "to", "action")}
    if len(get["actor"]) > 128 or len(get["action"]) > 32:
        raise ValidationError("actor", "内容过长")
    last = parse_day(get["to"], "to") if get["to"] else today
    first = (
        parse_day(get["from"], "from") if get["from"] else date.fromordinal(last.toordinal() - 6)
    )
    if last < first:
        raise ValidationError("to", "结束日期不能早于开始日期")
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationError("to", f"时间范围最长 {MAX_PERIOD_DAYS} 天")
    return AuditQuery(actor=get["actor"], first=first, last=last, action=get["action"])


def audit_events(
    session: Session, query: AuditQuery, tz: Any, *, limit: int = 500, offset: int = 0
) -> tuple[list[tuple[CaseEvent, str | None]], int]:
    """Audit events matching the query, newest first, with their case numbers (None for
    events about no case: accounts, exports, retention runs), and how many match in all."""
    period = Period(query.first, query.last, tz)
    stmt = select(CaseEvent, Case.number).outerjoin(Case, Case.id == CaseEvent.case_id)
    stmt = stmt.where(CaseEvent.at >= period.start, CaseEvent.at < period.end)
    if query.actor:
        stmt = stmt.where(CaseEvent.actor == query.actor)
    if query.action:
        stmt = stmt.where(CaseEvent.action == query.action)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.execute(
        stmt.order_by(CaseEvent.at.desc(), CaseEvent.id.desc()).limit(limit).offset(offset)
    )
    return [(event, number) for event, number in rows], total


def actors(session: Session) -> list[str]:
    """Every name that appears as an operator or system actor in the audit log."""
    rows = session.scalars(
        select(CaseEvent.actor).where(CaseEvent.actor_kind != "resident").distinct()
    )
    return sorted(set(rows))
