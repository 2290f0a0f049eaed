"""Login, lockout, logout, sessions, CSRF and redirects."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from console.app import SESSION_COOKIE
from hotline.access import accounts
from hotline.db import transaction
from hotline.models import CaseEvent
from tests.console.conftest import PASSWORD, csrf_of, login, new_case, page_csrf


def test_login_page_is_chinese_and_sets_a_strict_cookie(client: TestClient) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录" in response.text and 'lang="zh-CN"' in response.text
    cookie = response.headers["set-cookie"]
    assert SESSION_COOKIE in cookie
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def test_anonymous_pages_redirect_to_login(client: TestClient) -> None:
    response = client.get("/cases?view=mine")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcases%3Fview%3Dmine"
    assert client.get("/").headers["location"].startswith("/login")


def test_login_then_logout(role_users: dict[str, int], client: TestClient) -> None:
    response = login(client, "op")
    assert response.status_code == 303 and response.headers["location"] == "/cases"
    page = client.get("/cases")
    assert page.status_code == 200 and "op" in page.text
    token = csrf_of(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/cases").status_code == 303


def test_login_redirects_only_within_the_site(
    role_users: dict[str, int], client: TestClient
) -> None:
    token = page_csrf(client)
    response = client.post(
        "/login",
        data={
            "username": "op",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
    )
    assert response.headers["location"] == "/cases"


def test_wrong_password_is_refused_with_a_generic_message(
    role_users: dict[str, int], client: TestClient
) -> None:
    response = login(client, "op", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    unknown = login(client, "nobody", "wrong-password")
    assert unknown.status_code == 401 and "用户名或密码错误" in unknown.text


def test_lockout_after_five_failures(role_users: dict[str, int], client: TestClient) -> None:
    for _ in range(4):
        assert login(client, "op", "wrong-password").status_code == 401
    fifth = login(client, "op", "wrong-password")
    assert "已锁定" in fifth.text
    # The right password is refused while the account is locked.
    locked = login(client, "op")
    assert locked.status_code == 401 and "已锁定" in locked.text
    with transaction() as session:
        user = accounts.get_user(session, "op")
        assert user.locked_until is not None
        events = session.scalars(select(CaseEvent).where(CaseEvent.action == "account_locked"))
        assert len(list(events)) == 1
        accounts.set_password(session, user, "another-password")
    assert login(client, "op", "another-password").status_code == 303


def test_disabled_account_loses_its_session(
    role_users: dict[str, int], as_role: Callable[[str], TestClient]
) -> None:
    operator = as_role("operator")
    assert operator.get("/cases").status_code == 200
    with transaction() as session:
        accounts.set_active(session, accounts.get_user(session, "op"), False)
    assert operator.get("/cases").status_code == 303


def test_password_change_ends_other_sessions(
    role_users: dict[str, int], as_role: Callable[[str], TestClient]
) -> None:
    first = as_role("operator")
    second = as_role("operator")
    token = csrf_of(first)
    response = first.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "new": "brand-new-pass",
            "confirm": "brand-new-pass",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    assert first.get("/cases").status_code == 200
    assert second.get("/cases").status_code == 303


def test_password_change_checks_the_current_password(operator: TestClient) -> None:
    token = csrf_of(operator)
    response = operator.post(
        "/account/password",
        data={
            "current": "nope",
            "new": "brand-new-pass",
            "confirm": "brand-new-pass",
            "csrf_token": token,
        },
    )
    assert response.status_code == 400 and "当前密码不正确" in response.text


def test_csrf_is_required_on_forms(role_users: dict[str, int], client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "op", "password": PASSWORD})
    assert response.status_code == 403 and "安全令牌" in response.text
    assert login(client, "op").status_code == 303
    number = new_case()
    for data in ({"action": "accept"}, {"action": "accept", "csrf_token": "forged"}):
        refused = client.post(f"/cases/{number}/actions", data=data)
        assert refused.status_code == 403
    assert client.post(f"/cases/{number}/reveal", data={}).status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    from tests.console.conftest import status_of

    assert status_of(number) == "new"


def test_csrf_token_in_a_header_is_accepted(operator: TestClient) -> None:
    number = new_case()
    token = csrf_of(operator)
    response = operator.post(
        f"/cases/{number}/actions", data={"action": "accept"}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 303


def test_logout_without_a_session_just_goes_to_login(client: TestClient) -> None:
    response = client.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
