"""Rate limits hold per sender on every channel, and one sender's flood slows nobody else.

- Telegram and the web chat: the gateway, 20 messages a minute per resident (the web chat's
  own test is in test_web_chat.py; the single-chat Telegram case in tests/bot/test_limits.py).
  Here: button presses and captions count too, and a neighbour is not held up.
- JSON API: cases per account a minute (``HOTLINE_CASES_PER_MINUTE``); replays of an
  idempotency key are not new cases and pass.
- Open311 ``POST requests``: cases per partner (api_key) a minute.
- Rasa's REST channel has no limit of its own: it listens on loopback only, and its one
  client is the gateway, which applies the limit before relaying.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from hotline.access import accounts
from hotline.channels.gateway import RATE_LIMIT_PER_MINUTE
from hotline.db import transaction
from tests.bad_input.conftest import assert_chinese
from tests.bot.conftest import CHAT, start_bot
from tests.bot.fake_rasa import FakeRasa
from tests.console.conftest import make_client
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.timeout(120)
LIMIT = 5
NEIGHBOUR = CHAT + 1


async def test_telegram_limit_is_per_chat_and_counts_buttons(
    tg: FakeTelegram, rasa: FakeRasa, db_url: str
) -> None:
    rasa.responder = lambda r: [
        {"text": "请确认：", "buttons": [{"title": "确认提交", "payload": "/affirm"}]}
    ]
    async with start_bot(tg, rasa, db_url) as bot:
        bot.say("第一条")
        menu = await bot.reply("请确认")
        for i in range(RATE_LIMIT_PER_MINUTE):
            bot.say(f"刷屏{i}")
        await bot.reply("太频繁", timeout=30)
        since = bot.mark()
        press = tg.callback_query(CHAT, "r:/affirm", message_id=menu["message_id"])
        tg.push_update(press)
        await bot.reply("太频繁", since=since, timeout=15)
        bot.say("邻居的消息", chat_id=NEIGHBOUR)
        await bot.reply("请确认", chat_id=NEIGHBOUR)
    assert len(rasa.messages(f"tg:{CHAT}")) == RATE_LIMIT_PER_MINUTE
    assert "/affirm" not in rasa.messages(f"tg:{CHAT}")
    assert rasa.messages(f"tg:{NEIGHBOUR}") == ["邻居的消息"]


def _bearer(username: str) -> TestClient:
    with transaction() as session:
        _, clear = accounts.create_token(session, accounts.get_user(session, username))
    client = make_client()
    client.__enter__()
    client.headers["Authorization"] = f"Bearer {clear}"
    return client


def test_json_api_limit_is_per_account(
    role_users: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_CASES_PER_MINUTE", str(LIMIT))
    body = {"category": "other", "description": "系统转来", "channel": "rest"}
    flooder, other = _bearer("op"), _bearer("sup")
    try:
        statuses = [
            flooder.post("/api/v1/cases", json=body | {"idempotency_key": f"k{i}"}).status_code
            for i in range(LIMIT + 2)
        ]
        assert statuses == [201] * LIMIT + [429, 429]
        refused = flooder.post("/api/v1/cases", json=body)
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "rate_limited" and f"每分钟最多 {LIMIT} 件" in error["message"]
        assert_chinese(error["message"])
        # Replaying a key that made a case is not a new case: still answered.
        replay = flooder.post("/api/v1/cases", json=body | {"idempotency_key": "k0"})
        assert replay.status_code == 200
        # Reading is not limited, nor is another account.
        assert flooder.get("/api/v1/cases").status_code == 200
        assert other.post("/api/v1/cases", json=body).status_code == 201
    finally:
        flooder.__exit__(None, None, None)
        other.__exit__(None, None, None)


def test_open311_limit_is_per_partner(console_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_CASES_PER_MINUTE", str(LIMIT))
    with transaction() as session:
        _, flooder = accounts.create_api_key(session, "刷单平台")
        _, other = accounts.create_api_key(session, "城市运行平台")

    def fields(key: str) -> dict[str, str]:
        return {
            "api_key": key,
            "service_code": "city_management",
            "description": "路灯不亮",
            "address_string": "幸福路",
        }

    with make_client() as client:

        def post(key: str) -> Any:
            return client.post("/open311/v2/requests.json", data=fields(key))

        statuses = [post(flooder).status_code for _ in range(LIMIT + 1)]
        assert statuses == [201] * LIMIT + [429]
        refused = post(flooder)
        assert refused.status_code == 429
        [error] = refused.json()
        assert error["code"] == 429 and "提交过于频繁" in error["description"]
        xml = client.post("/open311/v2/requests.xml", data=fields(flooder))
        assert xml.status_code == 429 and b"<errors>" in xml.content
        assert post(other).status_code == 201
