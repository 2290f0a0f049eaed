"""Console fixtures: a migrated database, one account per role and logged-in test clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hotline.access import accounts
from hotline.casework.actors import Actor
from hotline.casework.cases import NewCase, create_case
from hotline.db import transaction

PASSWORD = "correct-horse-1"
ROLE_USERS = {"operator": "op", "supervisor": "sup", "admin": "adm"}
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast argon2 parameters: these tests hash and check passwords hundreds of times."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture()
def console_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The database, with Rasa and the action server pointed at a closed port."""
    monkeypatch.setenv("RASA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ACTION_SERVER_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("HOTLINE_SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
    return db_url


@pytest.fixture()
def role_users(console_env: str) -> dict[str, int]:
    """One account per role; returns their ids by role."""
    ids = {}
    with transaction() as session:
        for role, name in ROLE_USERS.items():
            ids[role] = accounts.create_user(session, name, PASSWORD, role, display_name=name).id
    return ids


def make_client() -> TestClient:
    """A test client of a freshly built console app."""
    from console.app import create_app

    return TestClient(create_app(), follow_redirects=False)


def page_csrf(client: TestClient, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page."""
    response = client.get(path)
    match = _CSRF.search(response.text)
    assert match, f"no csrf token on {path}: {response.status_code}"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    """Logs the client in (or tries to); returns the login response."""
    token = page_csrf(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


@pytest.fixture()
def client(console_env: str) -> Iterator[TestClient]:
    """An anonymous client."""
    with make_client() as c:
        yield c


@pytest.fixture()
def as_role(role_users: dict[str, int]) -> Iterator[Callable[[str], TestClient]]:
    """Returns logged-in clients by role (``operator``, ``supervisor``, ``admin``)."""
    clients: list[TestClient] = []

    def factory(role: str) -> TestClient:
        c = make_client()
        c.__enter__()
        clients.append(c)
        response = login(c, ROLE_USERS[role])
        assert response.status_code == 303, response.text
        return c

    yield factory
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture()
def operator(as_role: Callable[[str], TestClient]) -> TestClient:
    """A logged-in operator."""
    return as_role("operator")


def csrf_of(client: TestClient) -> str:
    """The CSRF token of a logged-in client."""
    return page_csrf(client, "/account/password")


def new_case(**overrides: Any) -> str:
    """Registers a case directly in the core and returns its number."""
    fields: dict[str, Any] = {
        "category": "city_management",
        "description": "我家楼下的路灯坏了好几天了",
        "phone": "13812345678",
        "location": "幸福小区3栋",
        "channel": "web",
        "resident_ref": "web:resident-1",
    }
    fields.update(overrides)
    with transaction() as session:
        case, _ = create_case(session, NewCase(**fields), Actor.resident(fields["resident_ref"]))
        return case.number


PATH_TO = {
    "new": [],
    "accepted": ["accept"],
    "dispatched": ["accept", "dispatch"],
    "in_progress": ["accept", "dispatch", "start"],
    "resolved": ["accept", "dispatch", "start", "resolve"],
    "closed": ["accept", "dispatch", "start", "resolve", "close"],
    "returned": ["accept", "dispatch", "return"],
    "cancelled": ["cancel"],
}
"""The actions that bring a new case to each state."""


def case_in(status: str, **overrides: Any) -> str:
    """A case brought to ``status`` through the core's own actions; returns its number."""
    from hotline.casework.cases import ActionInput, apply_action, get_case

    number = new_case(**overrides)
    with transaction() as session:
        case = get_case(session, number)
        for action in PATH_TO[status]:
            apply_action(session, case, action, Actor.system("test"), ActionInput(note="测试说明"))
        assert case.status == status
    return number


def status_of(number: str) -> str:
    """The current status of a case."""
    from hotline.casework.cases import get_case

    with transaction() as session:
        return get_case(session, number).status
