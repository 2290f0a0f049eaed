"""End to end: a resident reports a problem on Telegram to the real Rasa and action server.

The real PTB bot talks to the fake Bot API; Rasa and the action server run as processes
(``rasa_stack`` in tests/servers.py) against a temporary case database.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import build_application, polling
from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, apply_action, get_case
from hotline.db import transaction
from hotline.models import Case
from tests.bot.conftest import settings_for
from tests.fakes.telegram_api import FakeTelegram
from tests.servers import Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

CASE_NUMBER = re.compile(r"[A-Z]{2}\d{8}-\d{4}")
TURN_SECONDS = 90.0


class Resident:
    """Plays a resident in one chat and reads the bot's answers."""

    def __init__(self, tg: FakeTelegram, chat_id: int) -> None:
        self.tg = tg
        self.chat_id = chat_id
        self.updates: list[dict[str, Any]] = []
        self.seen = 0

    def push(self, update: dict[str, Any]) -> None:
        update_id = self.tg.push_update(update)
        self.updates.append({**update, "update_id": update_id})

    def say(self, text: str) -> None:
        self.push(self.tg.text_message(self.chat_id, text))

    def press(self, message: dict[str, Any], title: str) -> None:
        keyboard = message["reply_markup"]["inline_keyboard"]
        data = next(b["callback_data"] for row in keyboard for b in row if b["text"] == title)
        self.push(self.tg.callback_query(self.chat_id, data, message_id=message["message_id"]))

    async def answers(self, quiet: float = 1.0) -> list[dict[str, Any]]:
        """Waits for the bot's next answers: at least one, then until it is quiet."""
        deadline = time.monotonic() + TURN_SECONDS
        while len(self.tg.sent_messages(self.chat_id)) <= self.seen:
            if time.monotonic() > deadline:
                raise AssertionError(f"no answer; transcript: {self.transcript()}")
            await asyncio.sleep(0.1)
        count = -1
        while count != len(self.tg.sent_messages(self.chat_id)):
            count = len(self.tg.sent_messages(self.chat_id))
            await asyncio.sleep(quiet)
        new = self.tg.sent_messages(self.chat_id)[self.seen :]
        self.seen = count
        return new

    def transcript(self) -> list[str]:
        return [m["text"] for m in self.tg.sent_messages(self.chat_id)]


def _titles(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


@pytest.fixture()
async def stack_bot(
    rasa_stack: Stack, tg: FakeTelegram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stack]:
    """The bot running in this process against the stack's Rasa and case database."""
    monkeypatch.setenv("HOTLINE_MEDIA_DIR", str(tmp_path / "media"))
    async with polling(build_application(settings_for(tg)), timeout=1):
        yield rasa_stack


async def _report(resident: Resident) -> str:
    """Reports the broken street light, answering whatever the assistant asks."""
    resident.say("我家楼下的路灯坏了好几天了")
    for _ in range(10):
        answers = await resident.answers()
        for message in answers:
            found = CASE_NUMBER.search(message["text"])
            if found:
                return found.group()
        last = answers[-1]
        text, titles = last["text"], _titles(last)
        if "确认提交" in titles:
            resident.press(last, "确认提交")
        elif "哪一类" in text and "城市管理" in titles:
            resident.press(last, "城市管理")
        elif "在哪里" in text or "位置" in text:
            resident.push(resident.tg.location_message(resident.chat_id, 30.592849, 114.305539))
        elif "电话" in text:
            resident.push(
                resident.tg.contact_message(resident.chat_id, "8613812345678", resident.chat_id)
            )
        elif "称呼" in text:
            resident.say("匿名")
        elif "确认" in text:
            resident.say("确认")
        else:
            raise AssertionError(f"unexpected question; transcript: {resident.transcript()}")
    raise AssertionError(f"no case number; transcript: {resident.transcript()}")


def _cases(db_url: str, sender: str) -> list[Case]:
    with transaction(db_url) as session:
        rows = list(session.scalars(select(Case).where(Case.resident_ref == sender)))
        for row in rows:
            session.expunge(row)
        return rows


async def test_report_on_telegram_creates_the_case(stack_bot: Stack, tg: FakeTelegram) -> None:
    resident = Resident(tg, 71001)
    number = await _report(resident)

    [case] = _cases(stack_bot.db_url, "tg:71001")
    assert case.number == number
    assert case.category == "city_management" and case.channel == "telegram"
    assert case.phone == "+8613812345678"
    assert "30.5928" in case.location
    assert case.latitude == pytest.approx(30.592849) and case.longitude == pytest.approx(114.305539)
    assert any(number in text for text in resident.transcript())

    # Telegram delivers every update of the conversation again: still one case, no new answers.
    sent = len(tg.sent_messages(resident.chat_id))
    mark = len(tg.sent_messages())
    for update in resident.updates:
        tg.push_update(update)
    # A resident's updates are handled in order: once /help after them is answered, every
    # delivered-again update has been handled, and the help must be the only new answer.
    tg.push_update(tg.text_message(resident.chat_id, "/help"))
    await tg.wait_for_message_async(resident.chat_id, "使用说明", timeout=60, since=mark)
    assert len(_cases(stack_bot.db_url, "tg:71001")) == 1
    assert len(tg.sent_messages(resident.chat_id)) == sent + 1


async def test_dissatisfied_rating_reopens_end_to_end(stack_bot: Stack, tg: FakeTelegram) -> None:
    resident = Resident(tg, 71002)
    number = await _report(resident)
    operator = Actor.operator("alice")
    with transaction(stack_bot.db_url) as session:
        for action, note in (("accept", None), ("dispatch", None), ("start", None)):
            apply_action(session, get_case(session, number), action, operator, ActionInput(note))
        apply_action(
            session, get_case(session, number), "resolve", operator, ActionInput("路灯已更换")
        )
    survey = None
    for _ in range(5):
        for message in await resident.answers():
            if "评价" in message["text"]:
                survey = message
        if survey is not None:
            break
    assert survey is not None and number in survey["text"]
    assert _titles(survey) == ["非常满意", "满意", "基本满意", "不满意"]

    resident.press(survey, "不满意")
    answers = await resident.answers(quiet=2.0)
    assert any("重新办理" in m["text"] for m in answers), resident.transcript()
    with transaction(stack_bot.db_url) as session:
        case = get_case(session, number)
        assert case.status == "in_progress"
        assert case.satisfaction == "dissatisfied" and case.flagged
