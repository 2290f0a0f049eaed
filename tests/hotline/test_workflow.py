"""Every allowed transition, rejected ones, and the audit rows and outbox messages they write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import (
    ActionInput,
    CaseFilter,
    NewCase,
    apply_action,
    case_events,
    count_by_status,
    create_case,
    get_case,
    list_cases,
)
from hotline.casework.workflow import TRANSITIONS, CaseStatus
from hotline.errors import InvalidTransitionError, NotFoundError, ValidationError
from hotline.models import Case, OutboxMessage, User

OPERATOR = Actor.operator("alice", None)


def _operator(session: Session, name: str = "alice") -> Actor:
    user = session.scalar(select(User).where(User.username == name))
    if user is None:
        user = User(username=name, role="operator", password_hash="x")
        session.add(user)
        session.flush()
    return Actor.operator(user.username, user.id)


def _new(session: Session, **overrides: object) -> Case:
    fields: dict[str, object] = {
        "category": "city_management",
        "description": "我家楼下的路灯坏了好几天了",
        "phone": "13812345678",
        "location": "幸福小区3栋",
        "channel": "telegram",
        "resident_ref": "tg:1001",
    }
    fields.update(overrides)
    case, created = create_case(session, NewCase(**fields), Actor.resident("tg:1001"))  # type: ignore[arg-type]
    assert created
    return case


def _to(session: Session, case: Case, *actions: str) -> Case:
    actor = _operator(session)
    for action in actions:
        params = ActionInput(note="说明", target=None)
        apply_action(session, case, action, actor, params)
    return case


# (state reached by these actions, action, extra params, expected state)
ALLOWED = [
    ((), "accept", {}, "accepted"),
    (("accept",), "claim", {}, "accepted"),
    ((), "assign", {"assignee": "bob"}, "new"),
    ((), "reroute", {"category": "mediation", "note": "其实是邻里纠纷"}, "new"),
    ((), "set_urgency", {"urgency": "urgent"}, "new"),
    (("accept",), "dispatch", {}, "dispatched"),
    (("accept", "dispatch"), "start", {}, "in_progress"),
    (("accept", "dispatch"), "return", {"note": "不属于本单位职责"}, "returned"),
    (("accept", "dispatch", "return"), "accept", {}, "accepted"),
    (("accept", "dispatch", "return"), "dispatch", {"department": "区住建局"}, "dispatched"),
    (("accept", "dispatch", "start"), "extend", {"note": "需协调多部门"}, "in_progress"),
    ((), "note", {"note": "居民情绪激动"}, "new"),
    ((), "reply", {"note": "已收到，正在核实"}, "new"),
    (("accept", "dispatch"), "resolve", {"note": "已修复"}, "resolved"),
    (("accept", "dispatch", "start"), "resolve", {"note": "已修复"}, "resolved"),
    (("accept", "dispatch", "resolve"), "reopen", {"note": "居民反映未修好"}, "in_progress"),
    (("accept", "dispatch", "resolve"), "close", {}, "closed"),
    (("accept", "dispatch", "resolve", "close"), "reopen", {}, "in_progress"),
    ((), "cancel", {}, "cancelled"),
    (("accept",), "cancel", {}, "cancelled"),
    (("accept", "dispatch", "resolve"), "rate", {"rating": "满意"}, "closed"),
    (
        ("accept", "dispatch", "resolve"),
        "rate",
        {"rating": "不满意", "note": "没修好"},
        "in_progress",
    ),
    ((), "add_info", {"note": "晚上完全不亮"}, "new"),
]


@pytest.mark.parametrize(("path", "action", "extra", "expected"), ALLOWED)
def test_allowed_transition_writes_audit_row(
    session: Session, path: tuple[str, ...], action: str, extra: dict[str, str], expected: str
) -> None:
    _operator(session, "bob")
    case = _to(session, _new(session), *path)
    before = case.status
    events_before = len(case_events(session, case))
    params = ActionInput(**{"note": "说明", **extra})  # type: ignore[arg-type]
    apply_action(session, case, action, _operator(session), params)
    assert case.status == expected
    events = case_events(session, case)
    assert len(events) == events_before + 1
    last = events[-1]
    assert (last.action, last.from_status, last.to_status) == (action, before, expected)
    assert last.actor == "alice" and last.actor_kind == "operator"
    assert last.note == params.note


def test_every_action_is_covered_by_the_allowed_table() -> None:
    assert {a for _, a, _, _ in ALLOWED} | {"merge"} == set(TRANSITIONS)


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ((), "dispatch"),
        ((), "start"),
        ((), "resolve"),
        (("accept",), "accept"),
        (("accept", "dispatch"), "cancel"),
        (("accept", "dispatch"), "reroute"),
        ((), "reopen"),
        ((), "close"),
        (("cancel",), "reply"),
        (("accept", "dispatch", "resolve", "close"), "merge"),
    ],
)
def test_invalid_transition_names_case_state_and_action(
    session: Session, path: tuple[str, ...], action: str
) -> None:
    case = _to(session, _new(session), *path)
    with pytest.raises(InvalidTransitionError) as err:
        apply_action(
            session, case, action, _operator(session), ActionInput(note="x", category="mediation")
        )
    message = str(err.value)
    assert case.number in message and case.status in message and action in message


def test_reroute_keeps_original_category_and_recomputes_deadline(session: Session) -> None:
    case = _new(session, case_type="投诉")
    old_due = case.due_at
    apply_action(
        session,
        case,
        "reroute",
        _operator(session),
        ActionInput(category="mediation", note="邻里纠纷"),
    )
    assert (case.category, case.original_category) == ("mediation", "city_management")
    assert case.department == "社区人民调解委员会"
    assert case.due_at > old_due  # complaints get 15 working days in mediation, 10 here


def test_set_urgency_recomputes_deadline(session: Session) -> None:
    case = _new(session)
    now = datetime.now(UTC)
    apply_action(
        session, case, "set_urgency", _operator(session), ActionInput(urgency="emergency"), now=now
    )
    assert case.due_at == now + timedelta(hours=2)


def test_extend_only_once(session: Session) -> None:
    case = _to(session, _new(session), "accept", "dispatch")
    apply_action(session, case, "extend", _operator(session), ActionInput(note="需要更多时间"))
    assert case.extended and case.extension_reason == "需要更多时间"
    with pytest.raises(InvalidTransitionError, match="只能延期一次"):
        apply_action(session, case, "extend", _operator(session), ActionInput(note="再延"))


def test_merge_closes_duplicate_and_tells_its_resident(session: Session) -> None:
    first = _new(session)
    duplicate = _new(session, resident_ref="tg:2002")
    apply_action(session, duplicate, "merge", _operator(session), ActionInput(target=first.number))
    assert duplicate.status == "closed" and duplicate.merged_into == first.number
    row = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "tg:2002")).one()
    assert first.number in row.text
    assert [e.action for e in case_events(session, first)][-1] == "merged_from"
    with pytest.raises(ValidationError):
        apply_action(session, first, "merge", _operator(session), ActionInput(target=first.number))


def test_dissatisfied_follow_up_reopens_and_flags(session: Session) -> None:
    case = _to(session, _new(session), "accept", "dispatch", "resolve")
    apply_action(
        session, case, "rate", Actor.resident("tg:1001"), ActionInput(rating="dissatisfied")
    )
    assert case.status == CaseStatus.IN_PROGRESS.value
    assert case.reopen_count == 1 and case.flagged and case.satisfaction == "dissatisfied"


def test_notes_and_parameters_are_required(session: Session) -> None:
    case = _new(session)
    for action, params in (
        ("note", ActionInput()),
        ("reroute", ActionInput(category="nope", note="x")),
        ("assign", ActionInput(assignee="ghost")),
        ("set_urgency", ActionInput(urgency="asap")),
        ("fly", ActionInput()),
    ):
        with pytest.raises(ValidationError):
            apply_action(session, case, action, _operator(session), params)


def test_claim_needs_an_operator_account(session: Session) -> None:
    case = _new(session)
    with pytest.raises(ValidationError, match="操作员账号"):
        apply_action(session, case, "claim", Actor.system(), ActionInput())
    apply_action(session, case, "claim", _operator(session), ActionInput())
    assert case.assignee is not None and case.assignee.username == "alice"


def test_outbox_rows_for_resident_visible_actions(session: Session) -> None:
    case = _new(session)
    _to(session, case, "accept", "dispatch", "start")
    apply_action(session, case, "reply", _operator(session), ActionInput(note="师傅明天上门"))
    apply_action(session, case, "note", _operator(session), ActionInput(note="内部：别告诉居民"))
    apply_action(session, case, "resolve", _operator(session), ActionInput(note="路灯已更换"))
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [r.kind for r in rows] == ["status", "status", "status", "status", "survey"]
    assert all(case.number in r.text for r in rows)
    assert not any("内部" in r.text for r in rows)
    assert "师傅明天上门" in rows[3].text
    assert [b["title"] for b in rows[4].payload["buttons"]] == [
        "非常满意",
        "满意",
        "基本满意",
        "不满意",
    ]
    assert all(r.recipient == "tg:1001" and r.status == "pending" for r in rows)


def test_phone_channel_cases_get_no_outbox_rows(session: Session) -> None:
    case = _new(session, channel="phone", resident_ref=None)
    _to(session, case, "accept", "dispatch")
    assert session.scalars(select(OutboxMessage)).all() == []


def test_creation_validates_fields(session: Session) -> None:
    for overrides, field in (
        ({"category": "weather"}, "category"),
        ({"description": "   "}, "description"),
        ({"phone": "12"}, "phone"),
        ({"case_type": "吐槽"}, "type"),
        ({"urgency": "now"}, "urgency"),
        ({"channel": "fax"}, "channel"),
        ({"latitude": 123.0}, "latitude"),
        ({"description": "长" * 10_001}, "description"),
    ):
        with pytest.raises(ValidationError) as err:
            _new(session, **overrides)
        assert err.value.field == field


def test_creation_event_and_fields(session: Session) -> None:
    case = _new(session, contact_name="", case_type="投诉")
    assert case.number.startswith("SQ") and len(case.number) == len("SQ20261123-0001")
    assert case.contact_name == "匿名" and case.case_type == "complaint"
    assert case.phone == "+8613812345678" and case.department == "街道城管执法中队"
    (event,) = case_events(session, case)
    assert (event.action, event.actor_kind, event.actor, event.to_status) == (
        "create",
        "resident",
        "tg:1001",
        "new",
    )


def test_idempotency_key_gives_one_case(session: Session) -> None:
    new = NewCase(
        category="employment",
        description="公司拖欠工资三个月",
        phone="13912345678",
        location="光谷大道1号",
        idempotency_key="tg:1:confirm:42",
    )
    first, created_first = create_case(session, new, Actor.resident("tg:1"))
    second, created_second = create_case(session, new, Actor.resident("tg:1"))
    assert created_first and not created_second and first.id == second.id
    assert len(session.scalars(select(Case)).all()) == 1


def test_queue_order_filters_and_counts(session: Session) -> None:
    normal = _new(session)
    emergency = _new(session, urgency="emergency", description="楼道着火了")
    urgent = _new(session, urgency="urgent", category="property_housing", description="停水两天")
    order = [c.number for c in list_cases(session)]
    assert order == [emergency.number, urgent.number, normal.number]
    assert [c.number for c in list_cases(session, CaseFilter(category="property_housing"))] == [
        urgent.number
    ]
    assert [c.number for c in list_cases(session, CaseFilter(text="着火"))] == [emergency.number]
    assert len(list_cases(session, CaseFilter(text="5678"))) == 3
    later = datetime.now(UTC) + timedelta(hours=3)
    assert [c.number for c in list_cases(session, CaseFilter(overdue=True), now=later)] == [
        emergency.number
    ]
    assert count_by_status(session) == {"new": 3}
    assert get_case(session, emergency.number.lower()).id == emergency.id
    with pytest.raises(NotFoundError):
        get_case(session, "SQ20000101-0001")
