"""Failures: Rasa unreachable gives the busy reply and keeps the message; safe error logs."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.app import on_error
from bot.logs import PersonalDataFilter, mask_personal_data
from hotline.db import transaction
from hotline.models import ConversationMessage
from tests.bot.conftest import Harness, closed_port

pytestmark = pytest.mark.timeout(60)


async def test_rasa_unreachable(bot: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_URL", f"http://127.0.0.1:{closed_port()}")
    bot.say("我家楼下的路灯坏了好几天了")
    reply = await bot.reply("系统繁忙")
    assert "12343" in reply["text"]
    with transaction(bot.db_url) as session:
        row = session.scalar(select(ConversationMessage))
        assert row is not None
        assert row.text == "我家楼下的路灯坏了好几天了" and row.needs_attention


async def test_rasa_error_status(bot: Harness) -> None:
    bot.rasa.status = 500
    bot.say("你好")
    await bot.reply("系统繁忙")


async def test_handler_error_is_logged_with_update_id_only(
    bot: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import bot.handlers as handlers

    async def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("电话 13812345678 张三")

    monkeypatch.setattr(handlers.gateway, "relay", boom)
    caplog.handler.addFilter(PersonalDataFilter())
    with caplog.at_level(logging.ERROR, logger="bot.app"):
        update_id = bot.say("你好", first_name="张三")
        await bot.reply("系统出了点问题")
    assert on_error is not None
    record = next(r for r in caplog.records if r.name == "bot.app")
    assert f"update {update_id}" in record.getMessage()
    logged = caplog.text
    assert "13812345678" not in logged and "138****5678" in logged


def test_masking() -> None:
    assert mask_personal_data("call +86 138 1234 5678 now") == "call 138****5678 now"
    assert mask_personal_data("13812345678") == "138****5678"
    assert mask_personal_data("id 420102199001011234") == "id 420102********1234"
    assert "85671234" not in mask_personal_data("landline 027-85671234")
    assert mask_personal_data("GET /bot123:ABC-def/getMe") == "GET /bot<token>/getMe"
    assert mask_personal_data("update 123456789") == "update 123456789"
