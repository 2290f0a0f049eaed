"""Hotspot alerts: a cluster that grows past the alert size within a day is posted to the
operators' group once, with its place, topic, size and a link to the hotspots page."""

from __future__ import annotations

import asyncio

import pytest

from hotline.casework.actors import Actor
from hotline.casework.cases import NewCase, create_case
from hotline.db import transaction
from tests.bot.conftest import start_bot
from tests.bot.fake_rasa import FakeRasa
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.timeout(60)

GROUP = -100888
REPORTS = [
    "幸福路12号门口的路灯坏了，晚上一片漆黑",
    "幸福路12号那边路灯不亮好几天了",
    "幸福路12号楼下路灯晚上不亮，走路很危险",
    "幸福路12号的路灯还是没修好，一直不亮",
]


def report(db_url: str, index: int) -> str:
    """A resident reports the broken lamp; returns the case number."""
    sender = f"tg:{7000 + index}"
    with transaction(db_url) as session:
        case, _ = create_case(
            session,
            NewCase(
                category="city_management",
                description=REPORTS[index],
                phone="13812345678",
                location="幸福路12号",
                channel="telegram",
                resident_ref=sender,
            ),
            Actor.resident(sender),
        )
        return case.number


def hotspot_posts(tg: FakeTelegram) -> list[str]:
    return [m["text"] for m in tg.sent_messages(GROUP) if "热点预警" in m.get("text", "")]


async def test_a_growing_hotspot_is_posted_once(
    tg: FakeTelegram, rasa: FakeRasa, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_HOTSPOT_ALERT_SIZE", "3")
    monkeypatch.setenv("HOTLINE_CONSOLE_URL", "https://rexian.example.cn/")
    numbers = [report(db_url, 0), report(db_url, 1)]
    async with start_bot(tg, rasa, db_url, operator_chat_id=GROUP):
        await asyncio.sleep(0.5)  # ten rounds of the check: two reports are no hotspot yet
        assert hotspot_posts(tg) == []
        numbers.append(report(db_url, 2))
        alert = await tg.wait_for_message_async(GROUP, "热点预警", timeout=15)
        text = alert["text"]
        assert text.startswith("🔥 热点预警：") and "（3 件）" in text
        assert "幸福路" in text and "城市管理" in text
        assert all(n in text for n in numbers)
        assert "https://rexian.example.cn/hotspots?days=7#hotspot-" in text
        assert "13812345678" not in text and "5678" not in text
        await asyncio.sleep(0.5)  # more rounds: the same hotspot is not posted again
        assert len(hotspot_posts(tg)) == 1
    assert len(hotspot_posts(tg)) == 1


async def test_no_group_no_hotspot_alerts(
    tg: FakeTelegram, rasa: FakeRasa, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_HOTSPOT_ALERT_SIZE", "2")
    report(db_url, 0)
    report(db_url, 1)
    async with start_bot(tg, rasa, db_url) as bot:
        work = bot.app.bot_data["background"]
        assert "hotspots" not in [task.get_name() for task in work._tasks]
        await asyncio.sleep(0.3)
    assert hotspot_posts(tg) == []
