"""Every status × action pair against a table written by hand, not read from ``TRANSITIONS``.

The table is the product's rule book: changing ``hotline/casework/workflow.py`` (for example
allowing
``close`` from ``in_progress``) must make one of these tests fail until the table is changed too.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, NewCase, apply_action, create_case
from hotline.casework.workflow import TRANSITIONS, CaseStatus
from hotline.errors import InvalidTransitionError
from hotline.models import Case, CaseEvent, User

STATUSES = ("new", "accepted", "dispatched", "in_progress", "resolved", "closed", "returned",
            "cancelled")  # fmt: skip

# One row per action; one column per status above. Y: allowed, .: refused.
#                    new acc dis inp res clo ret can
TABLE = """
accept               Y   .   .   .   .   .   Y   .
claim                Y   Y   Y   Y   .   .   Y   .
assign               Y   Y   Y   Y   .   .   Y   .
reroute              Y   Y   .   .   .   .   Y   .
set_urgency          Y   Y   Y   Y   .   .   Y   .
dispatch             .   Y   .   .   .   .   Y   .
start                .   .   Y   .   .   .   .   .
return               .   .   Y   Y   .   .   .   .
extend               .   .   Y   Y   .   .   .   .
note                 Y   Y   Y   Y   Y   Y   Y   Y
reply                Y   Y   Y   Y   Y   Y   Y   .
resolve              .   .   Y   Y   .   .   .   .
merge                Y   Y   Y   Y   .   .   Y   .
reopen               .   .   .   .   Y   Y   .   .
close                .   .   .   .   Y   .   .   .
cancel               Y   Y   .   .   .   .   Y   .
rate                 .   .   .   .   Y   .   .   .
add_info             Y   Y   Y   Y   .   .   Y   .
"""

# Where an allowed action leads; actions not listed keep the status.
TARGET = {
    "accept": "accepted",
    "dispatch": "dispatched",
    "start": "in_progress",
    "return": "returned",
    "resolve": "resolved",
    "merge": "closed",
    "reopen": "in_progress",
    "close": "closed",
    "cancel": "cancelled",
    "rate": "closed",  # with a satisfied rating
}

# The actions that bring a new case to each status.
PATH = {
    "new": (),
    "accepted": ("accept",),
    "dispatched": ("accept", "dispatch"),
    "in_progress": ("accept", "dispatch", "start"),
    "resolved": ("accept", "dispatch", "start", "resolve"),
    "closed": ("accept", "dispatch", "start", "resolve", "close"),
    "returned": ("accept", "dispatch", "return"),
    "cancelled": ("cancel",),
}


def parse_table() -> dict[tuple[str, str], bool]:
    """``(status, action) -> allowed`` from the hand-written table."""
    allowed = {}
    for line in TABLE.strip().splitlines():
        action, *cells = line.split()
        assert len(cells) == len(STATUSES), line
        for status, cell in zip(STATUSES, cells, strict=True):
            assert cell in "Y.", line
            allowed[(status, action)] = cell == "Y"
    return allowed


ALLOWED = parse_table()
PAIRS = sorted(ALLOWED)


def params_for(action: str, merge_target: str) -> ActionInput:
    """Parameters that satisfy every action's own checks, so only the state decides."""
    return ActionInput(
        note="测试说明",
        category="mediation",
        urgency="urgent",
        assignee="bob",
        target=merge_target,
        rating="满意",
    )


def case_in(session: Session, status: str, ref: str = "tg:1001") -> Case:
    """A case brought to ``status`` through the core's own actions."""
    case, _ = create_case(
        session,
        NewCase(
            category="city_management",
            description="我家楼下的路灯坏了好几天了",
            phone="13812345678",
            location="幸福小区3栋",
            channel="telegram",
            resident_ref=ref,
        ),
        Actor.resident(ref),
    )
    for step in PATH[status]:
        apply_action(session, case, step, Actor.system("test"), ActionInput(note="测试说明"))
    assert case.status == status
    return case


def test_the_table_covers_every_status_and_action_of_the_workflow() -> None:
    assert set(STATUSES) == {s.value for s in CaseStatus} and len(STATUSES) == 8
    assert {a for _, a in ALLOWED} == set(TRANSITIONS) and len(TRANSITIONS) == 18
    assert len(ALLOWED) == 8 * 18


@pytest.mark.parametrize(("status", "action"), PAIRS)
def test_each_pair_in_the_core(session: Session, status: str, action: str) -> None:
    session.add(User(username="bob", role="operator", password_hash="x"))
    operator = session.scalar(select(User).where(User.username == "bob"))
    assert operator is not None
    target = case_in(session, "new", ref="tg:2002")
    case = case_in(session, status)
    events = session.scalar(select(func.count()).select_from(CaseEvent))
    actor = Actor.operator("bob", operator.id)
    if ALLOWED[(status, action)]:
        apply_action(session, case, action, actor, params_for(action, target.number))
        assert case.status == TARGET.get(action, status)
    else:
        with pytest.raises(InvalidTransitionError):
            apply_action(session, case, action, actor, params_for(action, target.number))
        assert case.status == status
        assert session.scalar(select(func.count()).select_from(CaseEvent)) == events
