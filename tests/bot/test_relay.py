"""Relay to the assistant: sender id, metadata, replies in order, buttons and callbacks."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from hotline.db import transaction
from hotline.models import ButtonPayload, ConversationMessage
from tests.bot.conftest import CHAT, Harness

pytestmark = pytest.mark.timeout(60)


async def test_text_goes_to_rasa_with_sender_and_metadata(bot: Harness) -> None:
    bot.rasa.responder = lambda r: [{"text": "第一句"}, {"text": "第二句"}]
    bot.say("我家楼下的路灯坏了好几天了", first_name="小王", language_code="zh-hans")
    await bot.reply("第二句")
    request = bot.rasa.requests[0]
    assert request["sender"] == f"tg:{CHAT}"
    assert request["message"] == "我家楼下的路灯坏了好几天了"
    assert request["metadata"] == {
        "channel": "telegram",
        "telegram_user_id": CHAT,
        "language_code": "zh-hans",
        "first_name": "小王",
    }
    texts = [m["text"] for m in bot.tg.sent_messages(CHAT)]
    assert texts == ["第一句", "第二句"]


async def test_buttons_become_inline_keyboard_and_press_goes_back(bot: Harness) -> None:
    short = '/choose_category{"category":"city_management"}'
    long = '/rate_case{"case_number": "SQ20261123-0001", "rating": "basically_satisfied"}'
    assert len(long.encode()) > 64

    def responder(request: dict[str, Any]) -> list[dict[str, Any]]:
        if request["message"].startswith("/"):
            return [{"text": f"按了 {request['message']}"}]
        return [
            {
                "text": "请选择类别：",
                "buttons": [
                    {"title": "城市管理", "payload": short},
                    {"title": "基本满意", "payload": long},
                ],
            }
        ]

    bot.rasa.responder = responder
    bot.say("路灯")
    menu = await bot.reply("请选择类别")
    keyboard = menu["reply_markup"]["inline_keyboard"]
    data = [b["callback_data"] for row in keyboard for b in row]
    assert all(len(d.encode()) <= 64 for d in data)
    assert data[0] == "r:" + short and data[1].startswith("p:")

    since = bot.mark()
    bot.tg.push_update(bot.tg.callback_query(CHAT, data[1], message_id=menu["message_id"]))
    await bot.reply("按了", since=since)
    assert bot.rasa.messages()[-1] == long
    assert bot.tg.calls_to("answerCallbackQuery")
    # The keyboard is removed after the press, so a rating is not sent twice.
    edits = bot.tg.calls_to("editMessageReplyMarkup")
    assert edits and edits[-1]["message_id"] == menu["message_id"]
    # The conversation record shows the button's title, not the payload.
    with transaction(bot.db_url) as session:
        texts = list(session.scalars(select(ConversationMessage.text)))
        assert "基本满意" in texts and long not in texts
        assert session.scalar(select(func.count()).select_from(ButtonPayload)) == 1


async def test_stored_payload_survives_a_restart(bot: Harness) -> None:
    """A long payload's reference is in the database, not in the process's memory."""
    from bot.keyboards import callback_data, decode

    payload = '/rate_case{"case_number": "SQ20261123-0009", "rating": "dissatisfied"}'
    with transaction(bot.db_url) as session:
        data = callback_data(session, payload)
    with transaction(bot.db_url) as session:  # a new session, as after a restart
        decoded = decode(session, data)
    assert (decoded.kind, decoded.value) == ("payload", payload)
    since = bot.mark()
    bot.tg.push_update(bot.tg.callback_query(CHAT, "p:ffffffffffffffffffff"))
    await bot.tg.wait_for_async(lambda calls: bot.tg.calls_to("answerCallbackQuery"))
    assert bot.tg.calls_to("answerCallbackQuery")[-1].get("text")  # "按钮已失效"
    assert bot.mark() == since and bot.rasa.messages() == []


async def test_duplicate_update_is_relayed_once(bot: Harness) -> None:
    update = bot.tg.text_message(CHAT, "重复的消息")
    bot.tg.push_update({**update, "update_id": 77})
    await bot.reply("收到：重复的消息")
    bot.tg.push_update({**update, "update_id": 77})  # Telegram delivers it again
    bot.say("下一条")
    await bot.reply("收到：下一条")
    assert bot.rasa.messages() == ["重复的消息", "下一条"]
    with transaction(bot.db_url) as session:
        count = session.scalar(
            select(func.count())
            .select_from(ConversationMessage)
            .where(ConversationMessage.text == "重复的消息")
        )
    assert count == 1


async def test_menu_buttons(bot: Harness) -> None:
    bot.say("/start")
    welcome = await bot.reply("您好")
    keyboard = welcome["reply_markup"]
    if isinstance(keyboard, str):
        keyboard = json.loads(keyboard)
    titles = [b if isinstance(b, str) else b["text"] for row in keyboard["keyboard"] for b in row]
    assert titles[:4] == ["反映问题", "查询进度", "政策咨询", "转人工"]
    contact_button = keyboard["keyboard"][2][0]
    assert contact_button["request_contact"] is True
    since = bot.mark()
    bot.say("反映问题")
    await bot.reply("收到：/report_start", since=since)
    since = bot.mark()
    bot.say("政策咨询")
    await bot.reply("高龄津贴", since=since)
    assert bot.rasa.messages() == ["/report_start"]


async def test_messages_of_one_resident_stay_in_order(bot: Harness) -> None:
    bot.rasa.delay = 0.05
    for i in range(5):
        bot.say(f"第{i}条")
    await bot.reply("收到：第4条", timeout=15)
    assert bot.rasa.messages() == [f"第{i}条" for i in range(5)]


async def test_duplicate_button_press_is_relayed_once(bot: Harness) -> None:
    bot.rasa.responder = lambda r: [
        {"text": "请确认：", "buttons": [{"title": "确认提交", "payload": "/affirm"}]}
    ]
    bot.say("路灯")
    menu = await bot.reply("请确认")
    press = bot.tg.callback_query(CHAT, "r:/affirm", message_id=menu["message_id"])
    bot.tg.push_update({**press, "update_id": 900})
    await bot.tg.wait_for_async(lambda calls: "/affirm" in bot.rasa.messages())
    bot.tg.push_update({**press, "update_id": 900})  # delivered again
    bot.say("之后")
    await bot.tg.wait_for_async(lambda calls: "之后" in bot.rasa.messages())
    assert bot.rasa.messages() == ["路灯", "/affirm", "之后"]


async def test_a_slow_answer_does_not_hold_up_other_residents(bot: Harness) -> None:
    def responder(request: dict[str, Any]) -> list[dict[str, Any]]:
        if request["sender"] == f"tg:{CHAT}":
            time.sleep(2)
        return [{"text": f"收到：{request['message']}"}]

    bot.rasa.responder = responder
    bot.say("慢的")
    bot.say("快的", chat_id=5151)
    await bot.reply("收到：快的", chat_id=5151)
    assert not bot.tg.sent_messages(CHAT)  # the slow one is still being answered
    await bot.reply("收到：慢的")
