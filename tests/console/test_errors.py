"""Errors are clear Chinese pages or JSON, never a trace."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from console.app import create_app
from hotline.errors import StorageUnavailableError
from tests.console.conftest import login


def test_unknown_page_is_a_chinese_404(operator: TestClient) -> None:
    response = operator.get("/no/such/page")
    assert response.status_code == 404 and "页面不存在" in response.text


def test_unknown_api_route_is_json(client: TestClient) -> None:
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_wrong_method_is_405(client: TestClient) -> None:
    assert client.delete("/login").status_code == 405


def test_unexpected_errors_get_a_generic_page(role_users: dict[str, int]) -> None:
    boom = APIRouter()

    @boom.get("/boom")
    def explode() -> None:
        raise RuntimeError("secret internals")

    with TestClient(create_app([boom]), raise_server_exceptions=False) as client:
        response = client.get("/boom")
        assert response.status_code == 500
        assert "系统出错了" in response.text and "secret internals" not in response.text
        login(client, "op")
        json_response = client.get("/boom", headers={"Accept": "application/json"})
        assert json_response.json()["error"]["code"] == "internal_error"


def test_database_down_is_503(operator: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import console.routes_cases as routes

    def down(*args: object, **kwargs: object) -> None:
        raise StorageUnavailableError("case database unavailable")

    monkeypatch.setattr(routes, "parse_queue", down)
    response = operator.get("/cases")
    assert response.status_code == 503 and "暂不可用" in response.text


def test_healthz_reports_each_component(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "database": True,
        "rasa": False,
        "action_server": False,
    }
