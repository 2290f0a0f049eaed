"""The real action server (``python -m actions.server``) against forged action calls.

Anyone who can reach the action server could POST a tracker with any sender and any slots.
It must refuse calls without the shared token (401), and with the token it must still never
show or change a case that is not the sender's own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hotline.config import ACTION_TOKEN_HEADER
from hotline.db import dispose_engines, transaction, upgrade
from hotline.models import CaseEvent
from tests.actions.conftest import PHONE, make_case, rendered
from tests.servers import PROJECT_ROOT, Stack, free_port

pytestmark = pytest.mark.slow

TOKEN = "action-token-for-this-test-0123456789"
VICTIM = "tg:424242"
ATTACKER = "tg:666"
DESCRIPTION = "我家楼下的路灯坏了好几天了"
NOT_YOURS = "没有找到工单 {number}，或您无权查看。请核对工单编号。"


@pytest.fixture(scope="module")
def actions_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    """The project's action server alone, on its own SQLite case database."""
    workdir = tmp_path_factory.mktemp("action-server")
    db_url = f"sqlite:///{workdir / 'hotline.db'}"
    upgrade(db_url)
    stack = Stack(
        workdir=workdir,
        db_url=db_url,
        rasa_port=0,
        action_port=free_port(),
        env={
            **os.environ,
            "HOTLINE_DATABASE_URL": db_url,
            "HOTLINE_VAR_DIR": str(workdir / "var"),
            "HOTLINE_ACTION_TOKEN": TOKEN,
            "PYTHONPATH": str(PROJECT_ROOT),
        },
    )
    stack.start_actions()
    try:
        yield stack, db_url
    finally:
        stack.stop("actions")
        dispose_engines()


