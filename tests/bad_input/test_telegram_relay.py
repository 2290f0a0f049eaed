"""Hostile input through the Telegram bot (real PTB bot, fake Bot API, fake echoing Rasa).

Whatever a resident sends, the bot answers the resident (the assistant's reply, a command's
help, or a polite refusal) and never falls into its error handler; what reaches the assistant
is the text, cut to the gateway's limit. Forged button data is refused politely. On SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import SORRY
from hotline.channels.gateway import MAX_MESSAGE_CHARS
from tests.bad_input.conftest import assert_no_leak
from tests.bad_input.strategies import hostile_text
from tests.bot.conftest import Harness, start_bot
from tests.bot.fake_rasa import FakeRasa
from tests.fakes.telegram_api import FakeTelegram

pytestmark = [pytest.mark.timeout(300)]
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_chats = itertools.count(900_000)


@pytest.fixture(params=["sqlite", "postgresql"])
async def tg_bot(
    request: pytest.FixtureRequest, tg: FakeTelegram, rasa: FakeRasa
) -> AsyncIterator[Harness]:
    """The running bot on each engine in turn."""
    url = str(request.getfixturevalue("db_url" if request.param == "sqlite" else "pg_url"))
    async with start_bot(tg, rasa, url) as harness:
        yield harness


async def _answers(bot: Harness, chat: int) -> list[str]:
    """Waits for the bot's first answer to a chat, then until it is quiet."""
    await bot.reply(chat_id=chat, timeout=20)
    count = -1
    while count != len(bot.tg.sent_messages(chat)):
        count = len(bot.tg.sent_messages(chat))
        await asyncio.sleep(0.15)
    return [str(m.get("text", "")) for m in bot.tg.sent_messages(chat)]


@PROPERTY
@given(text=hostile_text())
async def test_any_text_is_answered(tg_bot: Harness, text: str) -> None:
    chat = next(_chats)
    tg_bot.say(text, chat_id=chat)
    answers = await _answers(tg_bot, chat)
    assert SORRY not in answers
    for answer in answers:
        assert_no_leak(answer)
    relayed = tg_bot.rasa.messages(f"tg:{chat}")
    if relayed:
        assert relayed == [text[:MAX_MESSAGE_CHARS]]
        if len(text) > MAX_MESSAGE_CHARS:
            assert f"只保留了前 {MAX_MESSAGE_CHARS} 字" in answers[0]
        joined = "".join(answers)
        assert "收到：" in joined and joined.endswith(text[:MAX_MESSAGE_CHARS][-50:])
    else:  # only commands and empty messages are not for the assistant
        assert text.startswith("/") or not text


@PROPERTY
@given(
    data=st.text(max_size=64)
    | st.sampled_from(["r:", "r:/restart", "acc:SQ1", "acc:'; --", "p:999", "😀"])
    | st.text(max_size=30).map(lambda t: "acc:" + t)
)
async def test_forged_button_data_is_handled(tg_bot: Harness, data: str) -> None:
    # Raw payloads (r:) are what a resident could type anyway, and are relayed as such;
    # anything else the bot did not make is refused politely.
    chat = next(_chats)
    before = len(tg_bot.tg.calls_to("answerCallbackQuery"))
    tg_bot.tg.push_update(tg_bot.tg.callback_query(chat, data, message_id=1))
    await tg_bot.tg.wait_for_async(
        lambda calls: len(tg_bot.tg.calls_to("answerCallbackQuery")) > before, timeout=20
    )
    answered: list[dict[str, Any]] = tg_bot.tg.calls_to("answerCallbackQuery")[before:]
    if data.startswith("r:"):
        await tg_bot.reply(chat_id=chat, timeout=20)
        assert tg_bot.rasa.messages(f"tg:{chat}") == [data[2:]]
    else:
        assert answered and str(answered[-1].get("text", "")), answered
        if not data.startswith("acc:"):
            assert "失效" in str(answered[-1]["text"])
        assert tg_bot.rasa.messages(f"tg:{chat}") == []
    assert SORRY not in [m.get("text") for m in tg_bot.tg.sent_messages(chat)]
