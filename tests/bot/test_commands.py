"""Commands: /help, /status, /cancel, /human, /privacy, /forget and unknown ones."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.db import transaction
from hotline.models import DataRequest
from tests.bot.conftest import CHAT, Harness
from tests.bot.helpers import SENDER, act, new_case

pytestmark = pytest.mark.timeout(60)


async def test_help_lists_the_commands(bot: Harness) -> None:
    bot.say("/help")
    reply = await bot.reply("使用说明")
    for command in ("/status", "/cancel", "/human", "/privacy", "/forget"):
        assert command in reply["text"]
    assert bot.tg.calls_to("setMyCommands")  # the command menu in Telegram's UI


async def test_status_shows_only_own_cases(bot: Harness) -> None:
    bot.say("/status")
    await bot.reply("没有正在办理的工单")

    mine = new_case(bot.db_url)
    act(bot.db_url, mine, "accept")
    theirs = new_case(bot.db_url, sender="tg:999")
    await bot.reply("已受理")  # the outbox notice of the accept
    since = bot.mark()
    bot.say("/status")
    listing = await bot.reply(mine, since=since)
    assert "已受理" in listing["text"] and "城市管理" in listing["text"]
    assert theirs not in listing["text"]

    since = bot.mark()
    bot.say(f"/status {mine.lower()}")
    await bot.reply(f"工单 {mine}", since=since)

    since = bot.mark()
    bot.say(f"/status {theirs}")
    other = await bot.reply("没有找到", since=since)
    missing = "SQ20000101-9999"
    since = bot.mark()
    bot.say(f"/status {missing}")
    absent = await bot.reply("没有找到", since=since)
    # Someone else's case gets the same answer as one that does not exist.
    assert other["text"].replace(theirs, "X") == absent["text"].replace(missing, "X")

    since = bot.mark()
    bot.say("查询进度")  # the menu button
    await bot.reply(mine, since=since)
    assert bot.rasa.messages() == []


async def test_cancel(bot: Harness) -> None:
    bot.say("/cancel")
    await bot.reply("收到：/cancel_case")  # the assistant stops its form
    bot.say("/human")
    await bot.reply("排队")
    since = bot.mark()
    bot.say("/cancel")
    await bot.reply("智能助手继续为您服务", since=since)
    since = bot.mark()
    bot.say("你好")
    await bot.reply("收到：你好", since=since)


async def test_human_twice_keeps_one_place(bot: Harness) -> None:
    bot.say("/human")
    await bot.reply("您前面还有 0 位")
    since = bot.mark()
    bot.say("转人工")  # the menu button
    await bot.reply("您前面还有 0 位", since=since)


async def test_privacy_and_forget(bot: Harness) -> None:
    bot.say("/privacy")
    notice = await bot.reply("个人信息说明")
    for word in ("手机号", "保存", "工作人员", "/forget"):
        assert word in notice["text"]

    new_case(bot.db_url)
    since = bot.mark()
    bot.say("/forget")
    reply = await bot.reply("删除个人信息的申请", since=since)
    assert "1 个工单正在办理" in reply["text"]
    since = bot.mark()
    bot.say("/forget")
    await bot.reply("正在处理中", since=since)
    with transaction(bot.db_url) as session:
        requests = list(session.scalars(select(DataRequest)))
    assert [(r.sender_id, r.kind, r.status) for r in requests] == [(SENDER, "delete", "open")]


async def test_unknown_command(bot: Harness) -> None:
    bot.say("/bogus")
    reply = await bot.reply("没有这个命令")
    assert "/status" in reply["text"] and "/forget" in reply["text"]  # the help follows
    assert [m["text"] for m in bot.tg.sent_messages(CHAT)] == [reply["text"]]
    assert bot.rasa.messages() == []
