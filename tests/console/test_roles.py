"""The role matrix: every route of the console × every role, plus anonymous."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from console.app import create_app
from hotline.access import accounts
from hotline.channels import handoff
from hotline.db import transaction
from tests.console.conftest import PASSWORD, csrf_of, make_client, new_case, page_csrf

ANON, OPERATOR, SUPERVISOR, ADMIN = "anonymous", "operator", "supervisor", "admin"
RANK = {ANON: -1, OPERATOR: 0, SUPERVISOR: 1, ADMIN: 2}

ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): ANON,
    ("GET", "/login"): ANON,
    ("POST", "/login"): ANON,
    ("POST", "/logout"): ANON,
    ("GET", "/chat"): ANON,
    ("POST", "/chat/send"): ANON,
    ("POST", "/chat/poll"): ANON,
    ("GET", "/"): OPERATOR,
    ("GET", "/account/password"): OPERATOR,
    ("POST", "/account/password"): OPERATOR,
    ("GET", "/cases"): OPERATOR,
    ("GET", "/cases/feed"): OPERATOR,
    ("GET", "/cases/new"): OPERATOR,
    ("POST", "/cases/new"): OPERATOR,
    ("GET", "/cases/{number}"): OPERATOR,
    ("POST", "/cases/{number}/actions"): OPERATOR,
    ("POST", "/cases/{number}/reveal"): OPERATOR,
    ("GET", "/cases/{number}/transcript"): OPERATOR,
    ("GET", "/media/{attachment_id}"): OPERATOR,
    ("GET", "/hotspots"): OPERATOR,
    ("GET", "/handoff"): OPERATOR,
    ("GET", "/handoff/feed"): OPERATOR,
    ("POST", "/handoff/{sender_id}/take"): OPERATOR,
    ("GET", "/handoff/{sender_id}"): OPERATOR,
    ("GET", "/handoff/{sender_id}/messages"): OPERATOR,
    ("POST", "/handoff/{sender_id}/say"): OPERATOR,
    ("POST", "/handoff/{sender_id}/release"): OPERATOR,
    ("POST", "/handoff/{sender_id}/case"): OPERATOR,
    ("GET", "/api/docs"): OPERATOR,
    ("GET", "/api/openapi.json"): OPERATOR,
    ("GET", "/admin"): ADMIN,
    ("GET", "/admin/users"): ADMIN,
    ("POST", "/admin/users"): ADMIN,
    ("POST", "/admin/users/{user_id}/role"): ADMIN,
    ("POST", "/admin/users/{user_id}/active"): ADMIN,
    ("POST", "/admin/users/{user_id}/password"): ADMIN,
    ("POST", "/admin/users/{user_id}/token"): ADMIN,
    ("POST", "/admin/tokens/{token_id}/revoke"): ADMIN,
    ("GET", "/admin/departments"): ADMIN,
    ("POST", "/admin/departments"): ADMIN,
    ("POST", "/admin/departments/{department_id}/active"): ADMIN,
    ("POST", "/admin/routing"): ADMIN,
    ("GET", "/admin/replies"): ADMIN,
    ("POST", "/admin/replies"): ADMIN,
    ("POST", "/admin/replies/{reply_id}"): ADMIN,
    ("GET", "/dashboard"): SUPERVISOR,
    ("GET", "/reports/monthly"): SUPERVISOR,
    ("GET", "/log"): SUPERVISOR,
    ("GET", "/log/audit"): SUPERVISOR,
    ("GET", "/log/{number}"): SUPERVISOR,
    ("GET", "/log/export.csv"): OPERATOR,
    ("GET", "/log/export.xlsx"): OPERATOR,
    ("POST", "/log/export"): SUPERVISOR,
    ("GET", "/data-requests"): OPERATOR,
    ("POST", "/data-requests/{request_id}/carry-out"): SUPERVISOR,  # irreversible
}
"""Every page route and the least role that may use it."""

OPEN311_ROUTES = {
    ("GET", "/open311/discovery.{fmt}"),
    ("GET", "/open311/v2/services.{fmt}"),
    ("GET", "/open311/v2/services/{service_code}.{fmt}"),
    ("GET", "/open311/v2/requests.{fmt}"),
    ("POST", "/open311/v2/requests.{fmt}"),
    ("GET", "/open311/v2/requests/{request_id}.{fmt}"),
}
"""Open311 GeoReport v2: public reads, api_key writes (tests/supervisor/test_open311.py)."""

API_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/cases"): OPERATOR,
    ("POST", "/api/v1/cases"): OPERATOR,
    ("GET", "/api/v1/cases/{number}"): OPERATOR,
    ("POST", "/api/v1/cases/{number}/actions"): OPERATOR,
    ("GET", "/api/v1/cases/{number}/similar"): OPERATOR,
    ("GET", "/api/v1/hotspots"): OPERATOR,
    ("GET", "/api/v1/users"): SUPERVISOR,
}
"""Every JSON API route (bearer tokens) and the least role that may use it."""


def test_the_tables_cover_every_route(console_env: str) -> None:
    from console.app import ROUTERS, health_router

    create_app()
    found = {
        (method, route.path)
        for router in [health_router, *ROUTERS]
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods - {"HEAD"}
    }
    assert found == set(ROUTES) | set(API_ROUTES) | OPEN311_ROUTES


@pytest.fixture()
def world(role_users: dict[str, int]) -> dict[str, str]:
    """A case, a waiting conversation and a spare account to act on."""
    number = new_case()
    with transaction() as session:
        victim = accounts.create_user(session, "victim", PASSWORD, "operator")
        handoff.request_handoff(session, "web:matrix")
        handoff.record_message(session, "web:matrix", handoff.IN, "resident", "转人工")
        token, _ = accounts.create_token(session, victim)
        return {
            "number": number,
            "sender_id": "web:matrix",
            "user_id": str(victim.id),
            "attachment_id": "1",
            "token_id": str(token.id),
            "department_id": "1",
            "reply_id": "1",
        }


def _fill(path: str, world: dict[str, str]) -> str:
    for key, value in world.items():
        path = path.replace("{" + key + "}", value)
    return path


def _allowed(response_status: int, location: str) -> bool:
    return response_status not in (401, 403) and not location.startswith("/login")


@pytest.mark.parametrize("role", [ANON, OPERATOR, SUPERVISOR, ADMIN])
def test_page_routes_check_the_role(
    role: str, world: dict[str, str], as_role: Callable[[str], TestClient]
) -> None:
    client = make_client() if role == ANON else as_role(role)
    # Anonymous requests carry a valid CSRF token too, so the role check is what refuses them.
    token = csrf_of(client) if role != ANON else page_csrf(client, "/login")
    failures = []
    for (method, template), needed in ROUTES.items():
        if template == "/logout":
            continue  # ends the session; covered in test_auth
        path = _fill(template, world)
        if method == "GET":
            response = client.get(path)
        elif template == "/chat/send":
            response = client.post(path, json={"text": "你好"}, headers={"X-CSRF-Token": token})
        else:
            response = client.post(path, data={"csrf_token": token})
        location = response.headers.get("location", "")
        if RANK[role] >= RANK[needed]:
            ok = _allowed(response.status_code, location) and response.status_code < 500
            if template == "/healthz":
                ok = response.status_code in (200, 503)
            if (method, template) == ("POST", "/login"):
                ok = response.status_code == 401  # an empty login fails; it is not refused
            if template == "/chat/send":
                ok = response.status_code in (200, 400)
        elif role == ANON and template == "/api/openapi.json":
            ok = response.status_code == 401
        elif role == ANON:
            ok = response.status_code == 303 and location.startswith("/login")
        else:
            ok = response.status_code == 403 and "权限" in response.text
        if not ok:
            failures.append(f"{method} {path} as {role}: {response.status_code} {location}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", [ANON, OPERATOR, SUPERVISOR, ADMIN])
def test_api_routes_check_the_role(role: str, world: dict[str, str]) -> None:
    headers = {}
    if role != ANON:
        with transaction() as session:
            user = accounts.get_user(
                session, {OPERATOR: "op", SUPERVISOR: "sup", ADMIN: "adm"}[role]
            )
            _, clear = accounts.create_token(session, user)
        headers = {"Authorization": f"Bearer {clear}"}
    failures = []
    with make_client() as client:
        for (method, template), needed in API_ROUTES.items():
            path = _fill(template, world)
            if method == "GET":
                response = client.get(path, headers=headers)
            else:
                response = client.post(path, json={}, headers=headers)
            if RANK[role] >= RANK[needed]:
                ok = response.status_code in (200, 201, 400, 404, 409)
            elif role == ANON:
                ok = response.status_code == 401
            else:
                ok = response.status_code == 403
            if ok:
                ok = response.headers["content-type"].startswith("application/json")
            if not ok:
                failures.append(f"{method} {path} as {role}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_session_cookies_do_not_open_the_api(operator: TestClient, world: dict[str, str]) -> None:
    response = operator.get("/api/v1/cases")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
