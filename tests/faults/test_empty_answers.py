"""The assistant answers nothing (a custom action failed): every channel says so in Chinese.

Rasa's REST channel answers an empty list when the action server is down or an action crashed
(see test_action_server_crash.py for the real thing). Here a fake Rasa answers ``[]`` so the
gateway's handling is checked on each channel, quickly: the web chat, the Telegram bot, and the
case that was saved although its answer was lost.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.casework import outbox
from hotline.casework.actors import Actor
from hotline.casework.cases import NewCase, create_case
from hotline.channels import gateway, handoff
from hotline.db import transaction
from hotline.models import ConversationMessage
from tests.bot.conftest import CHAT, start_bot
from tests.bot.fake_rasa import FakeRasa
from tests.console.conftest import make_client, page_csrf
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.timeout(60)
SENDER = "web:empty-answers"


@pytest.fixture()
def silent(rasa: FakeRasa) -> FakeRasa:
    """A Rasa that answers nothing."""
    rasa.responder = lambda request: []
    return rasa


def _case(sender: str = SENDER) -> str:
    with transaction() as session:
        case, _ = create_case(
            session,
            NewCase(
                category="city_management",
                description="路灯坏了",
                location="幸福小区",
                channel="web",
                resident_ref=sender,
            ),
            Actor.resident(sender),
        )
        return case.number


async def _say(text: str, sender: str = SENDER) -> str:
    return "\n".join(r.text for r in await gateway.relay(sender, text))


async def test_nothing_from_the_assistant_is_explained(db_url: str, silent: FakeRasa) -> None:
    reply = await _say("幸福小区3栋")
    assert "没能处理您的消息" in reply and "再发送一次" in reply and "12343" in reply
    with transaction() as session:
        rows = session.scalars(
            select(ConversationMessage).where(ConversationMessage.sender_id == SENDER)
        ).all()
        assert [(r.direction, r.needs_attention) for r in rows] == [
            (handoff.IN, True),
            (handoff.OUT, False),
        ]


async def test_a_case_saved_without_an_answer_is_announced_once(
    db_url: str, silent: FakeRasa
) -> None:
    number = _case()
    first = await _say("/affirm")
    assert number in first and "登记成功" in first and "不需要重复提交" in first
    again = await _say("/affirm")
    assert number not in again and "没能处理" in again


@pytest.mark.parametrize("how", ["told in the chat", "told by the outbox", "another resident"])
async def test_cases_already_told_or_not_theirs_are_not_announced(
    db_url: str, silent: FakeRasa, how: str
) -> None:
    number = _case("web:someone-else" if how == "another resident" else SENDER)
    with transaction() as session:
        if how == "told in the chat":
            handoff.record_message(session, SENDER, handoff.OUT, "bot", f"工单编号：{number}")
        elif how == "told by the outbox":
            from hotline.casework.cases import get_case

            case = get_case(session, number)
            outbox.enqueue(
                session, SENDER, f"系统已恢复，工单编号 {number}", "status", case_id=case.id
            )
    reply = await _say("/affirm")
    assert number not in reply and "没能处理" in reply


def test_web_chat_shows_the_explanation(
    console_env: str, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RASA_URL", rasa.url)
    rasa.responder = lambda request: []
    with make_client() as browser:
        token = page_csrf(browser, "/chat")
        response = browser.post(
            "/chat/send", json={"text": "你好", "id": "m-1"}, headers={"X-CSRF-Token": token}
        )
    assert response.status_code == 200
    [reply] = response.json()["replies"]
    assert "没能处理您的消息" in reply["text"]


async def test_telegram_shows_the_explanation(
    tg: FakeTelegram, silent: FakeRasa, db_url: str
) -> None:
    async with start_bot(tg, silent, db_url) as bot:
        bot.say("幸福小区3栋")
        message = await bot.reply("没能处理您的消息", chat_id=CHAT)
    assert "12343" in message["text"]