def action_call(
    action: str,
    sender: str,
    *,
    text: str = "",
    intent: str = "",
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What Rasa POSTs to /webhook, with whatever sender and slots a forger chooses."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0} if intent else {},
        "entities": entities or [],
    }
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.2",
        "domain": {},
        "tracker": {
            "sender_id": sender,
            "slots": slots or {},
            "latest_message": latest,
            "events": [
                {"event": "action", "name": "action_listen", "timestamp": 1.0},
                {"event": "user", "timestamp": 2.0, "text": text, "parse_data": latest},
            ],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def post(
    stack: Stack, call: dict[str, Any], token: str | None = TOKEN, path: str = "/webhook"
) -> httpx.Response:
    """POSTs an action call, with the token header when one is given."""
    headers = {ACTION_TOKEN_HEADER: token} if token is not None else {}
    return httpx.post(f"{stack.action_url}{path}", json=call, headers=headers, timeout=30)


def replies(response: httpx.Response) -> str:
    """The texts the action server asks Rasa to send, domain responses filled in as Rasa does."""
    assert response.status_code == 200, response.text
    return "\n".join(rendered(r) for r in response.json()["responses"])


def events_of(db_url: str, number: str) -> list[tuple[str, str]]:
    """The case's audit events as (action, note)."""
    with transaction(db_url) as session:
        rows = session.scalars(
            select(CaseEvent).where(CaseEvent.case.has(number=number)).order_by(CaseEvent.id)
        )
        return [(e.action, e.note or "") for e in rows]


def test_binds_loopback_only(actions_server: tuple[Stack, str]) -> None:
    stack, _ = actions_server
    assert httpx.get(f"{stack.action_url}/health", timeout=5).status_code == 200
    port_hex = f"{stack.action_port:04X}"
    listening = [
        line.split()[1]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if line.split()[3] == "0A" and line.split()[1].endswith(f":{port_hex}")
    ]
    # 0100007F is 127.0.0.1 in the kernel's byte order; 00000000 would be every interface.
    assert listening == [f"0100007F:{port_hex}"]


@pytest.mark.parametrize("token", [None, "", "wrong-token", TOKEN[:-1]])
def test_a_forged_tracker_without_the_token_gets_401(
    actions_server: tuple[Stack, str], token: str | None
) -> None:
    stack, db_url = actions_server
    number = make_case(db_url, resident_ref=VICTIM, description=DESCRIPTION)
    response = post(stack, action_call("action_check_status", VICTIM, text="查询进度"), token)
    assert response.status_code == 401
    assert DESCRIPTION not in response.text and number not in response.text
    assert "access-control-allow-origin" not in response.headers
    listing = httpx.get(
        f"{stack.action_url}/actions",
        headers={ACTION_TOKEN_HEADER: token} if token is not None else {},
        timeout=5,
    )
    assert listing.status_code == 401


def test_the_token_is_a_header_not_a_query_parameter(actions_server: tuple[Stack, str]) -> None:
    stack, _ = actions_server
    call = action_call("action_check_status", ATTACKER, text="查询进度")
    response = httpx.post(
        f"{stack.action_url}/webhook", params={"token": TOKEN}, json=call, timeout=30
    )
    assert response.status_code == 401


def test_with_the_token_the_senders_own_cases_are_listed(
    actions_server: tuple[Stack, str],
) -> None:
    stack, db_url = actions_server
    sender = "tg:1717"
    number = make_case(db_url, resident_ref=sender, description="小区门口垃圾没人清运")
    text = replies(post(stack, action_call("action_check_status", sender, text="查询进度")))
    assert number in text and "垃圾" in text
    # CORS: no browser page may read the action server's answers.
    from_page = httpx.post(
        f"{stack.action_url}/webhook",
        json=action_call("action_check_status", sender, text="查询进度"),
        headers={ACTION_TOKEN_HEADER: TOKEN, "Origin": "https://evil.example"},
        timeout=30,
    )
    assert from_page.status_code == 200
    assert "access-control-allow-origin" not in from_page.headers


def test_check_status_shows_nothing_of_someone_elses_case(
    actions_server: tuple[Stack, str],
) -> None:
    stack, db_url = actions_server
    number = make_case(db_url, resident_ref=VICTIM, description=DESCRIPTION)
    call = action_call(
        "action_check_status",
        ATTACKER,
        text=f"查询 {number}",
        entities=[{"entity": "case_number", "value": number}],
    )
    response = post(stack, call)
    assert DESCRIPTION not in replies(response)
    assert "幸福小区" not in response.text and PHONE[-4:] not in response.text
    # Knowing the number is not enough: the attacker is asked for the phone's last four digits.
    wrong = action_call(
        "action_verify_lookup",
        ATTACKER,
        text="0000",
        slots={"case_number": number, "phone_last4": "0000"},
    )
    assert replies(post(stack, wrong)) == NOT_YOURS.format(number=number)


def test_add_info_does_not_touch_someone_elses_case(actions_server: tuple[Stack, str]) -> None:
    stack, db_url = actions_server
    number = make_case(db_url, resident_ref=VICTIM, description=DESCRIPTION)
    before = events_of(db_url, number)
    call = action_call(
        "action_add_info",
        ATTACKER,
        text="不用修了，撤销吧",
        slots={"info_case_number": number, "info_text": "不用修了，撤销吧"},
    )
    assert replies(post(stack, call)) == NOT_YOURS.format(number=number)
    assert events_of(db_url, number) == before
    # The owner still can.
    own = action_call(
        "action_add_info",
        VICTIM,
        text="晚上更暗了",
        slots={"info_case_number": number, "info_text": "晚上更暗了"},
    )
    assert f"已补充到工单 {number}" in replies(post(stack, own))
    assert events_of(db_url, number)[-1] == ("add_info", "晚上更暗了")


def test_emergency_location_does_not_move_someone_elses_case(
    actions_server: tuple[Stack, str],
) -> None:
    stack, db_url = actions_server
    number = make_case(
        db_url,
        resident_ref=VICTIM,
        description="楼道着火了",
        location="",
        urgency="emergency",
        case_type="help",
        category="public_security",
    )
    call = action_call(
        "action_emergency_location",
        ATTACKER,
        text="人民路1号",
        slots={"emergency_case_number": number, "location": "人民路1号"},
    )
    text = replies(post(stack, call))
    assert text == NOT_YOURS.format(number=number)
    assert "位置已记录" not in text
    with transaction(db_url) as session:
        from hotline.casework.cases import get_case

        assert get_case(session, number).location == ""
    assert all(action != "set_location" for action, _ in events_of(db_url, number))


@pytest.mark.parametrize(
    ("action", "slots", "entities"),
    [
        ("action_confirm_withdraw", {"case_number": "{number}"}, []),
        (
            "action_rate_case",
            {},
            [
                {"entity": "case_number", "value": "{number}"},
                {"entity": "rating", "value": "dissatisfied"},
            ],
        ),
        (
            "action_save_rating_comment",
            {"case_number": "{number}", "rating_comment": "根本没人来修"},
            [],
        ),
    ],
)
def test_withdraw_and_rating_do_not_touch_someone_elses_case(
    actions_server: tuple[Stack, str],
    action: str,
    slots: dict[str, str],
    entities: list[dict[str, str]],
) -> None:
    stack, db_url = actions_server
    number = make_case(db_url, resident_ref=VICTIM, description=DESCRIPTION)
    before = events_of(db_url, number)
    call = action_call(
        action,
        ATTACKER,
        text=number,
        slots={k: v.format(number=number) for k, v in slots.items()},
        entities=[{k: v.format(number=number) for k, v in e.items()} for e in entities],
    )
    assert replies(post(stack, call)) == NOT_YOURS.format(number=number)
    assert events_of(db_url, number) == before
