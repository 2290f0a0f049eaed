"""Case states and the transitions between them, by action name. The one place they live."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.casework.vocab import LABELS, LabelledEnum


class CaseStatus(LabelledEnum):
    """The states of a case (工单) in the closed loop."""

    NEW = "new"
    ACCEPTED = "accepted"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    RETURNED = "returned"
    CANCELLED = "cancelled"


LABELS[CaseStatus.__name__] = {
    "new": "待受理",
    "accepted": "已受理",
    "dispatched": "已派单",
    "in_progress": "办理中",
    "resolved": "已办结",
    "closed": "已归档",
    "returned": "退回",
    "cancelled": "已撤回",
}
S = CaseStatus
OPEN_STATUSES = frozenset({S.NEW, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.RETURNED})
"""States in which the case still needs work; residents see these as 'open'."""
FINAL_STATUSES = frozenset({S.CLOSED, S.CANCELLED})
ALL_STATUSES = frozenset(S)
BEFORE_DISPATCH = frozenset({S.NEW, S.ACCEPTED, S.RETURNED})
WITH_OFFICE = frozenset({S.DISPATCHED, S.IN_PROGRESS})


@dataclass(frozen=True)
class Transition:
    """What one action does.

    Attributes:
        action: The action name used by the CLI, the API and the audit log.
        label: The Chinese label operators see.
        sources: The states the action is allowed from.
        target: The state after the action; None keeps the current state.
        notify_resident: Whether the resident is told (an outbox message is written).
        needs_note: Whether a reason or text is required.
    """

    action: str
    label: str
    sources: frozenset[CaseStatus]
    target: CaseStatus | None = None
    notify_resident: bool = False
    needs_note: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("accept", "受理", frozenset({S.NEW, S.RETURNED}), S.ACCEPTED, True),
        Transition("claim", "认领", OPEN_STATUSES),
        Transition("assign", "指派", OPEN_STATUSES),
        Transition("reroute", "改派类别", BEFORE_DISPATCH, needs_note=True),
        Transition("set_urgency", "设置紧急程度", OPEN_STATUSES),
        Transition("dispatch", "派单", frozenset({S.ACCEPTED, S.RETURNED}), S.DISPATCHED, True),
        Transition("start", "办理中", frozenset({S.DISPATCHED}), S.IN_PROGRESS, True),
        Transition("return", "退单", WITH_OFFICE, S.RETURNED, needs_note=True),
        Transition("extend", "申请延期", WITH_OFFICE, needs_note=True),
        Transition("note", "内部备注", ALL_STATUSES, needs_note=True),
        Transition("reply", "回复居民", ALL_STATUSES - {S.CANCELLED}, None, True, True),
        Transition("resolve", "办结", WITH_OFFICE, S.RESOLVED, True, True),
        Transition("merge", "合并", OPEN_STATUSES, S.CLOSED, True),
        Transition("reopen", "重开", frozenset({S.RESOLVED, S.CLOSED}), S.IN_PROGRESS, True),
        Transition("close", "归档", frozenset({S.RESOLVED}), S.CLOSED),
        Transition("cancel", "撤回", BEFORE_DISPATCH, S.CANCELLED, True),
        Transition("rate", "回访评价", frozenset({S.RESOLVED})),
        Transition("add_info", "补充情况", OPEN_STATUSES, needs_note=True),
    )
}
"""Every action a case accepts. ``rate`` and ``add_info`` come from residents."""

OPERATOR_ACTIONS = (
    "accept",
    "claim",
    "assign",
    "reroute",
    "set_urgency",
    "dispatch",
    "start",
    "return",
    "extend",
    "note",
    "reply",
    "resolve",
    "merge",
    "reopen",
    "close",
)
"""The actions operators and the JSON API may perform, in the order the console shows them."""


def allowed_actions(status: CaseStatus, actions: tuple[str, ...] = OPERATOR_ACTIONS) -> list[str]:
    """The actions allowed from a state, in display order."""
    return [a for a in actions if status in TRANSITIONS[a].sources]
