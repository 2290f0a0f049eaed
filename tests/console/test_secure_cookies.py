"""Session and web-chat cookies carry ``Secure`` with HOTLINE_ENV=production, not in development."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.console.conftest import PASSWORD, ROLE_USERS, page_csrf

PRODUCTION = {
    "HOTLINE_ENV": "production",
    "RASA_TOKEN": "r" * 32,
    "HOTLINE_ACTION_TOKEN": "a" * 32,
    "HOTLINE_SECRET_KEY": "s" * 48,
}


def set_cookies(response: object) -> dict[str, str]:
    """The response's Set-Cookie headers by cookie name."""
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    return {h.split("=", 1)[0]: h for h in headers}


def has_secure(header: str) -> bool:
    """Whether a Set-Cookie header has the Secure attribute."""
    return any(part.strip().lower() == "secure" for part in header.split(";"))


@pytest.fixture()
def production(monkeypatch: pytest.MonkeyPatch, role_users: dict[str, int]) -> Iterator[TestClient]:
    """A console built with production settings, reached over HTTPS (as behind the proxy)."""
    for key, value in PRODUCTION.items():
        monkeypatch.setenv(key, value)
    from console.app import create_app

    with TestClient(create_app(), base_url="https://testserver", follow_redirects=False) as c:
        yield c


def login_response(client: TestClient) -> object:
    token = page_csrf(client, "/login")
    return client.post(
        "/login",
        data={"username": ROLE_USERS["operator"], "password": PASSWORD, "csrf_token": token},
    )


def test_production_cookies_are_secure(production: TestClient) -> None:
    chat = set_cookies(production.get("/chat"))
    assert has_secure(chat["hotline_chat"]), chat
    response = login_response(production)
    assert response.status_code == 303, getattr(response, "text", "")
    session = set_cookies(response)
    assert has_secure(session["hotline_session"]), session


def test_development_cookies_work_over_plain_http(
    monkeypatch: pytest.MonkeyPatch, role_users: dict[str, int]
) -> None:
    monkeypatch.delenv("HOTLINE_ENV", raising=False)
    from tests.console.conftest import make_client

    with make_client() as client:
        chat = set_cookies(client.get("/chat"))
        assert not has_secure(chat["hotline_chat"])
        response = login_response(client)
        assert response.status_code == 303
        assert not has_secure(set_cookies(response)["hotline_session"])
