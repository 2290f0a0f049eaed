"""``SessionDep``: one transaction around the route function, ended before the response.

A tiny app with the console's error handlers; each route adds a department and then ends in
a different way.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from console import errors
from console.deps import SessionDep
from hotline.db import transaction
from hotline.errors import ValidationError
from hotline.models import Department


def _add(session: SessionDep, name: str) -> None:
    session.add(Department(name=name))
    session.flush()


@pytest.fixture()
def client(console_env: str) -> Iterator[TestClient]:
    app = FastAPI()
    errors.install(app)

    @app.post("/ok")
    def ok(session: SessionDep) -> dict[str, int]:
        _add(session, "城管科")
        return {"departments": session.scalar(select(func.count(Department.id))) or 0}

    @app.post("/http-error")
    def http_error(session: SessionDep) -> None:
        _add(session, "城管科")
        raise HTTPException(409, "已被他人处理")

    @app.post("/domain-error")
    def domain_error(session: SessionDep) -> None:
        _add(session, "城管科")
        raise ValidationError("name", "名称不能为空")

    @app.post("/commit-fails")
    def commit_fails(session: SessionDep) -> dict[str, str]:
        _add(session, "城管科")
        session.add(Department(name="城管科"))  # flushed only by the commit: a unique violation
        return {"status": "ok"}

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _names() -> list[str]:
    with transaction() as session:
        return list(session.scalars(select(Department.name)))


def test_a_returning_route_commits(client: TestClient) -> None:
    response = client.post("/ok")
    assert response.status_code == 200 and response.json() == {"departments": 1}
    assert _names() == ["城管科"]


def test_an_http_exception_rolls_back(client: TestClient) -> None:
    response = client.post("/http-error", headers={"accept": "application/json"})
    assert response.status_code == 409
    assert _names() == []


def test_a_domain_error_rolls_back_and_keeps_its_answer(client: TestClient) -> None:
    response = client.post("/domain-error", headers={"accept": "application/json"})
    assert response.status_code == 400
    assert "名称不能为空" in response.text
    assert _names() == []


def test_a_failed_commit_is_an_error_response_not_a_200(client: TestClient) -> None:
    """The commit happens before the response is sent (scope="function")."""
    response = client.post("/commit-fails")
    assert response.status_code == 500
    assert _names() == []
