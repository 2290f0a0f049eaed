"""The Telegram front end's settings, read from the environment.

Only ``python -m bot`` reads the ``TELEGRAM_*`` variables, so they live here beside it rather than
in :mod:`hotline.config` (the shared settings, which the bot also loads); a bad value is a
:class:`hotline.config.ConfigError` all the same.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from hotline.config import ConfigError

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"


class BotConfigError(ConfigError):
    """A setting is missing or invalid; the message is one line meant for the operator."""


@dataclass(frozen=True)
class BotSettings:
    """Everything ``python -m bot`` needs to run.

    Attributes:
        token: The bot token from BotFather (``TELEGRAM_BOT_TOKEN``).
        api_base_url: The Bot API address, token appended by PTB (``TELEGRAM_API_BASE_URL``).
        api_file_url: The Bot API file address (``TELEGRAM_API_FILE_URL``, else derived).
        webhook_url: Public HTTPS URL for webhook mode (``TELEGRAM_WEBHOOK_URL``); None polls.
        webhook_secret: Secret Telegram sends with every webhook update
            (``TELEGRAM_WEBHOOK_SECRET``); required in webhook mode.
        webhook_listen: Interface the webhook server binds (``TELEGRAM_WEBHOOK_LISTEN``).
        webhook_port: Port the webhook server binds (``TELEGRAM_WEBHOOK_PORT``).
        operator_chat_id: Operators' group for urgent cases (``TELEGRAM_OPERATOR_CHAT_ID``).
        outbox_max_attempts: Attempts before an outbox row is failed
            (``TELEGRAM_OUTBOX_MAX_ATTEMPTS``).
        outbox_poll_seconds: Pause between outbox checks when idle
            (``TELEGRAM_OUTBOX_POLL_SECONDS``).
        outbox_backoff_seconds: First retry delay after a network error or 5xx, doubled each
            attempt (``TELEGRAM_OUTBOX_BACKOFF_SECONDS``).
        alerts_poll_seconds: Pause between checks for new urgent cases
            (``TELEGRAM_ALERTS_POLL_SECONDS``).
        followup_poll_seconds: Pause between runs of the 3-day survey close
            (``TELEGRAM_FOLLOWUP_POLL_SECONDS``).
        hotspot_poll_seconds: Pause between checks for hotspots past the alert size
            (``TELEGRAM_HOTSPOT_POLL_SECONDS``).
    """

    token: str
    api_base_url: str = DEFAULT_API_BASE_URL
    api_file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    operator_chat_id: int | None = None
    outbox_max_attempts: int = 5
    outbox_poll_seconds: float = 1.0
    outbox_backoff_seconds: float = 2.0
    alerts_poll_seconds: float = 10.0
    followup_poll_seconds: float = 3600.0
    hotspot_poll_seconds: float = 300.0

    @property
    def webhook_mode(self) -> bool:
        """Whether updates come by webhook (else by long polling)."""
        return bool(self.webhook_url)

    @property
    def webhook_path(self) -> str:
        """The URL path the webhook server answers on: the path of the public URL."""
        from urllib.parse import urlsplit

        return urlsplit(self.webhook_url or "").path.strip("/")


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BotConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise BotConfigError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def load_bot_settings(env: Mapping[str, str] | None = None) -> BotSettings:
    """Reads the bot's settings.

    Args:
        env: The environment; ``os.environ`` by default.

    Returns:
        The settings.

    Raises:
        BotConfigError: When the token is missing or a value is invalid.
    """
    env = os.environ if env is None else env
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        raise BotConfigError(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export its token "
            "(see docs/telegram.md)"
        )
    base_url = env.get("TELEGRAM_API_BASE_URL", "").strip() or DEFAULT_API_BASE_URL
    file_url = env.get("TELEGRAM_API_FILE_URL", "").strip() or base_url.replace(
        "/bot", "/file/bot", 1
    )
    webhook_url = env.get("TELEGRAM_WEBHOOK_URL", "").strip() or None
    secret = env.get("TELEGRAM_WEBHOOK_SECRET", "").strip() or None
    if webhook_url and not secret:
        raise BotConfigError(
            "TELEGRAM_WEBHOOK_SECRET is required with TELEGRAM_WEBHOOK_URL "
            "(1-256 characters A-Z, a-z, 0-9, _ and -)"
        )
    if secret and not all(c.isascii() and (c.isalnum() or c in "_-") for c in secret):
        raise BotConfigError("TELEGRAM_WEBHOOK_SECRET may only hold A-Z, a-z, 0-9, _ and -")
    operator_chat = env.get("TELEGRAM_OPERATOR_CHAT_ID", "").strip()
    try:
        operator_chat_id = int(operator_chat) if operator_chat else None
    except ValueError:
        raise BotConfigError(
            f"TELEGRAM_OPERATOR_CHAT_ID must be a numeric chat id, got {operator_chat!r}"
        ) from None
    return BotSettings(
        token=token,
        api_base_url=base_url,
        api_file_url=file_url,
        webhook_url=webhook_url,
        webhook_secret=secret,
        webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN", "").strip() or "127.0.0.1",
        webhook_port=int(_number(env, "TELEGRAM_WEBHOOK_PORT", 8443, 1)),
        operator_chat_id=operator_chat_id,
        outbox_max_attempts=int(_number(env, "TELEGRAM_OUTBOX_MAX_ATTEMPTS", 5, 1)),
        outbox_poll_seconds=_number(env, "TELEGRAM_OUTBOX_POLL_SECONDS", 1.0, 0.01),
        outbox_backoff_seconds=_number(env, "TELEGRAM_OUTBOX_BACKOFF_SECONDS", 2.0, 0.0),
        alerts_poll_seconds=_number(env, "TELEGRAM_ALERTS_POLL_SECONDS", 10.0, 0.01),
        followup_poll_seconds=_number(env, "TELEGRAM_FOLLOWUP_POLL_SECONDS", 3600.0, 0.01),
        hotspot_poll_seconds=_number(env, "TELEGRAM_HOTSPOT_POLL_SECONDS", 300.0, 0.01),
    )
