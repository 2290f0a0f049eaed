"""Every operator action through the case page and the JSON API, in an allowed state and a
disallowed one: allowed ones change the case and write their audit event, disallowed ones get
a clear 409 and change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.access import accounts
from hotline.casework.cases import case_events, get_case
from hotline.casework.workflow import OPERATOR_ACTIONS, TRANSITIONS, CaseStatus
from hotline.db import transaction
from hotline.models import OutboxMessage
from tests.console.conftest import PATH_TO, case_in, csrf_of, make_client, new_case, status_of


def params_for(action: str) -> dict[str, Any]:
    """Valid parameters for an action."""
    params: dict[str, Any] = {"note": "操作说明"}
    if action == "assign":
        params["assignee"] = "sup"
    elif action == "reroute":
        params["category"] = "property_housing"
    elif action == "set_urgency":
        params["urgency"] = "urgent"
    elif action == "dispatch":
        params["department"] = "街道城管执法中队"
    elif action == "merge":
        params["target"] = new_case(description="同一盏路灯", resident_ref="web:resident-2")
    return params


def allowed_state(action: str) -> str:
    sources = {s.value for s in TRANSITIONS[action].sources}
    return next(s for s in PATH_TO if s in sources)


def disallowed_state(action: str) -> str | None:
    sources = {s.value for s in TRANSITIONS[action].sources}
    return next((s for s in PATH_TO if s not in sources), None)


def expected_status(action: str, before: str) -> str:
    target = TRANSITIONS[action].target
    return target.value if target is not None else before


@pytest.mark.parametrize("action", OPERATOR_ACTIONS)
def test_page_action_in_an_allowed_state(operator: TestClient, action: str) -> None:
    state = allowed_state(action)
    number = case_in(state)
    data = {"action": action, "csrf_token": csrf_of(operator), **params_for(action)}
    response = operator.post(f"/cases/{number}/actions", data=data)
    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"] == f"/cases/{number}"
    assert status_of(number) == expected_status(action, state)
    with transaction() as session:
        events = case_events(session, get_case(session, number))
        assert events[-1].action == action and events[-1].actor == "op"
    page = operator.get(f"/cases/{number}")
    assert f"已完成操作「{TRANSITIONS[action].label}」" in page.text


@pytest.mark.parametrize("action", [a for a in OPERATOR_ACTIONS if disallowed_state(a) is not None])
def test_page_action_in_a_disallowed_state(operator: TestClient, action: str) -> None:
    state = disallowed_state(action)
    assert state is not None
    number = case_in(state)
    page = operator.get(f"/cases/{number}")
    assert f'data-action="{action}"' not in page.text, "a disallowed action must not be offered"
    data = {"action": action, "csrf_token": csrf_of(operator), **params_for(action)}
    response = operator.post(f"/cases/{number}/actions", data=data)
    assert response.status_code == 409
    assert "不能执行操作" in response.text and CaseStatus(state).label in response.text
    assert status_of(number) == state


def test_note_is_allowed_everywhere_but_needs_text(operator: TestClient) -> None:
    assert disallowed_state("note") is None
    number = case_in("cancelled")
    token = csrf_of(operator)
    response = operator.post(
        f"/cases/{number}/actions", data={"action": "note", "note": " ", "csrf_token": token}
    )
    assert response.status_code == 400 and "需要填写说明" in response.text


def test_offered_actions_follow_the_workflow(operator: TestClient) -> None:
    number = case_in("dispatched")
    page = operator.get(f"/cases/{number}").text
    for action in ("start", "resolve", "return", "extend", "reply", "note"):
        assert f'data-action="{action}"' in page
    for action in ("accept", "dispatch", "reopen", "close", "reroute"):
        assert f'data-action="{action}"' not in page


def test_unknown_action_is_a_clear_400(operator: TestClient) -> None:
    number = new_case()
    for action in ("explode", "rate", "cancel", ""):
        response = operator.post(
            f"/cases/{number}/actions", data={"action": action, "csrf_token": csrf_of(operator)}
        )
        assert response.status_code == 400 and "未知的操作" in response.text


def test_action_on_an_unknown_case_is_404(operator: TestClient) -> None:
    response = operator.post(
        "/cases/SQ00000000-9999/actions", data={"action": "accept", "csrf_token": csrf_of(operator)}
    )
    assert response.status_code == 404 and "不存在" in response.text


def test_extension_only_once(operator: TestClient) -> None:
    number = case_in("dispatched")
    data = {
        "action": "extend",
        "note": "需要现场勘查",
        "days": "3",
        "csrf_token": csrf_of(operator),
    }
    assert operator.post(f"/cases/{number}/actions", data=data).status_code == 303
    again = operator.post(f"/cases/{number}/actions", data=data)
    assert again.status_code == 409 and "只能延期一次" in again.text
    bad_days = operator.post(
        f"/cases/{case_in('dispatched')}/actions", data={**data, "days": "abc"}
    )
    assert bad_days.status_code == 400


def test_reply_with_a_canned_reply_goes_to_the_outbox(operator: TestClient) -> None:
    from hotline.casework import canned
    from hotline.casework.actors import Actor

    with transaction() as session:
        reply = canned.add_reply(
            session, "已派单", "您的问题已转交相关部门。", actor=Actor.system()
        )
        reply_id = reply.id
    number = case_in("accepted")
    response = operator.post(
        f"/cases/{number}/actions",
        data={
            "action": "reply",
            "note": "",
            "canned_id": str(reply_id),
            "csrf_token": csrf_of(operator),
        },
    )
    assert response.status_code == 303
    with transaction() as session:
        case = get_case(session, number)
        texts = session.scalars(select(OutboxMessage.text).where(OutboxMessage.case_id == case.id))
        assert any("您的问题已转交相关部门。" in t for t in texts)


def test_merge_points_the_duplicate_at_the_target(operator: TestClient) -> None:
    number = case_in("new")
    target = new_case(description="同一件事", resident_ref="web:resident-2")
    data = {"action": "merge", "target": target, "csrf_token": csrf_of(operator)}
    assert operator.post(f"/cases/{number}/actions", data=data).status_code == 303
    page = operator.get(f"/cases/{number}").text
    assert "本工单已合并到" in page and target in page
    self_merge = operator.post(f"/cases/{target}/actions", data={**data, "target": target})
    assert self_merge.status_code == 400


def test_full_case_life_through_the_pages(operator: TestClient) -> None:
    number = new_case()
    token = csrf_of(operator)
    steps = [
        ({"action": "accept"}, "accepted"),
        ({"action": "claim"}, "accepted"),
        ({"action": "dispatch", "note": "请尽快修复"}, "dispatched"),
        ({"action": "start"}, "in_progress"),
        ({"action": "reply", "note": "师傅明天上门"}, "in_progress"),
        ({"action": "resolve", "note": "路灯已更换"}, "resolved"),
        ({"action": "close"}, "closed"),
        ({"action": "reopen", "note": "居民反映又坏了"}, "in_progress"),
    ]
    for data, status in steps:
        response = operator.post(f"/cases/{number}/actions", data={**data, "csrf_token": token})
        assert response.status_code == 303, (data, response.text[:500])
        assert status_of(number) == status
    with transaction() as session:
        case = get_case(session, number)
        assert case.assignee is not None and case.assignee.username == "op"
        assert case.department == "街道城管执法中队"
        kinds = list(
            session.scalars(select(OutboxMessage.kind).where(OutboxMessage.case_id == case.id))
        )
        assert "survey" in kinds


# The JSON API ------------------------------------------------------------------------------


@pytest.fixture()
def api(role_users: dict[str, int]) -> Any:
    with transaction() as session:
        _, clear = accounts.create_token(session, accounts.get_user(session, "op"))
    with make_client() as client:
        client.headers["Authorization"] = f"Bearer {clear}"
        yield client


@pytest.mark.parametrize("action", OPERATOR_ACTIONS)
def test_api_action_in_an_allowed_state(api: TestClient, action: str) -> None:
    state = allowed_state(action)
    number = case_in(state)
    response = api.post(
        f"/api/v1/cases/{number}/actions", json={"action": action, **params_for(action)}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == expected_status(action, state)
    assert body["events"][-1]["action"] == action
    assert body["events"][-1]["actor"] == "op"


@pytest.mark.parametrize("action", [a for a in OPERATOR_ACTIONS if disallowed_state(a) is not None])
def test_api_action_in_a_disallowed_state(api: TestClient, action: str) -> None:
    state = disallowed_state(action)
    assert state is not None
    number = case_in(state)
    response = api.post(
        f"/api/v1/cases/{number}/actions", json={"action": action, **params_for(action)}
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "invalid_transition" and "不能执行操作" in error["message"]
    assert status_of(number) == state


def test_api_resolve_from_dispatched_and_in_progress(api: TestClient) -> None:
    for state in ("dispatched", "in_progress"):
        number = case_in(state)
        response = api.post(
            f"/api/v1/cases/{number}/actions", json={"action": "resolve", "note": "已处理"}
        )
        assert response.status_code == 200 and response.json()["status"] == "resolved"


def test_api_dispatch_without_department_uses_the_default(api: TestClient) -> None:
    from hotline.casework.actors import Actor
    from hotline.casework.directory import add_department, set_category_department

    with transaction() as session:
        add_department(session, "街道照明所", actor=Actor.system())
        set_category_department(session, "city_management", "街道照明所", actor=Actor.system())
    number = case_in("accepted")
    response = api.post(f"/api/v1/cases/{number}/actions", json={"action": "dispatch"})
    assert response.status_code == 200
    assert response.json()["department"] == "街道照明所"
