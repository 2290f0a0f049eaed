"""The optional operators' group: new urgent and emergency cases posted with a 受理 button, and
hotspot alerts (many reports about one place and topic within a day)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telegram import Bot, Message, Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot import texts
from bot.keyboards import accept_keyboard
from bot.settings import BotSettings
from hotline.channels import operator_alerts
from hotline.config import load_settings
from hotline.db import transaction
from hotline.errors import InvalidTransitionError, NotFoundError
from hotline.similarity.hotspots import due_hotspot_alerts

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class _Alert:
    alert_id: int
    number: str
    text: str


def _due_alerts() -> list[_Alert]:
    with transaction() as session:
        operator_alerts.queue_new(session, CHANNEL)
        return [
            _Alert(alert.id, case.number, operator_alerts.alert_text(case))
            for alert, case in operator_alerts.due(session, CHANNEL)
        ]


def _mark_sent(alert_id: int, message_id: int) -> None:
    with transaction() as session:
        operator_alerts.mark_sent(session, alert_id, str(message_id))


def _mark_failed(alert_id: int, error: str) -> None:
    with transaction() as session:
        operator_alerts.mark_attempt_failed(session, alert_id, error, MAX_ATTEMPTS)


async def post_new_alerts(bot: Bot, chat_id: int) -> int:
    """Posts every new urgent or emergency case not posted yet.

    Returns:
        How many alerts were posted.
    """
    posted = 0
    for alert in await asyncio.to_thread(_due_alerts):
        try:
            message = await bot.send_message(
                chat_id, alert.text, reply_markup=accept_keyboard(alert.number)
            )
        except RetryAfter:
            break  # flood control: the alert stays pending for the next round
        except TelegramError as exc:
            log.warning("alert %s not posted: %s", alert.alert_id, type(exc).__name__)
            await asyncio.to_thread(_mark_failed, alert.alert_id, type(exc).__name__)
            continue
        await asyncio.to_thread(_mark_sent, alert.alert_id, message.message_id)
        posted += 1
    return posted


def _due_hotspot_texts() -> list[str]:
    console_url = load_settings().console_url
    with transaction() as session:
        return [
            operator_alerts.hotspot_alert_text(hotspot, console_url)
            for hotspot in due_hotspot_alerts(session)
        ]


async def post_hotspot_alerts(bot: Bot, chat_id: int) -> int:
    """Posts each hotspot that grew past the alert size since the last check.

    The core records a hotspot as alerted when it hands it out, so a post that fails is not
    retried (at most once): the hotspots page and the dashboard still show it.

    Returns:
        How many alerts were posted.
    """
    posted = 0
    for text in await asyncio.to_thread(_due_hotspot_texts):
        try:
            await bot.send_message(chat_id, text)
        except TelegramError as exc:
            log.warning("hotspot alert not posted: %s", type(exc).__name__)
            continue
        posted += 1
    return posted


def _accept(telegram_user_id: int, number: str) -> tuple[str, str | None]:
    """Accepts a case for the linked operator; returns (outcome, the line for the alert)."""
    with transaction() as session:
        user = operator_alerts.staff_for_channel_user(session, telegram_user_id)
        if user is None:
            return "not_linked", None
        try:
            case = operator_alerts.accept(session, number, user)
        except NotFoundError:
            return "not_found", None
        except InvalidTransitionError:
            return "too_late", None
        return "accepted", operator_alerts.accepted_text(case, user)


async def accept_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE, number: str) -> None:
    """A press on 受理: only users linked to an operator account may accept the case."""
    query = update.callback_query
    assert query is not None
    settings = context.bot_data.get("settings")
    chat = update.effective_chat
    in_group = (
        isinstance(settings, BotSettings)
        and settings.operator_chat_id is not None
        and chat is not None
        and chat.id == settings.operator_chat_id
    )
    if not in_group:
        await query.answer(texts.ALERT_NOT_LINKED, show_alert=True)
        return
    outcome, line = await asyncio.to_thread(_accept, query.from_user.id, number)
    if outcome == "not_linked":
        await query.answer(texts.ALERT_NOT_LINKED, show_alert=True)
        return
    if outcome == "not_found":
        await query.answer(texts.ALERT_NOT_FOUND, show_alert=True)
        return
    message = query.message
    if outcome == "too_late":
        await query.answer(texts.ALERT_TOO_LATE, show_alert=True)
        if isinstance(message, Message):
            try:
                await message.edit_reply_markup(None)
            except TelegramError:
                pass
        return
    await query.answer(texts.ALERT_ACCEPTED)
    if isinstance(message, Message) and line is not None:
        try:
            await message.edit_text(f"{message.text or ''}\n\n{line}", reply_markup=None)
        except TelegramError as exc:
            log.info("alert of update %s not edited: %s", update.update_id, type(exc).__name__)
