"""/privacy and /forget in the resident web chat, as on Telegram; a deletion asked for in the web
chat and carried out on /data-requests leaves nothing of the resident in any file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, NewCase, apply_action, create_case
from hotline.channels import gateway
from hotline.db import dispose_engines, transaction
from hotline.models import DataRequest, utcnow
from hotline.residents import self_service
from tests.console.conftest import csrf_of
from tests.console.test_handoff_and_chat import Resident
from tests.stores import RasaWriter, files_holding, new_resident


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
        return [gateway.Reply("好的，请继续。")]

    monkeypatch.setattr(gateway, "post_to_rasa", fake)
    return calls


def requests_of(sender: str) -> int:
    with transaction() as session:
        return int(
            session.scalar(
                select(func.count(DataRequest.id)).where(DataRequest.sender_id == sender)
            )
            or 0
        )


def only_reply(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    replies = response.json()["replies"]
    assert len(replies) == 1, replies
    return dict(replies[0])


def test_privacy_is_answered_without_the_assistant(
    resident: Resident, rasa_calls: list[str]
) -> None:
    reply = only_reply(resident.say("/privacy"))
    assert reply["text"] == self_service.privacy_notice()
    assert "会话记录" in reply["text"] and "/forget" in reply["text"]
    assert rasa_calls == []


def test_forget_asks_first_and_records_only_when_confirmed(
    resident: Resident, rasa_calls: list[str]
) -> None:
    question = only_reply(resident.say("/forget"))
    assert "删除" in question["text"] and "无法恢复" in question["text"]
    assert [b["payload"] for b in question["buttons"]] == ["/forget_confirm", "/forget_cancel"]
    assert requests_of(resident.sender) == 0

    cancelled = only_reply(resident.say(question["buttons"][1]["payload"]))
    assert cancelled["text"] == self_service.DELETION_CANCELLED
    assert requests_of(resident.sender) == 0

    done = only_reply(resident.say(question["buttons"][0]["payload"]))
    assert done["text"].startswith("已收到您删除个人信息的申请")
    assert requests_of(resident.sender) == 1
    again = only_reply(resident.say("/forget_confirm"))
    assert "正在处理中" in again["text"]
    assert requests_of(resident.sender) == 1
    assert rasa_calls == []  # none of it went to the assistant


def test_a_web_chat_deletion_carried_out_on_the_console_leaves_nothing(
    resident: Resident,
    rasa_calls: list[str],
    as_role: Callable[[str], TestClient],
    var_dir: Path,
    sqlite_tracker: dict[str, object],
) -> None:
    planted = new_resident()
    planted.sender = resident.sender
    # The resident tells the web chat their problem and phone (stored by the gateway).
    resident.say(planted.words)
    resident.say(f"我的电话是 {planted.phone}，我叫{planted.name}")
    assert rasa_calls == [planted.words, f"我的电话是 {planted.phone}，我叫{planted.name}"]
    when = utcnow() - timedelta(days=2)
    with transaction() as session:
        case, _ = create_case(
            session,
            NewCase(
                category="city_management",
                description=planted.words,
                phone=planted.phone,
                contact_name=planted.name,
                channel="web",
                resident_ref=resident.sender,
            ),
            Actor.resident(resident.sender),
            now=when,
        )
        for action in ("accept", "dispatch", "resolve", "close"):
            note = ActionInput(note="路灯已修复")
            apply_action(session, case, action, Actor.operator("wang"), note, now=when)
    rasa = RasaWriter(sqlite_tracker, planted, when.timestamp())
    try:
        assert any(f.startswith("hotline.db") for f in files_holding(var_dir, planted))
        assert any(f.startswith("rasa_tracker.db") for f in files_holding(var_dir, planted))
        resident.say("/forget")
        resident.say("/forget_confirm")
        with transaction() as session:
            request_id = session.scalar(
                select(DataRequest.id).where(DataRequest.sender_id == resident.sender)
            )
        supervisor = as_role("supervisor")
        done = supervisor.post(
            f"/data-requests/{request_id}/carry-out", data={"csrf_token": csrf_of(supervisor)}
        )
        assert done.status_code == 303
        dispose_engines()
        assert files_holding(var_dir, planted) == []
        assert rasa.read_back() == {"mine": None, "theirs": 1}
    finally:
        rasa.stop()
    # The chat page shows none of it any more.
    assert planted.words not in resident.client.get("/chat").text
