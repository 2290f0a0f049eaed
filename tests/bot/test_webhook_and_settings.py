"""Webhook mode (a wrong or missing secret gives 403), settings and ``python -m bot``."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from bot import app as bot_app
from bot.app import build_application, webhook
from bot.settings import BotConfigError, load_bot_settings
from hotline.config import PROJECT_ROOT
from tests.bot.conftest import CHAT, TOKEN, closed_port, settings_for
from tests.bot.fake_rasa import FakeRasa
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.timeout(60)

SECRET = "s3cret-Token_1"


async def test_webhook_checks_the_secret(tg: FakeTelegram, rasa: FakeRasa, db_url: str) -> None:
    port = closed_port()
    settings = settings_for(
        tg,
        webhook_url=f"https://hotline.example.org/tg/{port}",
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        webhook_port=port,
    )
    async with webhook(build_application(settings), settings):
        [registered] = tg.calls_to("setWebhook")
        assert registered["secret_token"] == SECRET
        assert registered["url"] == settings.webhook_url
        update = {"update_id": 9001, **tg.text_message(CHAT, "通过 webhook 发来")}
        url = f"http://127.0.0.1:{port}/tg/{port}"
        headers = {"Content-Type": "application/json"}
        async with httpx.AsyncClient(timeout=5) as client:
            body = json.dumps(update, ensure_ascii=False).encode()
            wrong = await client.post(
                url, content=body, headers={**headers, "X-Telegram-Bot-Api-Secret-Token": "nope"}
            )
            missing = await client.post(url, content=body, headers=headers)
            assert (wrong.status_code, missing.status_code) == (403, 403)
            right = await client.post(
                url, content=body, headers={**headers, "X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            assert right.status_code == 200
        await tg.wait_for_message_async(CHAT, "收到：通过 webhook 发来", timeout=10)
    assert rasa.messages() == ["通过 webhook 发来"]


def test_run_uses_webhook_when_url_set(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(
        "telegram.ext.Application.run_webhook", lambda self, **kwargs: seen.update(kwargs)
    )
    monkeypatch.setattr(
        "telegram.ext.Application.run_polling", lambda self, **kw: seen.update(polling=True)
    )
    settings = load_bot_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_URL": "https://hotline.example.org/telegram/hook",
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_WEBHOOK_PORT": "8443",
        }
    )
    bot_app.run(settings)
    assert seen["secret_token"] == SECRET and seen["url_path"] == "telegram/hook"
    assert seen["port"] == 8443 and "polling" not in seen
    seen.clear()
    bot_app.run(load_bot_settings({"TELEGRAM_BOT_TOKEN": TOKEN}))
    assert seen == {"polling": True}


def test_settings() -> None:
    settings = load_bot_settings(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot"}
    )
    assert settings.api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.api_file_url == "http://127.0.0.1:8081/file/bot"
    assert not settings.webhook_mode and settings.operator_chat_id is None
    with pytest.raises(BotConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_bot_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_URL": "https://x/y"})
    with pytest.raises(BotConfigError, match="TELEGRAM_OPERATOR_CHAT_ID"):
        load_bot_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_OPERATOR_CHAT_ID": "ops"})


def test_missing_token_is_one_clear_line() -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(PROJECT_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "TELEGRAM_BOT_TOKEN" in lines[0]
