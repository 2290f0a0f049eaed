"""End to end: a report over Telegram to the real Rasa and action server, closed, then /forget
carried out with ``hotline retention forget ID``: the resident's phone, name and words are in
no file of the case database, Rasa's tracker store (Rasa still running), media or spool."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_application, polling
from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, apply_action, get_case
from hotline.cli import main
from hotline.db import dispose_engines, transaction
from hotline.models import DataRequest
from tests.bot.conftest import settings_for
from tests.bot.test_e2e_rasa import CASE_NUMBER, Resident, _titles
from tests.fakes.telegram_api import FakeTelegram
from tests.servers import Stack
from tests.stores import Resident as Planted
from tests.stores import new_resident

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture()
async def stack_bot(
    rasa_stack: Stack, tg: FakeTelegram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stack]:
    """The bot in this process, against the stack; media and spool under the stack's var/."""
    var_dir = rasa_stack.workdir / "var"
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(var_dir))
    monkeypatch.setenv("HOTLINE_MEDIA_DIR", str(var_dir / "media"))
    async with polling(build_application(settings_for(tg)), timeout=1):
        yield rasa_stack


async def _report(resident: Resident, planted: Planted) -> str:
    """Reports the problem in the planted words, typing the planted phone and name."""
    resident.say(planted.words)
    for _ in range(12):
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
            resident.say("武昌区幸福小区3栋楼下")
        elif "电话" in text:
            resident.say(f"我的电话是{planted.phone}")
        elif "称呼" in text:
            resident.say(f"我叫{planted.name}")
        elif "确认" in text:
            resident.say("确认")
        else:
            raise AssertionError(f"unexpected question; transcript: {resident.transcript()}")
    raise AssertionError(f"no case number; transcript: {resident.transcript()}")


def _files_holding(stack: Stack, planted: Planted) -> list[str]:
    """The stack's databases (with -wal and -shm), media and spool holding a secret."""
    paths = [
        *stack.workdir.glob("hotline.db*"),
        *stack.workdir.glob("tracker.db*"),
        *(p for p in (stack.workdir / "var").rglob("*") if p.is_file()),
    ]
    return [
        f"{path.relative_to(stack.workdir)}: {what}"
        for path in sorted(paths)
        for what, secret in planted.secrets.items()
        if secret in path.read_bytes()
    ]


async def test_forget_after_a_telegram_report_leaves_nothing(
    stack_bot: Stack, tg: FakeTelegram
) -> None:
    chat_id = random.randint(72000, 72999)
    planted = new_resident()
    planted.sender = f"tg:{chat_id}"
    planted.words = f"我家楼下的路灯坏了好几天了，紫藤{uuid.uuid4().hex[:8]}"
    resident = Resident(tg, chat_id)
    number = await _report(resident, planted)
    with transaction(stack_bot.db_url) as session:
        case = get_case(session, number)
        assert planted.phone in (case.phone or "") and case.contact_name == planted.name
        operator = Actor.operator("alice")
        for action in ("accept", "dispatch", "resolve", "close"):
            apply_action(session, case, action, operator, ActionInput("路灯已更换"))
    planted_in = _files_holding(stack_bot, planted)
    assert any(f.startswith("tracker.db") and f.endswith(": phone") for f in planted_in)
    assert any(f.startswith("hotline.db") and f.endswith(": phone") for f in planted_in)

    resident.say("/forget")
    assert any("删除" in m["text"] for m in await resident.answers())
    with transaction(stack_bot.db_url) as session:
        request = session.query(DataRequest).filter_by(sender_id=planted.sender).one()
    assert main(["retention", "forget", str(request.id)]) == 0
    dispose_engines()
    assert _files_holding(stack_bot, planted) == []

    # Rasa, which kept running, starts the resident afresh.
    resident.say("你好")
    assert await resident.answers()
    assert _files_holding(stack_bot, planted) == []
