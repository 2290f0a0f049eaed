"""Limits and odd input: rate limit, long messages, unsupported types, edited messages."""

from __future__ import annotations

import pytest

from hotline.channels.gateway import MAX_MESSAGE_CHARS, RATE_LIMIT_PER_MINUTE
from tests.bot.conftest import CHAT, Harness

pytestmark = pytest.mark.timeout(90)


async def test_rate_limit(bot: Harness) -> None:
    for i in range(RATE_LIMIT_PER_MINUTE + 1):
        bot.say(f"消息{i}")
    await bot.reply("太频繁", timeout=30)
    assert len(bot.rasa.messages()) == RATE_LIMIT_PER_MINUTE
    assert f"消息{RATE_LIMIT_PER_MINUTE}" not in bot.rasa.messages()


async def test_long_message_is_cut_and_the_resident_told(bot: Harness) -> None:
    bot.say("长" * (MAX_MESSAGE_CHARS + 500))
    await bot.reply(f"只保留了前 {MAX_MESSAGE_CHARS} 字")
    assert bot.rasa.messages() == ["长" * MAX_MESSAGE_CHARS]


async def test_long_reply_is_split(bot: Harness) -> None:
    bot.rasa.responder = lambda r: [{"text": "答" * 5000}]
    bot.say("问")
    await bot.tg.wait_for_async(lambda calls: len(bot.tg.sent_messages(CHAT)) >= 2)
    parts = [m["text"] for m in bot.tg.sent_messages(CHAT)]
    assert "".join(parts) == "答" * 5000


async def test_sticker_and_voice_get_a_polite_reply(bot: Harness) -> None:
    bot.tg.push_update(bot.tg.sticker_message(CHAT))
    await bot.reply("暂时无法处理语音、贴纸")
    since = bot.mark()
    bot.tg.push_update(bot.tg.voice_message(CHAT, "voice-1"))
    await bot.reply("暂时无法处理语音、贴纸", since=since)
    assert bot.rasa.messages() == []


async def test_edited_message_is_ignored_with_a_note(bot: Harness) -> None:
    update = bot.tg.text_message(CHAT, "原来的话")
    bot.tg.push_update(update)
    await bot.reply("收到：原来的话")
    message_id = update["message"]["message_id"]
    bot.tg.push_update(bot.tg.edited_message(CHAT, message_id, "改过的话"))
    await bot.reply("修改已发送的消息不会被处理")
    assert bot.rasa.messages() == ["原来的话"]


async def test_group_messages_are_ignored(bot: Harness) -> None:
    bot.tg.push_update(bot.tg.text_message(-100123, "群里说话", user_id=5))
    bot.say("私聊")
    await bot.reply("收到：私聊")
    assert bot.rasa.messages() == ["私聊"]
    assert bot.tg.sent_messages(-100123) == []
