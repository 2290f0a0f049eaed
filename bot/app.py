"""The python-telegram-bot ``Application``: handlers, error handler, background work, modes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import BotCommand, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import handlers
from bot.background import BackgroundWork
from bot.concurrency import PerChatUpdateProcessor
from bot.settings import BotSettings

log = logging.getLogger(__name__)

COMMANDS = [
    ("start", "开始，显示菜单"),
    ("status", "查询我的工单进度"),
    ("human", "转人工客服"),
    ("cancel", "取消当前操作"),
    ("privacy", "个人信息说明"),
    ("forget", "申请删除个人信息"),
    ("help", "使用说明"),
]
SORRY = "抱歉，系统出了点问题，您的消息可能没有处理成功，请稍后再试。"


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Logs an exception with the update id only (never the resident's phone or name)."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    log.error(
        "error while handling update %s: %s",
        update_id,
        type(error).__name__,
        exc_info=(type(error), error, error.__traceback__) if error else None,
    )
    chat = update.effective_chat if isinstance(update, Update) else None
    if chat is not None and chat.type == ChatType.PRIVATE:
        try:
            await context.bot.send_message(chat.id, SORRY)
        except TelegramError:
            pass


def register_handlers(application: Application) -> None:
    """Adds the handlers, in the order they are tried."""
    private = filters.ChatType.PRIVATE
    application.add_handler(MessageHandler(filters.UpdateType.EDITED & private, handlers.edited))
    for name, callback in (
        ("start", handlers.start),
        ("help", handlers.help_command),
        ("status", handlers.status),
        ("cancel", handlers.cancel),
        ("human", handlers.human),
        ("privacy", handlers.privacy),
        ("forget", handlers.forget),
    ):
        application.add_handler(CommandHandler(name, callback, filters=private))
    application.add_handler(MessageHandler(filters.COMMAND & private, handlers.unknown_command))
    application.add_handler(MessageHandler(filters.TEXT & private, handlers.text_message))
    application.add_handler(MessageHandler(filters.CONTACT & private, handlers.contact))
    application.add_handler(MessageHandler(filters.LOCATION & private, handlers.location))
    application.add_handler(
        MessageHandler((filters.PHOTO | filters.Document.ALL) & private, handlers.photo)
    )
    application.add_handler(CallbackQueryHandler(handlers.button))
    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & private, handlers.unsupported)
    )
    application.add_error_handler(on_error)


async def _post_init(application: Application) -> None:
    settings = application.bot_data["settings"]
    try:
        await application.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
    except TelegramError as exc:
        log.warning("bot commands not set: %s", type(exc).__name__)
    work = BackgroundWork(application.bot, settings)
    application.bot_data["background"] = work
    await work.start()


async def _post_stop(application: Application) -> None:
    work = application.bot_data.pop("background", None)
    if isinstance(work, BackgroundWork):
        await work.stop()


def build_application(settings: BotSettings) -> Application:
    """Builds the bot from its settings, ready for polling or a webhook."""
    application = (
        Application.builder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_url)
        .concurrent_updates(PerChatUpdateProcessor())
        .post_init(_post_init)
        .post_stop(_post_stop)
        .build()
    )
    application.bot_data["settings"] = settings
    register_handlers(application)
    return application


def run(settings: BotSettings) -> None:
    """Runs the bot until interrupted: by webhook when a URL is set, else by long polling."""
    application = build_application(settings)
    if settings.webhook_mode:
        log.info(
            "webhook mode on %s:%s/%s",
            settings.webhook_listen,
            settings.webhook_port,
            settings.webhook_path,
        )
        application.run_webhook(**webhook_arguments(settings))
    else:
        log.info("polling mode")
        application.run_polling(allowed_updates=Update.ALL_TYPES)


@asynccontextmanager
async def _running(application: Application, start_updates: Any) -> AsyncIterator[Application]:
    """Initialise, post_init, start receiving updates, start; then the reverse (as run_* do)."""
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        assert application.updater is not None
        await start_updates(application.updater)
        await application.start()
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
    finally:
        await application.shutdown()


@asynccontextmanager
async def webhook(application: Application, settings: BotSettings) -> AsyncIterator[Application]:
    """Runs the application in webhook mode inside a running event loop (tests, embedding).

    Uses the same arguments as :func:`run` does for :meth:`Application.run_webhook`.
    """

    async def start(updater: Any) -> None:
        await updater.start_webhook(**webhook_arguments(settings))

    async with _running(application, start) as running:
        yield running


def webhook_arguments(settings: BotSettings) -> dict[str, Any]:
    """The webhook server's arguments: address, path, public URL and the secret token."""
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": settings.webhook_path,
        "webhook_url": settings.webhook_url,
        "secret_token": settings.webhook_secret,
        "allowed_updates": Update.ALL_TYPES,
    }


@asynccontextmanager
async def polling(
    application: Application,
    *,
    poll_interval: float = 0.0,
    timeout: int = 1,
) -> AsyncIterator[Application]:
    """Runs the application with long polling inside an event loop that is already running.

    Does what :meth:`Application.run_polling` does, in the same order (initialise, post_init,
    poll, start; then stop, post_stop, shut down), but returns control to the caller (tests,
    embedding). The long-poll ``timeout`` bounds how long stopping takes.
    """

    async def start(updater: Any) -> None:
        await updater.start_polling(
            poll_interval=poll_interval, timeout=timeout, allowed_updates=Update.ALL_TYPES
        )

    async with _running(application, start) as running:
        yield running
