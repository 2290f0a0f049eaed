"""The bot's background work: outbox delivery, operator alerts (urgent cases and hotspots),
closing unanswered surveys."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telegram import Bot

from bot.delivery import OutboxSender
from bot.operator_group import post_hotspot_alerts, post_new_alerts
from bot.settings import BotSettings
from hotline.casework import followup
from hotline.db import transaction

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0
"""How long stopping waits for a send in progress before cancelling it."""


def _close_unanswered() -> list[str]:
    with transaction() as session:
        return followup.close_unanswered(session)


async def close_unanswered_surveys() -> list[str]:
    """Closes resolved cases whose survey went unanswered for 3 days (see
    ``hotline.casework.followup``)."""
    numbers = await asyncio.to_thread(_close_unanswered)
    if numbers:
        log.info("closed %d cases without a survey answer", len(numbers))
    return numbers


async def _every(
    name: str, seconds: float, work: Callable[[], Awaitable[object]], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            await work()
        except Exception:
            log.exception("%s failed; trying again in %.0fs", name, seconds)
        try:
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        except TimeoutError:
            pass


class BackgroundWork:
    """Starts and stops the periodic tasks of a running bot."""

    def __init__(self, bot: Bot, settings: BotSettings) -> None:
        """Prepares the tasks; nothing runs before :meth:`start`."""
        self.settings = settings
        self.sender = OutboxSender(
            bot,
            max_attempts=settings.outbox_max_attempts,
            poll_seconds=settings.outbox_poll_seconds,
            backoff_seconds=settings.outbox_backoff_seconds,
        )
        self._bot = bot
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Recovers interrupted sends, then starts delivering and the periodic jobs."""
        self._stop.clear()
        await self.sender.recover()
        self._tasks.append(asyncio.create_task(self.sender.run(self._stop), name="outbox"))
        self._tasks.append(
            asyncio.create_task(
                _every(
                    "survey follow-up",
                    self.settings.followup_poll_seconds,
                    close_unanswered_surveys,
                    self._stop,
                ),
                name="followup",
            )
        )
        chat_id = self.settings.operator_chat_id
        if chat_id is not None:
            self._tasks.append(
                asyncio.create_task(
                    _every(
                        "operator alerts",
                        self.settings.alerts_poll_seconds,
                        lambda: post_new_alerts(self._bot, chat_id),
                        self._stop,
                    ),
                    name="alerts",
                )
            )
            self._tasks.append(
                asyncio.create_task(
                    _every(
                        "hotspot alerts",
                        self.settings.hotspot_poll_seconds,
                        lambda: post_hotspot_alerts(self._bot, chat_id),
                        self._stop,
                    ),
                    name="hotspots",
                )
            )

    async def stop(self) -> None:
        """Stops the tasks, letting a send in progress finish first."""
        self._stop.set()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=STOP_GRACE_SECONDS)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._tasks.clear()
