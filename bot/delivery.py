"""The outbox sender: delivers what ``hotline`` queued for Telegram residents.

Status changes, operator replies, handoff notices and follow-up surveys are written to the outbox
by the core, in the transaction that causes them. This loop claims one due row at a time, sends
it (with its buttons as an inline keyboard) and records the outcome:

- sent: ``sent``, never sent again (deduplicated by row id: a row is claimed by one sender);
- 429 flood control: retried after Telegram's ``retry_after``, and the loop pauses that long;
  the attempt is not counted;
- network errors, timeouts and 5xx: retried with exponential backoff;
- anything Telegram refuses for good (the resident blocked the bot, chat not found, bad
  request): ``failed`` at once;
- after ``max_attempts`` attempts: ``failed``, which the console lists.

Never twice after a restart: a row is claimed right before its send. If the process dies after
the claim committed and before the outcome is recorded, nobody knows whether Telegram delivered
it; the next start marks such rows ``failed`` (see :mod:`hotline.channels.delivery`) rather than
sending them again. That window is one HTTP request long; the console shows such a row as failed.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)

from bot.handlers import chat_of
from bot.outgoing import keyboard_for, truncate
from hotline.casework.vocab import Channel
from hotline.channels import delivery
from hotline.db import transaction
from hotline.errors import StorageUnavailableError
from hotline.models import utcnow

log = logging.getLogger(__name__)

CHANNEL = Channel.TELEGRAM


@dataclass(frozen=True)
class ClaimedRow:
    """What the sender needs of a claimed outbox row."""

    id: int
    recipient: str
    text: str
    buttons: list[dict[str, str]]
    attempts: int


def retry_after_seconds(exc: RetryAfter) -> float:
    """Telegram's ``retry_after`` in seconds (an int or a timedelta, depending on PTB settings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _claim() -> ClaimedRow | None:
    with transaction() as session:
        row = delivery.claim_next(session, CHANNEL)
        if row is None:
            return None
        payload = row.payload or {}
        buttons = payload.get("buttons") if isinstance(payload, dict) else None
        return ClaimedRow(
            row.id,
            row.recipient,
            row.text,
            [b for b in buttons if isinstance(b, dict)] if isinstance(buttons, list) else [],
            row.attempts,
        )


def _recover() -> list[int]:
    with transaction() as session:
        return delivery.recover_interrupted(session, CHANNEL)


def _sent(row_id: int) -> None:
    with transaction() as session:
        delivery.record_sent(session, row_id)


def _retry(row_id: int, error: str, delay: float, max_attempts: int, count: bool) -> str:
    with transaction() as session:
        return delivery.record_retry(
            session,
            row_id,
            error,
            utcnow() + timedelta(seconds=delay),
            max_attempts=max_attempts,
            count_attempt=count,
        )


def _failed(row_id: int, error: str) -> None:
    with transaction() as session:
        delivery.record_failed(session, row_id, error)


class OutboxSender:
    """Delivers the Telegram outbox, one row at a time, until stopped."""

    def __init__(
        self,
        bot: Bot,
        *,
        max_attempts: int = 5,
        poll_seconds: float = 1.0,
        backoff_seconds: float = 2.0,
    ) -> None:
        """Creates the sender.

        Args:
            bot: The initialised bot.
            max_attempts: Attempts before a row is failed.
            poll_seconds: Pause between checks when nothing is due.
            backoff_seconds: First delay after a network error or 5xx; doubled every attempt.
        """
        self.bot = bot
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.backoff_seconds = backoff_seconds
        self._pause = 0.0

    async def recover(self) -> list[int]:
        """Fails rows a previous run left in the middle of a send (see the module docstring)."""
        ids = await asyncio.to_thread(_recover)
        if ids:
            log.warning("outbox rows %s were interrupted mid-send; marked failed", ids)
        return ids

    async def deliver_one(self) -> bool:
        """Claims and sends one due row.

        Returns:
            Whether a row was due.
        """
        row = await asyncio.to_thread(_claim)
        if row is None:
            return False
        try:
            chat_id = chat_of(row.recipient)
            markup = await keyboard_for(row.buttons)
        except ValueError:
            await asyncio.to_thread(_failed, row.id, "not a Telegram recipient")
            return True
        except Exception as exc:  # nothing was sent: safe to try again later
            error = f"{type(exc).__name__}: preparing the message failed"
        else:
            error = await self._send(row, chat_id, markup)
            if not error:
                return True
        delay = delivery.backoff_delay(row.attempts, self.backoff_seconds)
        status = await asyncio.to_thread(_retry, row.id, error, delay, self.max_attempts, True)
        log.warning(
            "outbox row %s attempt %s failed (%s); now %s",
            row.id,
            row.attempts,
            error.split(":", 1)[0],
            status,
        )
        return True

    async def _send(self, row: ClaimedRow, chat_id: int, markup: Any) -> str:
        """Sends a claimed row and records a final outcome; returns the error to retry on."""
        try:
            await self.bot.send_message(chat_id, truncate(row.text), reply_markup=markup)
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            self._pause = max(self._pause, wait)
            log.info("outbox row %s: flood control, retry in %.0fs", row.id, wait)
            await asyncio.to_thread(
                _retry, row.id, "429 RetryAfter", wait, self.max_attempts, False
            )
            return ""
        except (Forbidden, BadRequest, ChatMigrated, InvalidToken) as exc:
            log.warning("outbox row %s refused: %s", row.id, type(exc).__name__)
            await asyncio.to_thread(_failed, row.id, f"{type(exc).__name__}: {exc}")
            return ""
        except TelegramError as exc:  # NetworkError, TimedOut, 5xx
            return f"{type(exc).__name__}: {exc}"
        # Sent. Should recording fail now, the row stays in ``sending`` and is failed as
        # interrupted later: it is never sent twice.
        await asyncio.to_thread(_sent, row.id)
        log.info("outbox row %s sent", row.id)
        return ""

    async def run(self, stop: asyncio.Event) -> None:
        """Delivers due rows until ``stop`` is set; a send in progress is finished first."""
        while not stop.is_set():
            try:
                busy = await self.deliver_one()
            except StorageUnavailableError:
                log.error("outbox: case database unavailable; retrying")
                busy = False
            except Exception:
                log.exception("outbox: unexpected error")
                busy = False
            if self._pause > 0:  # flood control: nothing is sent until it is over
                wait, self._pause = self._pause, 0.0
                await _wait_any([stop], wait)
            elif not busy:
                await _wait_any([stop], self.poll_seconds)


async def _wait_any(events: list[asyncio.Event], timeout: float) -> None:
    """Waits until one of the events is set, or the timeout passes."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
