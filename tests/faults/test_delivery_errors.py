"""Telegram API errors while delivering case notices: retried, then failed, and visible.

Three residents' case notices meet 429 flood control, a 502 that never ends, and requests that
time out. The real outbox sender (PTB's Bot with a short read timeout) retries each, delivers
the first and fails the other two after its attempts; an operator sees each outcome, with the
reason, on the case page.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.delivery import OutboxSender
from hotline.casework import outbox
from tests.bot.conftest import TOKEN
from tests.bot.helpers import enqueue, new_case, outbox_row
from tests.fakes.telegram_api import FakeTelegram

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]

FLOOD, BROKEN, SLOW = 7001, 7002, 7003
ATTEMPTS = 3


async def _until(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def _calls(tg: FakeTelegram, chat: int) -> int:
    return sum(1 for c in tg.calls_to("sendMessage") if str(c.get("chat_id")) == str(chat))


async def test_errors_are_retried_then_failed_and_shown(
    console_env: str, tg: FakeTelegram, as_role: Callable[[str], TestClient]
) -> None:
    db_url = console_env
    numbers, rows = {}, {}
    for chat in (FLOOD, BROKEN, SLOW):
        numbers[chat] = new_case(db_url, sender=f"tg:{chat}")
        with_case = {"case_id": _case_id(numbers[chat])}
        rows[chat] = enqueue(db_url, f"工单 {numbers[chat]} 已受理", f"tg:{chat}", **with_case)
    tg.fail_next("sendMessage", retry_after=1, times=2, chat_id=FLOOD)
    tg.fail_next("sendMessage", status=502, times=None, chat_id=BROKEN)
    tg.fail_next("sendMessage", status=504, delay=1.5, times=None, chat_id=SLOW)

    bot = Bot(TOKEN, base_url=tg.base_url, request=HTTPXRequest(read_timeout=0.3))
    await bot.initialize()
    sender = OutboxSender(bot, max_attempts=ATTEMPTS, poll_seconds=0.02, backoff_seconds=0.05)
    stop = asyncio.Event()
    runner = asyncio.create_task(sender.run(stop))
    try:
        await _until(
            lambda: all(
                outbox_row(db_url, rows[c]).status in (outbox.SENT, outbox.FAILED)
                for c in (FLOOD, BROKEN, SLOW)
            )
        )
    finally:
        stop.set()
        await runner
        await bot.shutdown()
        tg.clear_faults()

    flood, broken, slow = (outbox_row(db_url, rows[c]) for c in (FLOOD, BROKEN, SLOW))
    # 429: waited as told, not counted against the row, then delivered.
    assert flood.status == outbox.SENT and flood.attempts == 1 and _calls(tg, FLOOD) == 3
    # 5xx and timeouts: retried with backoff, then failed with the reason.
    assert broken.status == outbox.FAILED and broken.attempts == ATTEMPTS
    assert _calls(tg, BROKEN) == ATTEMPTS and "Bad Gateway" in (broken.last_error or "")
    assert slow.status == outbox.FAILED and slow.attempts == ATTEMPTS
    assert _calls(tg, SLOW) == ATTEMPTS and "TimedOut" in (slow.last_error or "")
    assert [m["text"] for m in tg.sent_messages()] == [f"工单 {numbers[FLOOD]} 已受理"]

    operator = as_role("operator")
    page = operator.get(f"/cases/{numbers[FLOOD]}").text
    assert "已送达" in page and "发送失败" not in page
    for chat, reason in ((BROKEN, "Bad Gateway"), (SLOW, "TimedOut")):
        page = operator.get(f"/cases/{numbers[chat]}").text
        assert "发送失败" in page and f"已尝试 {ATTEMPTS} 次" in page and reason in page


def _case_id(number: str) -> int:
    from hotline.casework.cases import get_case
    from hotline.db import transaction

    with transaction() as session:
        return get_case(session, number).id
