"""Supervisor statistics (督办): pure queries over a period and filters, no side effects.

Which cases a figure counts, so that every number can be reproduced as a case list
(:mod:`hotline.reporting.case_log` has the matching filters):

- volumes, routing quality and consultation topics: cases *registered* in the period;
- on-time completion, time to resolve: cases *resolved* in the period and now 已办结 or
  已归档 (a case reopened since is not counted as completed);
- satisfaction and reopen rate: cases resolved in the period, whatever their state now;
- time to accept: cases *accepted* in the period;
- the overdue list: open cases past their deadline now, whatever the period (all counted,
  the longest overdue listed);
- handoff: conversations with a message in the period, and handoffs requested in it;
- workload: cases registered in the period per assignee, and the actions operators took
  in the period.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import Session, selectinload

from hotline.casework.vocab import ActorKind, Satisfaction
from hotline.casework.workflow import OPEN_STATUSES, TRANSITIONS, CaseStatus
from hotline.config import load_settings
from hotline.models import Case, CaseEvent, Conversation, ConversationMessage, User
from hotline.reporting.periods import Period

COMPLETED_STATUSES = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)
OPEN_VALUES = tuple(s.value for s in CaseStatus if s in OPEN_STATUSES)
SATISFIED_VALUES = (
    Satisfaction.VERY_SATISFIED.value,
    Satisfaction.SATISFIED.value,
    Satisfaction.BASICALLY_SATISFIED.value,
)
WORK_ACTIONS = frozenset({"create", *TRANSITIONS})
"""Audit actions that count as work on a case (not e.g. looking at a phone number)."""
NO_DEPARTMENT = "（未指定）"
OVERDUE_LISTED = 50
"""How many of the longest-overdue cases the dashboard lists; the case log has them all."""
REASON_ACTIONS = ("return", "extend", "reroute", "note")
"""Audit actions whose note explains why a case is late, most telling first."""


@dataclass(frozen=True)
class StatsFilter:
    """The dashboard's filters; None does not filter."""

    category: str | None = None
    department: str | None = None


@dataclass(frozen=True)
class Ratio:
    """A share: ``part`` of ``whole``."""

    part: int
    whole: int

    @property
    def rate(self) -> float | None:
        """``part / whole``, or None when there is nothing to divide."""
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class DepartmentTimeliness:
    """On-time completion of one office."""

    department: str
    completed: int
    on_time: int
    median_resolve_seconds: float | None

    @property
    def late(self) -> int:
        """Cases completed after their deadline."""
        return self.completed - self.on_time

    @property
    def rate(self) -> float | None:
        """The on-time rate, or None without completed cases."""
        return self.on_time / self.completed if self.completed else None


@dataclass(frozen=True)
class Median:
    """A median duration and how many cases it is taken over."""

    seconds: float | None
    count: int


@dataclass(frozen=True)
class OverdueCase:
    """One row of the overdue list (督办)."""

    number: str
    status: str
    category: str
    department: str
    assignee: str
    due_at: datetime
    overdue_seconds: float
    extended: bool
    extension_reason: str | None
    reason: str | None
    reason_action: str | None


@dataclass(frozen=True)
class SatisfactionStats:
    """Follow-up answers (回访) of the cases resolved in the period."""

    counts: dict[str, int]
    resolved: int

    @property
    def answered(self) -> int:
        """How many residents answered."""
        return sum(self.counts.values())

    @property
    def satisfied(self) -> int:
        """非常满意 + 满意 + 基本满意."""
        return sum(self.counts.get(v, 0) for v in SATISFIED_VALUES)

    @property
    def rate(self) -> float | None:
        """Satisfied answers over all answers."""
        return self.satisfied / self.answered if self.answered else None

    @property
    def response_rate(self) -> float | None:
        """Answers over resolved cases."""
        return self.answered / self.resolved if self.resolved else None


@dataclass(frozen=True)
class RoutingStats:
    """How often operators changed the category the case came in with."""

    total: int
    changed: int
    matrix: dict[tuple[str, str], int]

    @property
    def rate(self) -> float | None:
        """The share of cases whose category was changed."""
        return self.changed / self.total if self.total else None


@dataclass(frozen=True)
class HandoffStats:
    """Conversations handed to a human, and how long residents waited."""

    conversations: int
    handed_off: int
    median_wait: Median

    @property
    def rate(self) -> float | None:
        """Handoffs requested in the period over conversations active in it."""
        return self.handed_off / self.conversations if self.conversations else None


@dataclass(frozen=True)
class OperatorLoad:
    """One operator's work in the period."""

    username: str
    display_name: str
    assigned: int
    open_now: int
    actions: int
    resolved: int


