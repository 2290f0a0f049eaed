"""Outbox delivery: retries, 429 retry_after, failure after N attempts, no duplicate on restart."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.background import BackgroundWork
from hotline.casework import outbox
from hotline.casework.vocab import Channel
from hotline.channels import delivery
from hotline.db import transaction
from tests.bot.conftest import CHAT, Harness, start_bot
from tests.bot.fake_rasa import FakeRasa
from tests.bot.helpers import enqueue, outbox_row
from tests.fakes.telegram_api import FakeTelegram

pytestmark = [
    pytest.mark.timeout(60),
    # PTB's RetryAfter warns about its future timedelta type when it is created.
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]


async def _until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_row_is_delivered_with_its_buttons(bot: Harness) -> None:
    payload = '/rate_case{"case_number": "SQ1", "rating": "satisfied"}'
    buttons = [{"title": "满意", "payload": payload}]
    row_id = enqueue(bot.db_url, "您的工单已办结", payload={"buttons": buttons})
    message = await bot.reply("您的工单已办结")
    assert message["reply_markup"]["inline_keyboard"][0][0]["text"] == "满意"
    await _until(lambda: outbox_row(bot.db_url, row_id).status == outbox.SENT)
    row = outbox_row(bot.db_url, row_id)
    assert row.attempts == 1 and row.sent_at is not None


async def test_429_retry_after_is_honoured(bot: Harness) -> None:
    bot.tg.fail_next("sendMessage", retry_after=1)
    started = time.monotonic()
    row_id = enqueue(bot.db_url, "限流后再发")
    await bot.reply("限流后再发", timeout=10)
    assert time.monotonic() - started >= 1.0
    calls = [c for c in bot.tg.calls_to("sendMessage") if c.get("text") == "限流后再发"]
    assert len(calls) == 2  # the refused call, then the delivery
    await _until(lambda: outbox_row(bot.db_url, row_id).status == outbox.SENT)
    assert outbox_row(bot.db_url, row_id).attempts == 1  # flood control is not the row's fault


async def test_5xx_and_network_errors_back_off_then_deliver(bot: Harness) -> None:
    bot.tg.fail_next("sendMessage", status=502, times=2)
    row_id = enqueue(bot.db_url, "网关错误后送达")
    await bot.reply("网关错误后送达")
    await _until(lambda: outbox_row(bot.db_url, row_id).status == outbox.SENT)
    assert outbox_row(bot.db_url, row_id).attempts == 3


async def test_gives_up_after_n_attempts(bot: Harness) -> None:
    bot.tg.fail_next("sendMessage", status=500, times=None)
    row_id = enqueue(bot.db_url, "一直失败")
    await _until(lambda: outbox_row(bot.db_url, row_id).status == outbox.FAILED)
    row = outbox_row(bot.db_url, row_id)
    assert row.attempts == 5 and row.last_error and "Internal Server Error" in row.last_error
    calls = [c for c in bot.tg.calls_to("sendMessage") if c.get("text") == "一直失败"]
    assert len(calls) == 5
    bot.tg.clear_faults()


async def test_blocked_bot_fails_at_once(bot: Harness) -> None:
    bot.tg.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked")
    row_id = enqueue(bot.db_url, "被拉黑")
    await _until(lambda: outbox_row(bot.db_url, row_id).status == outbox.FAILED)
    assert outbox_row(bot.db_url, row_id).attempts == 1


async def test_restart_mid_delivery_sends_no_duplicate(
    tg: FakeTelegram, rasa: FakeRasa, db_url: str
) -> None:
    # The send reaches Telegram, but the process dies before it records the outcome.
    tg.fail_next("sendMessage", delay=2.0, chat_id=CHAT)
    async with start_bot(tg, rasa, db_url) as first:
        row_id = enqueue(db_url, "只发一次")
        await _until(lambda: outbox_row(db_url, row_id).status == outbox.SENDING)
        # The HTTP request is in flight: Telegram has it, the bot waits for the answer.
        await _until(lambda: any(c["text"] == "只发一次" for c in tg.calls_to("sendMessage")))
        work = first.app.bot_data["background"]
        assert isinstance(work, BackgroundWork)
        for task in work._tasks:  # the crash: nothing after the send runs
            task.cancel()
        await asyncio.gather(*work._tasks, return_exceptions=True)
        later_id = enqueue(db_url, "重启后再发")
    await first.reply("只发一次", timeout=5)  # Telegram did deliver it
    assert outbox_row(db_url, row_id).status == outbox.SENDING

    async with start_bot(tg, rasa, db_url) as second:
        await second.reply("重启后再发")
        await _until(lambda: outbox_row(db_url, later_id).status == outbox.SENT)
        # A last row, sent after the others: a resend would have gone out before it.
        marker_id = enqueue(db_url, "最后一条")
        await _until(lambda: outbox_row(db_url, marker_id).status == outbox.SENT)
    texts = [m["text"] for m in tg.sent_messages(CHAT)]
    assert texts.count("只发一次") == 1 and texts.count("重启后再发") == 1
    row = outbox_row(db_url, row_id)
    assert row.status == outbox.FAILED and row.last_error == delivery.INTERRUPTED


def test_stale_sending_row_is_failed_not_reclaimed(db_url: str) -> None:
    from datetime import timedelta

    from hotline.models import utcnow

    row_id = enqueue(db_url, "卡住")
    with transaction(db_url) as session:
        claimed = delivery.claim_next(session, Channel.TELEGRAM)
        assert claimed is not None and claimed.id == row_id
    later = utcnow() + timedelta(minutes=10)
    with transaction(db_url) as session:
        assert delivery.claim_next(session, Channel.TELEGRAM, now=later) is None
    assert outbox_row(db_url, row_id).status == outbox.FAILED


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [delivery.backoff_delay(n, 2.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert delivery.backoff_delay(20, 2.0, cap_seconds=300) == 300
