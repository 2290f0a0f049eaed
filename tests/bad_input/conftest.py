"""Bad-input fixtures: the console's clients and the bot's fakes, plus shared checks.

The console tests here run on both engines: ``console_env`` is overridden to give the SQLite
case database and then a PostgreSQL one (which refuses, for instance, NUL characters that
SQLite stores).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hotline.access import accounts
from hotline.db import transaction
from tests.bot.conftest import rasa, tg  # noqa: F401  (the fake Rasa and fake Telegram)
from tests.bot.fake_rasa import FakeRasa
from tests.console.conftest import (  # noqa: F401  (signed-in console clients)
    as_role,
    cheap_hashing,
    client,
    make_client,
    operator,
    page_csrf,
    role_users,
)

LEAKS = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\.py\"|sqlalchemy\.|psycopg|"
    r"Internal Server Error|jinja2\.|pydantic_core|rasa_sdk\.|line \d+, in ",
)
"""What a user must never see: a stack trace, driver or framework internals."""
CJK = re.compile(r"[\u4e00-\u9fff]")


def assert_no_leak(text: str) -> None:
    """Fails when a response shows internals."""
    found = LEAKS.search(text)
    assert found is None, f"internals leaked: {found.group() if found else ''!r} in {text[:500]!r}"


def assert_chinese(text: str) -> None:
    """Fails unless the message is written (at least partly) in Chinese."""
    assert CJK.search(text), f"not a Chinese message: {text[:300]!r}"


class ChatResident:
    """A resident's browser on the web chat (/chat), with its own signed sender cookie."""

    def __init__(self) -> None:
        self.client = make_client()
        self.client.__enter__()
        self.token = page_csrf(self.client, "/chat")
        page = self.client.get("/chat").text
        self.sender = page.split('data-sender="', 1)[1].split('"', 1)[0]

    def say(self, text: Any, message_id: str | None = None) -> Any:
        """Posts a message as the page does."""
        body: dict[str, Any] = {"text": text}
        if message_id is not None:
            body["id"] = message_id
        return self.client.post("/chat/send", json=body, headers={"X-CSRF-Token": self.token})

    def post_raw(self, body: bytes) -> Any:
        """Posts a raw body as JSON."""
        return self.client.post(
            "/chat/send",
            content=body,
            headers={"X-CSRF-Token": self.token, "Content-Type": "application/json"},
        )

    def close(self) -> None:
        """Ends the browser session."""
        self.client.__exit__(None, None, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def console_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The console's environment (see tests/console) on each engine in turn."""
    url = str(request.getfixturevalue("db_url" if request.param == "sqlite" else "pg_url"))
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ACTION_SERVER_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("HOTLINE_SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
    # The properties create many cases a minute; test_rate_limits.py sets its own limit.
    monkeypatch.setenv("HOTLINE_CASES_PER_MINUTE", "100000")
    return url


@pytest.fixture()
def chat_env(console_env: str, rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch) -> FakeRasa:  # noqa: F811
    """The console with the web chat relaying to the fake (echoing) Rasa."""
    monkeypatch.setenv("RASA_URL", rasa.url)
    return rasa


@pytest.fixture()
def api_client(role_users: dict[str, int]) -> Iterator[TestClient]:  # noqa: F811
    """A JSON API client with an operator's bearer token."""
    with transaction() as session:
        _, clear = accounts.create_token(session, accounts.get_user(session, "op"))
    with make_client() as c:
        c.headers["Authorization"] = f"Bearer {clear}"
        yield c