@dataclass
class Dashboard:
    """Every figure of the supervisor dashboard for one period and filter."""

    period: Period
    filter: StatsFilter
    now: datetime
    target: float
    registered: int
    open_now: int
    by_day: dict[date, dict[str, int]]
    by_category: list[tuple[str, int]]
    by_channel: list[tuple[str, int]]
    by_status: list[tuple[str, int]]
    by_department: list[tuple[str, int]]
    timeliness: list[DepartmentTimeliness]
    on_time: Ratio
    time_to_accept: Median
    time_to_resolve: Median
    overdue: list[OverdueCase]
    """The longest-overdue open cases, at most :data:`OVERDUE_LISTED`."""
    overdue_total: int
    """Every open case past its deadline now."""
    extended: int
    satisfaction: SatisfactionStats
    reopen: Ratio
    routing: RoutingStats
    handoff: HandoffStats
    topics: list[tuple[str, int]]
    workload: list[OperatorLoad]
    notes: list[str] = field(default_factory=list)


def _filtered(stmt: Select[Any], flt: StatsFilter) -> Select[Any]:
    if flt.category:
        stmt = stmt.where(Case.category == flt.category)
    if flt.department:
        stmt = stmt.where(Case.department == flt.department)
    return stmt


def _in(column: Any, period: Period) -> Any:
    return column.is_not(None) & (column >= period.start) & (column < period.end)


def registered_count(session: Session, period: Period, flt: StatsFilter) -> int:
    """Cases registered in the period."""
    stmt = _filtered(select(func.count(Case.id)), flt).where(_in(Case.created_at, period))
    return int(session.scalar(stmt) or 0)


def open_count(session: Session, flt: StatsFilter) -> int:
    """Cases still being handled now (the backlog), whatever the period."""
    stmt = _filtered(select(func.count(Case.id)), flt).where(Case.status.in_(OPEN_VALUES))
    return int(session.scalar(stmt) or 0)


def volume_by_day(session: Session, period: Period, flt: StatsFilter) -> dict[date, dict[str, int]]:
    """Cases registered per local day and category; every day of the period is present."""
    rows = session.execute(
        _filtered(select(Case.created_at, Case.category), flt).where(_in(Case.created_at, period))
    )
    result: dict[date, dict[str, int]] = {day: {} for day in period.days}
    for created_at, category in rows:
        bucket = result.setdefault(period.local_day(created_at), {})
        bucket[category] = bucket.get(category, 0) + 1
    return result


GROUPABLE = {
    "category": Case.category,
    "channel": Case.channel,
    "status": Case.status,
    "department": Case.department,
}


def counts_by(session: Session, period: Period, flt: StatsFilter, by: str) -> list[tuple[str, int]]:
    """Cases registered in the period, counted by ``category``, ``channel``, ``status`` or
    ``department``; largest first (a missing department counts as :data:`NO_DEPARTMENT`)."""
    column = GROUPABLE[by]
    stmt = _filtered(select(column, func.count(Case.id)), flt).where(_in(Case.created_at, period))
    counts: Counter[str] = Counter()
    for key, count in session.execute(stmt.group_by(column)):
        counts[key or NO_DEPARTMENT] += int(count)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _completed(session: Session, period: Period, flt: StatsFilter) -> list[Any]:
    stmt = _filtered(
        select(Case.department, Case.created_at, Case.resolved_at, Case.due_at), flt
    ).where(_in(Case.resolved_at, period), Case.status.in_(COMPLETED_STATUSES))
    return list(session.execute(stmt))


def _median(values: list[float]) -> Median:
    return Median(statistics.median(values) if values else None, len(values))


def timeliness(
    session: Session, period: Period, flt: StatsFilter
) -> tuple[list[DepartmentTimeliness], Ratio, Median]:
    """On-time completion per office, overall, and the median time to resolve.

    A case is on time when it was resolved at or before its deadline (an extension moves
    the deadline).

    Returns:
        Per office (most completed first), the overall ratio, the overall median.
    """
    per: dict[str, list[tuple[bool, float]]] = defaultdict(list)
    for department, created_at, resolved_at, due_at in _completed(session, period, flt):
        seconds = (resolved_at - created_at).total_seconds()
        per[department or NO_DEPARTMENT].append((resolved_at <= due_at, seconds))
    rows = [
        DepartmentTimeliness(
            department=name,
            completed=len(items),
            on_time=sum(1 for ok, _ in items if ok),
            median_resolve_seconds=statistics.median(s for _, s in items),
        )
        for name, items in per.items()
    ]
    rows.sort(key=lambda r: (-r.completed, r.department))
    overall = Ratio(sum(r.on_time for r in rows), sum(r.completed for r in rows))
    durations = [s for items in per.values() for _, s in items]
    return rows, overall, _median(durations)


