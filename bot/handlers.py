"""Resident-facing handlers: relay to the assistant, commands, contact, location, photos.

Every message goes through :func:`hotline.channels.gateway.relay`, which stores it (once, however
often
Telegram delivers it), applies the rate limit and the length cut, and sends it to Rasa or, during
a handoff, leaves it for the operator. Business rules live in ``hotline``; this module only
translates between Telegram and the core.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import texts
from bot.keyboards import button_title, decode, main_menu
from bot.media import download, image_of, store
from bot.operator_group import accept_pressed
from bot.outgoing import send_replies
from hotline.casework.phone import mask_phone, national_format, normalise_phone
from hotline.channels import gateway, handoff
from hotline.channels.attachments import PhotoRejected, already_received
from hotline.config import load_settings
from hotline.db import transaction
from hotline.errors import ValidationError
from hotline.residents import self_service

log = logging.getLogger(__name__)

SENDER_PREFIX = "tg:"
INFORM = "/inform"
REPORT_START = "/report_start"
CANCEL_CASE = "/cancel_case"


def sender_of(chat_id: int) -> str:
    """The conversation id (and Rasa sender id) of a Telegram chat."""
    return f"{SENDER_PREFIX}{chat_id}"


def chat_of(sender_id: str) -> int:
    """The Telegram chat of a conversation id.

    Raises:
        ValueError: When it is not a Telegram conversation.
    """
    prefix, _, rest = sender_id.partition(":")
    if prefix != SENDER_PREFIX.rstrip(":") or not rest.lstrip("-").isdigit():
        raise ValueError("not a Telegram conversation")
    return int(rest)


def source_of(update: Update, bot_id: int, suffix: str = "") -> str:
    """A stable id of an incoming message or button press, for storing it only once.

    Built from the bot, chat and message ids (a button press: its query id), which stay the same
    however often Telegram delivers the update. Update ids are not used: Telegram may restart
    them at random after a week without updates, which could drop a new message as a repeat.
    """
    chat = update.effective_chat
    if update.callback_query is not None:
        chat_part = chat.id if chat is not None else "-"
        return f"tg:{bot_id}:cb:{chat_part}:{update.callback_query.id}{suffix}"
    message = update.effective_message
    if message is None or chat is None:
        return f"tg:{bot_id}:u:{update.update_id}{suffix}"
    return f"tg:{bot_id}:{chat.id}:{message.message_id}{suffix}"


def metadata_of(update: Update) -> dict[str, Any]:
    """Channel details passed to the assistant with each message."""
    user = update.effective_user
    return {
        "channel": "telegram",
        "telegram_user_id": user.id if user else None,
        "language_code": user.language_code if user else None,
        "first_name": user.first_name if user else None,
    }


def intent_payload(intent: str, entities: dict[str, Any]) -> str:
    """A Rasa message that sets an intent and entities directly: ``/inform{"phone": "…"}``."""
    return intent + json.dumps(entities, ensure_ascii=False)


async def _answer(message: Message, text: str, **kwargs: Any) -> None:
    await message.reply_text(text, do_quote=False, **kwargs)


async def relay_and_reply(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    text: str,
    *,
    stored_text: str | None = None,
    source_suffix: str = "",
) -> None:
    """Sends a resident's message (or payload) through the gateway and sends back the replies.

    Args:
        update: The update the message came in.
        context: The handler context.
        text: What goes to the assistant.
        stored_text: What the conversation record shows instead (see ``gateway.relay``).
        source_suffix: Distinguishes a second message taken from the same update.
    """
    chat = update.effective_chat
    assert chat is not None
    replies = await gateway.relay(
        sender_of(chat.id),
        text,
        metadata=metadata_of(update),
        source_id=source_of(update, context.bot.id, source_suffix),
        stored_text=stored_text,
    )
    await send_replies(context.bot, chat.id, replies)


# ---------------------------------------------------------------- commands


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: the welcome, with the menu keyboard."""
    assert update.effective_message is not None
    user = update.effective_user
    phone = load_settings().hotline_phone
    await _answer(
        update.effective_message,
        texts.welcome(user.first_name if user else None, phone),
        reply_markup=main_menu(),
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: what the bot can do."""
    assert update.effective_message is not None
    await _answer(update.effective_message, texts.HELP, reply_markup=main_menu())


def _status(sender_id: str, number: str | None) -> str:
    with transaction() as session:
        return self_service.status_text(session, sender_id, number)


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/status [number]: the progress of the resident's own cases."""
    assert update.effective_message is not None and update.effective_chat is not None
    number = context.args[0] if context.args else None
    text = await asyncio.to_thread(_status, sender_of(update.effective_chat.id), number)
    await _answer(update.effective_message, text)


def _request_human(sender_id: str) -> int:
    with transaction() as session:
        return handoff.request_handoff(session, sender_id)


async def human(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/human: queue the conversation for an operator."""
    assert update.effective_message is not None and update.effective_chat is not None
    position = await asyncio.to_thread(_request_human, sender_of(update.effective_chat.id))
    text = texts.ALREADY_WITH_OPERATOR if position == 0 else texts.queued_for_human(position)
    await _answer(update.effective_message, text)


def _mode(sender_id: str) -> str:
    with transaction() as session:
        return handoff.mode_of(session, sender_id)


def _leave_queue(sender_id: str) -> None:
    with transaction() as session:
        handoff.release(session, sender_id)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel: leave the operator queue, or stop what the assistant is asking for."""
    assert update.effective_message is not None and update.effective_chat is not None
    sender_id = sender_of(update.effective_chat.id)
    mode = await asyncio.to_thread(_mode, sender_id)
    if mode == handoff.WAITING:
        # release() queues the notice that the assistant is back.
        await asyncio.to_thread(_leave_queue, sender_id)
        return
    if mode == handoff.OPERATOR:
        await _answer(update.effective_message, texts.CANCEL_WITH_OPERATOR)
        return
    await relay_and_reply(update, context, CANCEL_CASE, stored_text="/cancel")


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/privacy: what is stored, for how long, and who sees it."""
    assert update.effective_message is not None
    await _answer(update.effective_message, self_service.privacy_notice())


def _forget(sender_id: str) -> str:
    with transaction() as session:
        _, created = self_service.request_deletion(session, sender_id)
        return self_service.deletion_reply(
            created, self_service.open_case_count(session, sender_id)
        )


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/forget: record the resident's request to delete their personal data."""
    assert update.effective_message is not None and update.effective_chat is not None
    text = await asyncio.to_thread(_forget, sender_of(update.effective_chat.id))
    await _answer(update.effective_message, text)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not know: show the help."""
    assert update.effective_message is not None
    await _answer(update.effective_message, "没有这个命令。\n\n" + texts.HELP)


# ---------------------------------------------------------------- messages


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text message: the menu buttons, or anything the resident writes for the assistant."""
    message = update.effective_message
    assert message is not None and message.text is not None
    text = message.text
    if text == texts.MENU_STATUS:
        await status(update, context)
    elif text == texts.MENU_HUMAN:
        await human(update, context)
    elif text == texts.MENU_POLICY:
        await _answer(message, texts.POLICY_PROMPT)
    elif text == texts.MENU_REPORT:
        await relay_and_reply(update, context, REPORT_START, stored_text=text)
    else:
        await relay_and_reply(update, context, text)


def _phone_for_assistant(raw: str) -> tuple[str, str]:
    """The shared number as the assistant expects it, and its masked form for the record."""
    digits = raw.strip()
    if not digits.startswith("+"):
        digits = "+" + digits  # Telegram sends international numbers without the plus
    try:
        e164 = normalise_phone(digits)
    except ValidationError:
        return digits, "*" * max(len(digits) - 4, 0) + digits[-4:]
    return national_format(e164), mask_phone(e164)


async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared contact fills the phone, but only if it is the sender's own."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and message.contact is not None
    shared = message.contact
    if user is None or shared.user_id is None or shared.user_id != user.id:
        await _answer(message, texts.CONTACT_NOT_OWN, reply_markup=main_menu())
        return
    phone, masked = _phone_for_assistant(shared.phone_number)
    await relay_and_reply(
        update,
        context,
        intent_payload(INFORM, {"phone": phone}),
        stored_text=f"[分享手机号] {masked}",
    )


def readable_location(latitude: float, longitude: float) -> str:
    """A location as text residents and operators can read."""
    return f"位置：纬度 {latitude:.4f}，经度 {longitude:.4f}"


async def location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared location (or venue) fills the location with coordinates and readable text."""
    message = update.effective_message
    assert message is not None and message.location is not None
    latitude = round(message.location.latitude, 6)
    longitude = round(message.location.longitude, 6)
    text = readable_location(latitude, longitude)
    if message.venue is not None:
        text = f"{message.venue.title}（{message.venue.address}）"
    await relay_and_reply(
        update,
        context,
        intent_payload(INFORM, {"location": text, "latitude": latitude, "longitude": longitude}),
        stored_text=f"[位置] {text}",
    )


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo (or image file): checked, stored and linked to the resident's latest open case."""
    message = update.effective_message
    chat = update.effective_chat
    assert message is not None and chat is not None
    image = image_of(message)
    if image is None:
        return
    source_id = source_of(update, context.bot.id)
    if await asyncio.to_thread(_seen, source_id):
        log.info("repeated photo update %s ignored", update.update_id)
        return
    try:
        data = await download(context.bot, image)
        saved = await store(sender_of(chat.id), data, source_id, image.declared_type)
    except PhotoRejected as rejected:
        reply = texts.PHOTO_TOO_LARGE if rejected.reason == "too_large" else texts.PHOTO_UNSUPPORTED
        await _answer(message, reply)
        return
    except TelegramError as exc:
        log.warning("photo of update %s not downloaded: %s", update.update_id, type(exc).__name__)
        await _answer(message, texts.PHOTO_FAILED)
        return
    if saved is None:
        return
    await _answer(message, texts.photo_saved(saved.case_number))
    if message.caption:
        await relay_and_reply(update, context, message.caption, source_suffix=":caption")


def _seen(source_id: str) -> bool:
    with transaction() as session:
        return already_received(session, source_id)


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, voice, video and the like: say politely what is supported."""
    assert update.effective_message is not None
    await _answer(update.effective_message, texts.UNSUPPORTED)


async def edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message is not processed again; the resident is told so."""
    assert update.effective_message is not None
    log.info("edited message in update %s ignored", update.update_id)
    await _answer(update.effective_message, texts.EDITED_IGNORED)


# ---------------------------------------------------------------- buttons


def _decode(data: str | None) -> tuple[str, str]:
    with transaction() as session:
        decoded = decode(session, data)
        return decoded.kind, decoded.value


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on an inline button: the payload goes back to the assistant."""
    query = update.callback_query
    assert query is not None
    kind, value = await asyncio.to_thread(_decode, query.data)
    if kind == "accept":
        await accept_pressed(update, context, value)
        return
    chat = update.effective_chat
    if kind != "payload" or chat is None or chat.type != chat.PRIVATE:
        await query.answer(texts.BUTTON_EXPIRED)
        return
    await query.answer()
    message = query.message
    markup = message.reply_markup if isinstance(message, Message) else None
    title = button_title(markup, query.data)
    if isinstance(message, Message) and markup is not None:
        try:  # one press per keyboard: a rating or a confirmation is not sent twice
            await message.edit_reply_markup(None)
        except TelegramError as exc:
            log.info("keyboard of update %s not removed: %s", update.update_id, type(exc).__name__)
    await relay_and_reply(update, context, value, stored_text=title)
