"""Handoff: while an operator holds the conversation, messages go to the operator, not to Rasa."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.channels import handoff
from hotline.db import transaction
from hotline.models import ConversationMessage, User
from tests.bot.conftest import Harness
from tests.bot.helpers import SENDER, operator

pytestmark = pytest.mark.timeout(60)


async def test_handoff_on_relay_and_off(bot: Harness) -> None:
    user_id = operator(bot.db_url)
    bot.say("我要投诉物业")
    await bot.reply("收到：我要投诉物业")

    since = bot.mark()
    bot.say("/human")
    await bot.reply("排队", since=since)

    since = bot.mark()
    with transaction(bot.db_url) as session:
        user = session.get(User, user_id)
        assert user is not None
        handoff.take(session, SENDER, user)
    await bot.reply("人工客服王芳已接入", since=since)

    since = bot.mark()
    bot.say("物业三个月没修电梯了")
    # A resident's updates are handled in order: once /help is answered, the message before it
    # has been handled too, and the help must be all the bot said.
    bot.say("/help")
    await bot.reply("使用说明", since=since)
    sent = [m["text"] for m in bot.tg.sent_messages()][since:]
    assert len(sent) == 1 and "使用说明" in sent[0]  # the bot says nothing: the operator answers
    assert bot.rasa.messages() == ["我要投诉物业"]
    with transaction(bot.db_url) as session:
        stored = list(
            session.scalars(
                select(ConversationMessage.text).where(ConversationMessage.direction == "in")
            )
        )
        assert "物业三个月没修电梯了" in stored
        user = session.get(User, user_id)
        assert user is not None
        handoff.operator_says(session, SENDER, user, "您好，我们马上联系物业。")
    await bot.reply("我们马上联系物业", since=since)

    since = bot.mark()
    with transaction(bot.db_url) as session:
        handoff.release(session, SENDER)
    await bot.reply("智能助手继续为您服务", since=since)

    bot.say("谢谢")
    await bot.reply("收到：谢谢")
    assert bot.rasa.messages() == ["我要投诉物业", "谢谢"]


async def test_waiting_resident_gets_queue_position(bot: Harness) -> None:
    bot.say("/human")
    await bot.reply("您前面还有 0 位")
    since = bot.mark()
    bot.say("还要等多久")
    await bot.reply("排队", since=since)
    assert bot.rasa.messages() == []