def time_to_accept(session: Session, period: Period, flt: StatsFilter) -> Median:
    """Median time from registration to acceptance (受理), over cases accepted in the period."""
    stmt = _filtered(select(Case.created_at, Case.accepted_at), flt).where(
        _in(Case.accepted_at, period)
    )
    return _median([(a - c).total_seconds() for c, a in session.execute(stmt)])


def _overdue(stmt: Select[Any], flt: StatsFilter, now: datetime) -> Select[Any]:
    return _filtered(stmt, flt).where(Case.status.in_(OPEN_VALUES), Case.due_at < now)


def overdue_count(session: Session, flt: StatsFilter, now: datetime) -> int:
    """Open cases past their deadline now, whatever the period."""
    return int(session.scalar(_overdue(select(func.count(Case.id)), flt, now)) or 0)


def overdue_cases(
    session: Session, flt: StatsFilter, now: datetime, limit: int = OVERDUE_LISTED
) -> list[OverdueCase]:
    """The ``limit`` open cases longest past their deadline, longest first, with the latest
    reason given (a return, an extension, a re-routing or a note) and any extension."""
    stmt = (
        _overdue(select(Case), flt, now)
        .options(selectinload(Case.assignee))
        .order_by(Case.due_at, Case.id)
        .limit(limit)
    )
    cases = list(session.scalars(stmt))
    reasons: dict[int, tuple[str, str]] = {}
    if cases:
        events = session.execute(
            select(CaseEvent.case_id, CaseEvent.action, CaseEvent.note)
            .where(CaseEvent.case_id.in_([c.id for c in cases]))
            .where(CaseEvent.action.in_(REASON_ACTIONS), CaseEvent.note.is_not(None))
            .order_by(CaseEvent.id)
        )
        best: dict[int, tuple[int, int, str, str]] = {}
        for index, (case_id, action, note) in enumerate(events):
            rank = REASON_ACTIONS.index(action)
            current = best.get(case_id)
            # Prefer the most telling kind of reason; among equals, the latest.
            if current is None or rank < current[0] or (rank == current[0] and index > current[1]):
                best[case_id] = (rank, index, action, note)
        reasons = {k: (v[2], v[3]) for k, v in best.items()}
    result = []
    for case in cases:
        action, note = reasons.get(case.id, (None, None))
        result.append(
            OverdueCase(
                number=case.number,
                status=case.status,
                category=case.category,
                department=case.department or NO_DEPARTMENT,
                assignee=case.assignee.display_name if case.assignee else "",
                due_at=case.due_at,
                overdue_seconds=(now - case.due_at).total_seconds(),
                extended=case.extended,
                extension_reason=case.extension_reason,
                reason=note,
                reason_action=action,
            )
        )
    return result


def extended_count(session: Session, period: Period, flt: StatsFilter) -> int:
    """Cases registered in the period that were given an extension (延期)."""
    stmt = _filtered(select(func.count(Case.id)), flt).where(
        _in(Case.created_at, period), Case.extended.is_(True)
    )
    return int(session.scalar(stmt) or 0)


def _resolved_in(period: Period, flt: StatsFilter, *columns: Any) -> Select[Any]:
    return _filtered(select(*columns), flt).where(_in(Case.resolved_at, period))


def satisfaction(session: Session, period: Period, flt: StatsFilter) -> SatisfactionStats:
    """The follow-up answers of the cases resolved in the period."""
    counts = {s.value: 0 for s in Satisfaction}
    resolved = 0
    for (value,) in session.execute(_resolved_in(period, flt, Case.satisfaction)):
        resolved += 1
        if value in counts:
            counts[value] += 1
    return SatisfactionStats(counts=counts, resolved=resolved)


def reopen_rate(session: Session, period: Period, flt: StatsFilter) -> Ratio:
    """Cases resolved in the period that were reopened (重办) at least once."""
    rows = list(session.execute(_resolved_in(period, flt, Case.reopen_count)))
    return Ratio(sum(1 for (count,) in rows if count), len(rows))


def routing_quality(session: Session, period: Period, flt: StatsFilter) -> RoutingStats:
    """The share of cases registered in the period whose category operators changed, and
    the changes as a from → to matrix."""
    stmt = _filtered(select(Case.original_category, Case.category), flt).where(
        _in(Case.created_at, period)
    )
    total = 0
    matrix: Counter[tuple[str, str]] = Counter()
    for original, current in session.execute(stmt):
        total += 1
        if original != current:
            matrix[(original, current)] += 1
    return RoutingStats(total=total, changed=sum(matrix.values()), matrix=dict(matrix))


