"""Co-reporters: joining a case, notices and the survey, ratings, withdrawal, merges."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.actors import Actor
from hotline.cases import ActionInput, apply_action, case_events
from hotline.errors import InvalidTransitionError, NotFoundError, ValidationError
from hotline.models import CaseReporter, OutboxMessage
from hotline.resident import (
    open_cases,
    owned_case,
    rate_case,
    reported_case,
    save_rating_comment,
    visible_case,
    withdrawable_cases,
)
from hotline.self_service import status_text
from hotline.similarity import co_reporters, join_as_co_reporter
from hotline.vocab import Satisfaction
from tests.hotline.similarity.conftest import NOW, act, log

FIRST, SECOND, THIRD = "tg:1001", "web:abc2002", "tg:3003"


def join(session: Session, number: str, who: str = SECOND, phone: str | None = "13900001111"):  # type: ignore[no-untyped-def]
    return join_as_co_reporter(
        session,
        number,
        who,
        "web" if who.startswith("web") else "telegram",
        description="我家门口那盏路灯也不亮",
        phone=phone,
        contact_name="李女士",
        now=NOW,
    )


def messages(session: Session, recipient: str) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == recipient)
            .order_by(OutboxMessage.id)
        )
    )


def test_joining_adds_a_reporter_row_and_an_audit_event_but_no_case(db: Session) -> None:
    case = log(db, "幸福小区3栋门口的路灯坏了", "幸福小区3栋", resident=FIRST)
    joined = join(db, case.number.lower())
    assert joined.id == case.id
    [row] = co_reporters(db, case)
    assert (row.resident_ref, row.channel, row.contact_name, row.phone) == (
        SECOND,
        "web",
        "李女士",
        "+8613900001111",
    )
    event = case_events(db, case)[-1]
    assert (event.action, event.actor_kind, event.actor) == ("co_reported", "resident", SECOND)
    assert event.data == {"channel": "web", "phone": "139****1111"}
    assert "13900001111" not in str(event.data) and event.note == "我家门口那盏路灯也不亮"


def test_joining_is_idempotent_and_the_reporter_cannot_join_their_own_case(db: Session) -> None:
    case = log(db, "路灯坏了", "幸福小区3栋", resident=FIRST)
    join(db, case.number)
    join(db, case.number)
    join(db, case.number, who=FIRST)
    assert [r.resident_ref for r in co_reporters(db, case)] == [SECOND]
    assert [e.action for e in case_events(db, case)].count("co_reported") == 1


def test_only_open_cases_can_be_joined_and_bad_input_is_refused(db: Session) -> None:
    case = act(
        db, log(db, "路灯坏了", "幸福小区3栋", resident=FIRST), "accept", "dispatch", "resolve"
    )
    with pytest.raises(InvalidTransitionError):
        join(db, case.number)
    with pytest.raises(NotFoundError):
        join(db, "SQ20990101-0001")
    open_case = log(db, "路灯坏了", "幸福小区5栋", resident=FIRST)
    with pytest.raises(ValidationError):
        join(db, open_case.number, phone="12")
    with pytest.raises(ValidationError):
        join_as_co_reporter(
            db, open_case.number, SECOND, "pigeon", description="", phone=None, contact_name=None
        )
    assert co_reporters(db, open_case) == []


def test_progress_notices_and_the_survey_reach_every_reporter(db: Session) -> None:
    case = log(db, "路灯坏了", "幸福小区3栋", resident=FIRST)
    join(db, case.number)
    join(db, case.number, who=THIRD, phone=None)
    act(db, case, "accept", "dispatch", "resolve")
    for who in (FIRST, SECOND, THIRD):
        kinds = [(m.kind, m.case_id) for m in messages(db, who)]
        assert kinds == [
            ("status", case.id),
            ("status", case.id),
            ("survey", case.id),
        ], who
        survey = messages(db, who)[-1]
        assert survey.payload and survey.payload["buttons"]
        assert case.number in survey.text


def test_a_co_reporter_rates_without_changing_the_case(db: Session) -> None:
    case = act(db, log(db, "路灯坏了", "幸福小区3栋", resident=FIRST), "accept", "dispatch")
    join(db, case.number)
    act(db, case, "resolve")
    rated = rate_case(db, case.number, SECOND, Satisfaction.DISSATISFIED)
    assert rated is not None and rated.co_reporter
    assert case.status == "resolved" and case.satisfaction is None and not case.flagged
    [row] = co_reporters(db, case)
    assert row.satisfaction == "dissatisfied" and row.rated_at is not None
    assert case_events(db, case)[-1].action == "co_reporter_rate"
    assert save_rating_comment(db, case.number, SECOND, "灯还是不亮")
    assert row.satisfaction_comment == "灯还是不亮" and case.satisfaction_comment is None
    with pytest.raises(InvalidTransitionError):
        rate_case(db, case.number, SECOND, Satisfaction.SATISFIED)  # once each
    # The original reporter's rating still drives the workflow.
    own = rate_case(db, case.number, FIRST, Satisfaction.SATISFIED)
    assert own is not None and not own.co_reporter and case.status == "closed"
    # Someone who is neither gets nothing.
    assert rate_case(db, case.number, THIRD, Satisfaction.SATISFIED) is None


def test_a_co_reporter_sees_and_adds_to_the_case_but_cannot_withdraw_it(db: Session) -> None:
    case = log(db, "路灯坏了", "幸福小区3栋", resident=FIRST)
    mine = log(db, "楼道灯坏了", "幸福小区5栋", resident=SECOND)
    join(db, case.number)
    assert owned_case(db, case.number, SECOND) is None
    assert reported_case(db, case.number, SECOND) is case
    assert visible_case(db, case.number, SECOND) is case
    assert reported_case(db, case.number, THIRD) is None
    assert {c.number for c in open_cases(db, SECOND)} == {case.number, mine.number}
    assert [c.number for c in withdrawable_cases(db, SECOND)] == [mine.number]
    assert case.number in status_text(db, SECOND, case.number)
    assert case.number in status_text(db, SECOND)
    assert "没有找到" in status_text(db, THIRD, case.number)
    with pytest.raises(InvalidTransitionError):
        apply_action(db, case, "cancel", Actor.resident(SECOND), ActionInput(note="居民撤回"))
    assert case.status == "new"
    apply_action(db, case, "add_info", Actor.resident(SECOND), ActionInput(note="灯杆也歪了"))
    assert case_events(db, case)[-1].actor == SECOND


def test_when_the_reporter_withdraws_co_reporters_are_told(db: Session) -> None:
    case = log(db, "路灯坏了", "幸福小区3栋", resident=FIRST)
    join(db, case.number)
    apply_action(db, case, "cancel", Actor.resident(FIRST), ActionInput(note="居民撤回"))
    assert case.status == "cancelled"
    assert messages(db, FIRST) == []  # the assistant already told them
    [told] = messages(db, SECOND)
    assert "首位反映人撤回" in told.text and "重新" in told.text


def test_merging_makes_the_merged_cases_residents_co_reporters(db: Session) -> None:
    target = log(db, "路灯坏了", "幸福小区3栋", resident=FIRST)
    duplicate = log(db, "3栋路灯不亮", "幸福小区3栋", resident=SECOND, phone="13900002222")
    join(db, duplicate.number, who=THIRD, phone=None)
    act(db, duplicate, "merge", target=target.number)
    rows = co_reporters(db, target)
    assert [(r.resident_ref, r.merged_from) for r in rows] == [
        (SECOND, duplicate.number),
        (THIRD, duplicate.number),
    ]
    assert rows[0].phone == "+8613900002222" and rows[0].description == "3栋路灯不亮"
    merged_event = case_events(db, target)[-1]
    assert merged_event.action == "merged_from" and merged_event.data["co_reporters"] == 2
    # Both hear about the merge (from the merged case), then about the target's progress.
    act(db, target, "accept")
    for who in (SECOND, THIRD):
        texts = [m.text for m in messages(db, who)]
        assert target.number in texts[0] and "合并" in texts[0]
        assert texts[-1].startswith(f"您的工单 {target.number} 已受理")
    # Merging again (a case merged into one the resident already reports) adds nobody twice.
    again = log(db, "路灯坏了", "幸福小区3栋", resident=SECOND)
    act(db, again, "merge", target=target.number)
    assert [r.resident_ref for r in co_reporters(db, target)] == [SECOND, THIRD]


def test_the_unique_constraint_keeps_one_row_per_resident_and_case(db: Session) -> None:
    case = log(db, "路灯坏了", "幸福小区3栋", resident=FIRST)
    join(db, case.number)
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(CaseReporter(case_id=case.id, resident_ref=SECOND, channel="web"))
        db.flush()
    assert len(co_reporters(db, case)) == 1
