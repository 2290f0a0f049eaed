"""Fixtures for the Telegram front end: the fake Bot API, a fake Rasa, and the running bot."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest
from telegram.ext import Application

from bot.app import build_application, polling
from bot.settings import BotSettings
from tests.bot.fake_rasa import FakeRasa
from tests.fakes.telegram_api import FakeTelegram

TOKEN = "123456:TEST-token"
CHAT = 4242


@pytest.fixture()
def tg() -> Iterator[FakeTelegram]:
    """The fake Telegram Bot API on 127.0.0.1."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture()
def rasa(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRasa]:
    """A fake Rasa REST channel; RASA_URL points at it."""
    fake = FakeRasa().start()
    monkeypatch.setenv("RASA_URL", fake.url)
    yield fake
    fake.stop()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_for(tg: FakeTelegram, **overrides: Any) -> BotSettings:
    """Bot settings pointed at the fake, with short intervals for tests."""
    settings = BotSettings(
        token=TOKEN,
        api_base_url=tg.base_url,
        api_file_url=tg.base_file_url,
        outbox_poll_seconds=0.05,
        outbox_backoff_seconds=0.05,
        alerts_poll_seconds=0.05,
        followup_poll_seconds=3600,
        hotspot_poll_seconds=0.05,
    )
    return replace(settings, **overrides)


@dataclass
class Harness:
    """A running bot with its fakes, and helpers to play the resident."""

    tg: FakeTelegram
    rasa: FakeRasa
    app: Application  # type: ignore[type-arg]
    db_url: str

    def say(self, text: str, chat_id: int = CHAT, **sender: Any) -> int:
        """The resident sends a text; returns the update id."""
        return self.tg.push_update(self.tg.text_message(chat_id, text, **sender))

    def mark(self) -> int:
        """The number of messages sent so far (for ``since=``)."""
        return len(self.tg.sent_messages())

    async def reply(
        self, contains: str | None = None, chat_id: int = CHAT, since: int = 0, timeout: float = 10
    ) -> dict[str, Any]:
        """Waits for a message of the bot to the chat."""
        return await self.tg.wait_for_message_async(chat_id, contains, timeout=timeout, since=since)

    async def settle(self, seconds: float = 0.3) -> None:
        """Lets the bot process what is queued."""
        await asyncio.sleep(seconds)


@asynccontextmanager
async def start_bot(
    tg: FakeTelegram, rasa: FakeRasa, db_url: str, **overrides: Any
) -> AsyncIterator[Harness]:
    """Runs the real bot (long polling against the fake) for the duration of a test."""
    app = build_application(settings_for(tg, **overrides))
    async with polling(app, timeout=1):
        yield Harness(tg, rasa, app, db_url)


@pytest.fixture()
async def bot(tg: FakeTelegram, rasa: FakeRasa, db_url: str) -> AsyncIterator[Harness]:
    """The running bot with default test settings."""
    async with start_bot(tg, rasa, db_url) as harness:
        yield harness