def handoff_stats(session: Session, period: Period) -> HandoffStats:
    """Handoffs to a human: requested in the period over conversations with a message in it,
    and the median wait from the request to an operator taking the conversation.

    Conversations have no category or office, so the dashboard's filters do not apply.
    """
    active = set(
        session.scalars(
            select(distinct(ConversationMessage.sender_id)).where(
                _in(ConversationMessage.created_at, period)
            )
        )
    )
    handed = list(
        session.execute(
            select(Conversation.sender_id, Conversation.requested_at, Conversation.taken_at).where(
                Conversation.handoff_count > 0, _in(Conversation.requested_at, period)
            )
        )
    )
    waits = [
        (taken - requested).total_seconds()
        for _, requested, taken in handed
        if taken is not None and taken >= requested
    ]
    return HandoffStats(
        conversations=len(active | {sender for sender, _, _ in handed}),
        handed_off=len(handed),
        median_wait=_median(waits),
    )


def consultation_topics(
    session: Session, period: Period, flt: StatsFilter, limit: int = 15
) -> list[tuple[str, int]]:
    """The questions the assistant answered (咨询 topics), most asked first."""
    stmt = (
        _filtered(select(Case.faq_topic, func.count(Case.id)), flt)
        .where(_in(Case.created_at, period), Case.faq_topic.is_not(None))
        .group_by(Case.faq_topic)
    )
    rows = [(str(topic), int(count)) for topic, count in session.execute(stmt)]
    return sorted(rows, key=lambda kv: (-kv[1], kv[0]))[:limit]


def workload(session: Session, period: Period, flt: StatsFilter) -> list[OperatorLoad]:
    """Per operator: cases registered in the period assigned to them, their open cases now,
    the work actions they took in the period and the cases they resolved in it."""
    per_assignee = _filtered(select(Case.assignee_id, func.count(Case.id)), flt).where(
        Case.assignee_id.is_not(None)
    )
    assigned: dict[int, int] = {
        user_id: int(count)
        for user_id, count in session.execute(
            per_assignee.where(_in(Case.created_at, period)).group_by(Case.assignee_id)
        )
    }
    open_now: dict[int, int] = {
        user_id: int(count)
        for user_id, count in session.execute(
            per_assignee.where(Case.status.in_(OPEN_VALUES)).group_by(Case.assignee_id)
        )
    }
    events = (
        select(CaseEvent.actor, CaseEvent.action)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(
            _in(CaseEvent.at, period),
            CaseEvent.actor_kind == ActorKind.OPERATOR.value,
            CaseEvent.action.in_(sorted(WORK_ACTIONS)),
        )
    )
    actions: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    for actor, action in session.execute(_filtered(events, flt)):
        actions[actor] += 1
        if action == "resolve":
            resolved[actor] += 1
    users = {u.id: u for u in session.scalars(select(User))}
    by_name = {u.username: u for u in users.values()}
    names = set(actions) | {users[i].username for i in (*assigned, *open_now) if i in users}
    rows = []
    for name in names:
        user = by_name.get(name)
        rows.append(
            OperatorLoad(
                username=name,
                display_name=(user.display_name or name) if user else name,
                assigned=int(assigned.get(user.id, 0)) if user else 0,
                open_now=int(open_now.get(user.id, 0)) if user else 0,
                actions=actions.get(name, 0),
                resolved=resolved.get(name, 0),
            )
        )
    rows.sort(key=lambda r: (-r.actions, -r.assigned, r.username))
    return rows


def dashboard(
    session: Session,
    period: Period,
    flt: StatsFilter,
    now: datetime,
    target: float | None = None,
) -> Dashboard:
    """Computes every figure of the dashboard.

    Args:
        session: A database session (only read from).
        period: The local days reported on.
        flt: Category and office filters.
        now: The current instant (for the overdue list and the backlog).
        target: The on-time target (default: the settings' ``on_time_target``).
    """
    per_department, on_time, resolve_median = timeliness(session, period, flt)
    return Dashboard(
        period=period,
        filter=flt,
        now=now,
        target=target if target is not None else load_settings().on_time_target,
        registered=registered_count(session, period, flt),
        open_now=open_count(session, flt),
        by_day=volume_by_day(session, period, flt),
        by_category=counts_by(session, period, flt, "category"),
        by_channel=counts_by(session, period, flt, "channel"),
        by_status=counts_by(session, period, flt, "status"),
        by_department=counts_by(session, period, flt, "department"),
        timeliness=per_department,
        on_time=on_time,
        time_to_accept=time_to_accept(session, period, flt),
        time_to_resolve=resolve_median,
        overdue=overdue_cases(session, flt, now, OVERDUE_LISTED),
        overdue_total=overdue_count(session, flt, now),
        extended=extended_count(session, period, flt),
        satisfaction=satisfaction(session, period, flt),
        reopen=reopen_rate(session, period, flt),
        routing=routing_quality(session, period, flt),
        handoff=handoff_stats(session, period),
        topics=consultation_topics(session, period, flt),
        workload=workload(session, period, flt),
    )
