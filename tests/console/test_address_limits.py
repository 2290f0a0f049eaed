"""Limits a cookie does not reset: the web chat and the login form, per client address.

The address is the TCP peer, or behind a trusted proxy (``HOTLINE_TRUSTED_PROXIES``) the
address the proxy appended to ``X-Forwarded-For``; a client's own ``X-Forwarded-For`` is
believed from nobody else.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from console.app import create_app
from tests.bot.conftest import rasa  # noqa: F401  (the fake Rasa)
from tests.bot.fake_rasa import FakeRasa
from tests.console.conftest import PASSWORD, ROLE_USERS, page_csrf

PROXY = "10.0.0.5"


@pytest.fixture()
def app_for(console_env: str) -> Iterator[object]:
    """One console app (one set of counters), reached from any peer address."""
    clients: list[TestClient] = []
    app = create_app()

    def client(peer: str) -> TestClient:
        c = TestClient(app, follow_redirects=False, client=(peer, 40000))
        c.__enter__()
        clients.append(c)
        return c

    yield client
    for c in clients:
        c.__exit__(None, None, None)


def _fresh_chat_send(client: TestClient, text: str, forwarded: str | None = None) -> int:
    """Drops the cookies (a new sender), opens the chat, and sends one message."""
    client.cookies.clear()
    token = page_csrf(client, "/chat")
    headers = {"X-CSRF-Token": token}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    return client.post("/chat/send", json={"text": text}, headers=headers).status_code


def test_web_chat_is_limited_per_address_whatever_the_cookie(
    app_for,
    rasa: FakeRasa,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RASA_URL", rasa.url)
    monkeypatch.setenv("HOTLINE_CHAT_LIMIT_PER_IP", "3/minute")
    flooder = app_for("203.0.113.7")
    assert [_fresh_chat_send(flooder, f"第{i}条") for i in range(3)] == [200, 200, 200]
    client = flooder
    client.cookies.clear()
    token = page_csrf(client, "/chat")
    refused = client.post("/chat/send", json={"text": "第4条"}, headers={"X-CSRF-Token": token})
    assert refused.status_code == 429
    message = refused.json()["error"]["message"]
    assert "过于频繁" in message and "119" in message and "12343" in message
    # A spoofed X-Forwarded-For from an untrusted peer changes nothing.
    assert _fresh_chat_send(flooder, "换个地址", forwarded="198.51.100.1") == 429
    assert _fresh_chat_send(app_for("203.0.113.8"), "邻居") == 200
    assert len(rasa.messages()) == 4
    # Rasa gets an opaque key of the address (for the lookup limit), never the address.
    keys = {r["metadata"]["client"] for r in rasa.requests}
    assert len(keys) == 2 and all(len(k) == 24 for k in keys)
    assert "203.0.113" not in str(rasa.requests)


def test_behind_a_trusted_proxy_the_forwarded_address_counts(
    app_for,
    rasa: FakeRasa,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RASA_URL", rasa.url)
    monkeypatch.setenv("HOTLINE_CHAT_LIMIT_PER_IP", "2/minute")
    monkeypatch.setenv("HOTLINE_TRUSTED_PROXIES", "10.0.0.0/24")
    proxy = app_for(PROXY)
    one, other = "203.0.113.7", "203.0.113.8"
    assert _fresh_chat_send(proxy, "a", forwarded=one) == 200
    # What the client wrote itself (left of the proxy's entry) does not change its address.
    assert _fresh_chat_send(proxy, "b", forwarded=f"1.1.1.1, {one}") == 200
    assert _fresh_chat_send(proxy, "c", forwarded=f"2.2.2.2, {one}") == 429
    assert _fresh_chat_send(proxy, "d", forwarded=other) == 200


def test_failed_logins_are_limited_per_address_across_accounts(
    app_for, role_users: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_LOGIN_LIMIT_PER_IP", "4/minute")
    guesser = app_for("203.0.113.9")
    statuses = []
    for i, user in enumerate(["op", "sup", "adm", "op"]):
        guesser.cookies.clear()
        token = page_csrf(guesser, "/login")
        statuses.append(
            guesser.post(
                "/login",
                data={"username": user, "password": f"guess-{i}", "csrf_token": token},
            ).status_code
        )
    assert statuses == [401, 401, 401, 401]
    guesser.cookies.clear()
    token = page_csrf(guesser, "/login")
    right = {"username": ROLE_USERS["operator"], "password": PASSWORD, "csrf_token": token}
    refused = guesser.post("/login", data=right)
    assert refused.status_code == 429 and "登录尝试过于频繁" in refused.text
    colleague = app_for("203.0.113.10")
    token = page_csrf(colleague, "/login")
    assert colleague.post("/login", data={**right, "csrf_token": token}).status_code == 303


def test_successful_logins_do_not_count(
    app_for, role_users: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An office behind one address logs in many times; only failures count."""
    monkeypatch.setenv("HOTLINE_LOGIN_LIMIT_PER_IP", "2/minute")
    office = app_for("203.0.113.11")
    for user in ["op", "sup", "adm", "op"]:
        office.cookies.clear()
        token = page_csrf(office, "/login")
        form = {"username": user, "password": PASSWORD, "csrf_token": token}
        assert office.post("/login", data=form).status_code == 303
