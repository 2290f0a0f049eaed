"""The same Telegram update delivered twice, and the same outbox row attempted twice: one effect.

Already covered elsewhere, and not repeated here:

- ``tests/bot/test_relay.py``: an update (and a button press) delivered again to the running bot
  is relayed once;
- ``tests/bot/test_e2e_rasa.py``: every update of a whole report delivered again to the real
  Rasa stack creates no second case and no new answer;
- ``tests/bot/test_outbox_delivery.py``: a row whose send reached Telegram but whose outcome was
  never recorded (the bot died) is not sent again after a restart (SQLite).

This module adds the cases those leave open: the same update arriving at the same moment
(two bot processes, or a webhook retry racing the first delivery), an update delivered again
to a restarted bot, two outbox senders on the same rows, and the crash-after-send on
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from telegram import Bot

from bot.background import BackgroundWork
from bot.delivery import OutboxSender
from hotline.casework import outbox
from hotline.channels import delivery, gateway
from hotline.db import transaction
from hotline.models import ConversationMessage
from tests.bot.conftest import CHAT, TOKEN, start_bot
from tests.bot.fake_rasa import FakeRasa
from tests.bot.helpers import enqueue, outbox_row, outbox_rows
from tests.fakes.telegram_api import FakeTelegram

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]


async def _until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def _stored(text: str) -> int:
    with transaction() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(ConversationMessage)
                .where(ConversationMessage.text == text)
            )
            or 0
        )


async def test_same_message_arriving_at_the_same_moment_is_relayed_once(
    any_db_url: str, rasa: FakeRasa
) -> None:
    rasa.delay = 0.05
    for n in range(5):
        text = f"同一条消息 {n}"
        results = await asyncio.gather(
            *(
                gateway.relay(f"tg:{CHAT}", text, source_id=f"tg:1:{CHAT}:{100 + n}")
                for _ in range(6)
            )
        )
        answered = [r for r in results if r]
        assert len(answered) == 1 and answered[0][0].text == f"收到：{text}"
        assert _stored(text) == 1
    assert rasa.messages() == [f"同一条消息 {n}" for n in range(5)]


async def test_update_delivered_again_to_a_restarted_bot(
    tg: FakeTelegram, rasa: FakeRasa, db_url: str
) -> None:
    # The bot handled the update but died before Telegram learnt it (the offset was not
    # confirmed): the next bot process gets the same update again.
    update = {**tg.text_message(CHAT, "重启前的消息"), "update_id": 5000}
    async with start_bot(tg, rasa, db_url) as first:
        tg.push_update(update)
        await first.reply("收到：重启前的消息")
    async with start_bot(tg, rasa, db_url) as second:
        tg.push_update(update)
        second.say("重启后的消息")
        await second.reply("收到：重启后的消息")
    assert rasa.messages() == ["重启前的消息", "重启后的消息"]
    texts = [m["text"] for m in tg.sent_messages(CHAT)]
    assert texts.count("收到：重启前的消息") == 1


async def test_two_outbox_senders_deliver_every_row_once(any_db_url: str, tg: FakeTelegram) -> None:
    # Two bot processes by mistake (docs say run one): each row still goes out once.
    ids = [enqueue(any_db_url, f"通知 {n}") for n in range(24)]
    bots = [Bot(TOKEN, base_url=tg.base_url) for _ in range(2)]
    for bot in bots:
        await bot.initialize()
    senders = [OutboxSender(bot, poll_seconds=0.01) for bot in bots]
    stop = asyncio.Event()
    runners = [asyncio.create_task(s.run(stop)) for s in senders]
    try:
        await _until(lambda: all(outbox_row(any_db_url, i).status == outbox.SENT for i in ids))
    finally:
        stop.set()
        await asyncio.gather(*runners)
        for bot in bots:
            await bot.shutdown()
    texts = [m["text"] for m in tg.sent_messages(CHAT)]
    assert sorted(texts) == sorted(f"通知 {n}" for n in range(24))
    assert all(row.attempts == 1 for row in outbox_rows(any_db_url))


async def test_row_sent_but_not_recorded_is_not_resent_on_postgres(
    tg: FakeTelegram, rasa: FakeRasa, pg_url: str
) -> None:
    # As tests/bot/test_outbox_delivery.py does on SQLite: the send reaches Telegram, then the
    # process dies before it records the outcome.
    tg.fail_next("sendMessage", delay=2.0, chat_id=CHAT)
    async with start_bot(tg, rasa, pg_url) as first:
        row_id = enqueue(pg_url, "只发一次")
        await _until(lambda: outbox_row(pg_url, row_id).status == outbox.SENDING)
        await _until(lambda: any(c["text"] == "只发一次" for c in tg.calls_to("sendMessage")))
        work = first.app.bot_data["background"]
        assert isinstance(work, BackgroundWork)
        for task in work._tasks:
            task.cancel()
        await asyncio.gather(*work._tasks, return_exceptions=True)
    await first.reply("只发一次", timeout=5)
    async with start_bot(tg, rasa, pg_url) as second:
        later = enqueue(pg_url, "重启后再发")
        await second.reply("重启后再发")
        await _until(lambda: outbox_row(pg_url, later).status == outbox.SENT)
    texts = [m["text"] for m in tg.sent_messages(CHAT)]
    assert texts.count("只发一次") == 1
    row = outbox_row(pg_url, row_id)
    assert row.status == outbox.FAILED and row.last_error == delivery.INTERRUPTED
