"""Live handoff between an operator and the resident web chat, through the real gateway."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.channels import gateway, handoff
from hotline.db import transaction
from hotline.models import Case, OutboxMessage
from tests.console.conftest import csrf_of, make_client, page_csrf


class Resident:
    """A resident's browser on /chat."""

    def __init__(self) -> None:
        self.client = make_client()
        self.client.__enter__()
        self.token = page_csrf(self.client, "/chat")
        page = self.client.get("/chat").text
        self.sender = page.split('data-sender="', 1)[1].split('"', 1)[0]

    def say(self, text: str, message_id: str | None = None) -> Any:
        body: dict[str, Any] = {"text": text}
        if message_id:
            body["id"] = message_id
        return self.client.post("/chat/send", json=body, headers={"X-CSRF-Token": self.token})

    def poll(self) -> dict[str, Any]:
        response = self.client.post("/chat/poll", headers={"X-CSRF-Token": self.token})
        assert response.status_code == 200
        return dict(response.json())

    def close(self) -> None:
        self.client.__exit__(None, None, None)


@pytest.fixture()
def resident(console_env: str) -> Any:
    r = Resident()
    yield r
    r.close()


@pytest.fixture()
def rasa_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replaces the Rasa REST call; records what reached the assistant."""
    calls: list[str] = []

    async def fake(sender_id: str, text: str, metadata: Any = None) -> list[gateway.Reply]:
        calls.append(text)
        return [
            gateway.Reply(
                "您好，请问有什么可以帮您？",
                buttons=[{"title": "转人工", "payload": "/request_human"}],
            )
        ]

    monkeypatch.setattr(gateway, "post_to_rasa", fake)
    return calls


def test_chat_page_gives_a_web_sender_in_a_signed_cookie(
    resident: Resident, console_env: str
) -> None:
    assert resident.sender.startswith("web:")
    cookie = resident.client.cookies.get("hotline_chat")
    assert cookie and cookie != resident.sender
    with make_client() as fresh:
        header = fresh.get("/chat").headers.get_list("set-cookie")
        chat_cookie = next(h for h in header if h.startswith("hotline_chat="))
        assert "httponly" in chat_cookie.lower() and "path=/chat" in chat_cookie.lower()
        # A forged cookie is ignored: the page hands out a new sender id.
        fresh.cookies.set("hotline_chat", "web:forged", path="/chat")
        page = fresh.get("/chat").text
        assert 'data-sender="web:forged"' not in page
    # The same browser keeps its sender id.
    again = resident.client.get("/chat").text
    assert f'data-sender="{resident.sender}"' in again


def test_chat_relays_to_the_assistant_with_buttons(
    resident: Resident, rasa_calls: list[str]
) -> None:
    response = resident.say("你好", "m-1")
    assert response.status_code == 200
    replies = response.json()["replies"]
    assert replies[0]["text"] == "您好，请问有什么可以帮您？"
    assert replies[0]["buttons"] == [{"title": "转人工", "payload": "/request_human"}]
    assert rasa_calls == ["你好"]
    # The same message delivered twice is handled once.
    assert resident.say("你好", "m-1").json()["replies"] == []
    assert rasa_calls == ["你好"]


def test_chat_when_the_assistant_is_down(resident: Resident) -> None:
    replies = resident.say("你好").json()["replies"]
    assert "系统繁忙" in replies[0]["text"]


def test_chat_needs_csrf_and_a_cookie(resident: Resident, console_env: str) -> None:
    refused = resident.client.post("/chat/send", json={"text": "hi"})
    assert refused.status_code == 403
    with make_client() as stranger:
        token = page_csrf(stranger, "/login")
        response = stranger.post("/chat/send", json={"text": "hi"}, headers={"X-CSRF-Token": token})
        assert response.status_code == 400 and "会话已过期" in response.json()["error"]["message"]
        polled = stranger.post("/chat/poll", headers={"X-CSRF-Token": token})
        assert polled.json() == {"messages": [], "mode": "bot"}
    empty = resident.say("   ")
    assert empty.status_code == 400


def test_full_handoff_between_operator_and_web_chat(
    resident: Resident, rasa_calls: list[str], as_role: Callable[[str], TestClient]
) -> None:
    operator = as_role("operator")
    with transaction() as session:
        handoff.request_handoff(session, resident.sender)
    waiting_reply = resident.say("我家停水两天了").json()["replies"]
    assert "排队" in waiting_reply[0]["text"]
    assert rasa_calls == []

    listing = operator.get("/handoff").text
    assert resident.sender in listing and "我家停水两天了" in listing
    feed = operator.get("/handoff/feed").json()
    assert feed["waiting"] == 1 and resident.sender in feed["html"]
    token = csrf_of(operator)
    took = operator.post(f"/handoff/{resident.sender}/take", data={"csrf_token": token})
    assert took.status_code == 303 and took.headers["location"] == f"/handoff/{resident.sender}"
    chat = operator.get(f"/handoff/{resident.sender}").text
    assert "我家停水两天了" in chat and "operator-chat-form" in chat

    notice = resident.poll()
    assert notice["mode"] == "operator"
    assert any("已接入" in m["text"] for m in notice["messages"])

    said = operator.post(
        f"/handoff/{resident.sender}/say",
        data={"text": "您好，请问是哪个小区？"},
        headers={"Accept": "application/json", "X-CSRF-Token": token},
    )
    assert said.status_code == 200 and said.json()["message"]["who"] == "operator"
    delivered = resident.poll()["messages"]
    assert [m["text"] for m in delivered] == ["您好，请问是哪个小区？"]
    assert delivered[0]["kind"] == "chat"
    assert resident.poll()["messages"] == []  # delivered once

    # While the operator holds the chat, the assistant stays silent.
    assert resident.say("幸福小区3栋").json()["replies"] == []
    assert rasa_calls == []
    last_id = int(chat.split('data-after="', 1)[1].split('"', 1)[0])
    news = operator.get(f"/handoff/{resident.sender}/messages?after={last_id}").json()
    assert "幸福小区3栋" in [m["text"] for m in news["messages"]]
    assert news["held_by_me"] is True

    made = operator.post(
        f"/handoff/{resident.sender}/case",
        data={
            "category": "city_management",
            "description": "停水两天",
            "location": "幸福小区3栋",
            "case_type": "help",
            "urgency": "urgent",
            "csrf_token": token,
        },
    )
    assert made.status_code == 303
    with transaction() as session:
        case = session.scalar(select(Case).where(Case.resident_ref == resident.sender))
        assert case is not None and case.channel == "web" and case.urgency == "urgent"
        number = case.number
    assert any(number in m["text"] for m in resident.poll()["messages"])

    released = operator.post(f"/handoff/{resident.sender}/release", data={"csrf_token": token})
    assert released.status_code == 303
    assert any("智能助手继续" in m["text"] for m in resident.poll()["messages"])
    assert resident.say("谢谢").json()["replies"][0]["text"].startswith("您好")
    assert rasa_calls == ["谢谢"]


def test_only_the_holder_may_chat_and_supervisors_may_take_over(
    resident: Resident, as_role: Callable[[str], TestClient], role_users: dict[str, int]
) -> None:
    from hotline.access import accounts

    with transaction() as session:
        accounts.create_user(session, "op2", "correct-horse-1", "operator")
        handoff.request_handoff(session, resident.sender)
    operator = as_role("operator")
    token = csrf_of(operator)
    operator.post(f"/handoff/{resident.sender}/take", data={"csrf_token": token})

    from tests.console.conftest import login

    colleague = make_client()
    with colleague:
        assert login(colleague, "op2").status_code == 303
        other_token = csrf_of(colleague)
        page = colleague.get(f"/handoff/{resident.sender}").text
        assert "operator-chat-form" not in page and "接待中" in page
        said = colleague.post(
            f"/handoff/{resident.sender}/say", data={"text": "插话", "csrf_token": other_token}
        )
        assert said.status_code == 409 and "没有接待" in said.text
        taken = colleague.post(f"/handoff/{resident.sender}/take", data={"csrf_token": other_token})
        assert taken.status_code == 409
        released = colleague.post(
            f"/handoff/{resident.sender}/release", data={"csrf_token": other_token}
        )
        assert released.status_code == 409

    supervisor = as_role("supervisor")
    sup_token = csrf_of(supervisor)
    assert (
        supervisor.post(
            f"/handoff/{resident.sender}/take", data={"csrf_token": sup_token}
        ).status_code
        == 303
    )
    with transaction() as session:
        assert (
            handoff.get_conversation(session, resident.sender).operator_id
            == role_users["supervisor"]
        )
    refused = operator.post(
        f"/handoff/{resident.sender}/say", data={"text": "x", "csrf_token": token}
    )
    assert refused.status_code == 409


def test_handoff_errors(operator: TestClient, resident: Resident) -> None:
    token = csrf_of(operator)
    assert operator.get("/handoff/web:nobody").status_code == 404
    assert operator.get("/handoff/<script>").status_code == 404
    with transaction() as session:
        handoff.get_conversation(session, resident.sender)
    not_waiting = operator.post(f"/handoff/{resident.sender}/take", data={"csrf_token": token})
    assert not_waiting.status_code == 409
    with transaction() as session:
        handoff.request_handoff(session, resident.sender)
    operator.post(f"/handoff/{resident.sender}/take", data={"csrf_token": token})
    empty = operator.post(
        f"/handoff/{resident.sender}/say",
        data={"text": "  "},
        headers={"Accept": "application/json", "X-CSRF-Token": token},
    )
    assert empty.status_code == 400 and empty.json()["error"]["field"] == "text"
    bad_case = operator.post(
        f"/handoff/{resident.sender}/case",
        data={"category": "nope", "description": "x", "csrf_token": token},
    )
    assert bad_case.status_code == 303
    assert "未能登记工单" in operator.get(f"/handoff/{resident.sender}").text
    with transaction() as session:
        assert session.scalar(select(Case.id)) is None
        outbox = session.scalars(select(OutboxMessage.kind)).all()
        assert "handoff" in outbox


def test_poll_is_a_post_with_the_chat_token(resident: Resident) -> None:
    """Polling marks messages delivered: a GET (a link, an image on another site) must not."""
    from hotline.casework import outbox

    with transaction() as session:
        outbox.enqueue(session, resident.sender, "话务员：您好", "chat")
    assert resident.client.get("/chat/poll").status_code == 405
    assert resident.client.post("/chat/poll").status_code == 403  # no CSRF token
    with transaction() as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == resident.sender)
        ).one()
        assert row.status == "pending"
    assert [m["text"] for m in resident.poll()["messages"]] == ["话务员：您好"]
    assert resident.poll()["messages"] == []


CASE_FORM = {
    "category": "city_management",
    "description": "停水两天",
    "location": "幸福小区3栋",
    "case_type": "help",
    "urgency": "normal",
}


def test_only_the_holder_turns_a_conversation_into_a_case(
    resident: Resident, rasa_calls: list[str], as_role: Callable[[str], TestClient]
) -> None:
    with transaction() as session:
        handoff.request_handoff(session, resident.sender)
    resident.say("我家停水两天了，电话13812345678")
    operator = as_role("operator")
    token = csrf_of(operator)
    refused = operator.post(
        f"/handoff/{resident.sender}/case", data={**CASE_FORM, "csrf_token": token}
    )
    assert refused.status_code == 409 and "没有接待" in refused.text
    supervisor = as_role("supervisor")
    sup_token = csrf_of(supervisor)
    supervisor.post(f"/handoff/{resident.sender}/take", data={"csrf_token": sup_token})
    # Taken over by a supervisor: the operator still may not.
    assert (
        operator.post(
            f"/handoff/{resident.sender}/case", data={**CASE_FORM, "csrf_token": token}
        ).status_code
        == 409
    )
    with transaction() as session:
        assert session.scalar(select(Case).where(Case.resident_ref == resident.sender)) is None
    made = supervisor.post(
        f"/handoff/{resident.sender}/case", data={**CASE_FORM, "csrf_token": sup_token}
    )
    assert made.status_code == 303
    with transaction() as session:
        case = session.scalar(select(Case).where(Case.resident_ref == resident.sender))
        # The operator saw the number masked; the case took it from the conversation.
        assert case is not None and case.phone == "+8613812345678"


def test_typed_numbers_are_masked_for_operators_until_revealed(
    resident: Resident, rasa_calls: list[str], as_role: Callable[[str], TestClient]
) -> None:
    from hotline.models import CaseEvent
    from tests.console.conftest import new_case

    with transaction() as session:
        handoff.request_handoff(session, resident.sender)
    resident.say("我的电话是 13812345678，身份证 420102199001011234，家里停水了")
    operator = as_role("operator")
    seen = {
        "handoff list": operator.get("/handoff").text,
        "handoff feed": operator.get("/handoff/feed").json()["html"],
        "handoff chat": operator.get(f"/handoff/{resident.sender}").text,
        "chat messages": str(operator.get(f"/handoff/{resident.sender}/messages").json()),
    }
    number = new_case(description="请回电 13987654321 或 027-85671234", phone="13900001111")
    seen["queue"] = operator.get("/cases").text
    seen["case page"] = operator.get(f"/cases/{number}").text
    for where, html in seen.items():
        for secret in ("13812345678", "420102199001011234", "13987654321", "85671234"):
            assert secret not in html, (where, secret)
    assert "138****5678" in seen["handoff chat"] and "139****4321" in seen["queue"]
    token = csrf_of(operator)
    revealed = operator.post(f"/cases/{number}/reveal", data={"csrf_token": token}).text
    assert "13987654321" in revealed and "027-85671234" in revealed
    with transaction() as session:
        actions = session.scalars(select(CaseEvent.action)).all()
        assert actions.count("reveal_phone") == 1
