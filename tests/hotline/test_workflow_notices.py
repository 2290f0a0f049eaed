"""Which actions write a message to the resident, against a list written by hand.

``Transition.notify_resident`` in ``hotline/casework/workflow.py`` decides it; flipping one flag
must make one of these tests fail until the list here is changed too.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, apply_action
from hotline.casework.workflow import TRANSITIONS
from hotline.models import OutboxMessage, User
from tests.hotline.test_workflow_table import ALLOWED, STATUSES, case_in, params_for

TOLD = {
    "accept": "status",
    "dispatch": "status",
    "start": "status",
    "reply": "status",
    "resolve": "survey",
    "merge": "status",
    "reopen": "status",
    "cancel": "status",
}
"""The actions a resident hears about, with the outbox kind of the message."""


def _first_allowed(action: str) -> str:
    return next(s for s in STATUSES if ALLOWED[(s, action)])


def _messages(session: Session, case_id: int) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.case_id == case_id).order_by(OutboxMessage.id)
        )
    )


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
def test_each_action_tells_the_resident_or_not(session: Session, action: str) -> None:
    session.add(User(username="bob", role="operator", password_hash="x"))
    operator = session.scalar(select(User).where(User.username == "bob"))
    assert operator is not None
    target = case_in(session, "new", ref="tg:2002")
    case = case_in(session, _first_allowed(action))
    before = len(_messages(session, case.id))
    apply_action(
        session,
        case,
        action,
        Actor.operator("bob", operator.id),
        params_for(action, target.number),
    )
    new = _messages(session, case.id)[before:]
    if action in TOLD:
        assert [m.kind for m in new] == [TOLD[action]]
        named = target if action == "merge" else case
        assert named.number in new[0].text
    else:
        assert new == []


def test_the_flag_in_the_table_is_what_decides() -> None:
    assert {a for a, t in TRANSITIONS.items() if t.notify_resident} == set(TOLD)


def test_residents_are_not_told_what_they_did_themselves(session: Session) -> None:
    case = case_in(session, "new")
    apply_action(session, case, "cancel", Actor.resident("tg:1001"), ActionInput())
    assert case.status == "cancelled"
    assert _messages(session, case.id) == []
    other = case_in(session, "new")
    apply_action(session, other, "cancel", Actor.resident("tg:9999"), ActionInput())
    assert [m.kind for m in _messages(session, other.id)] == ["status"]
