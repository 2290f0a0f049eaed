"""Errors are clear Chinese pages or JSON, never a trace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from console.app import create_app
from hotline.models import utcnow
from tests.bot.conftest import closed_port
from tests.console.conftest import login
from tests.console.test_api import token_for


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


@pytest.mark.parametrize("path", ["/cases", "/dashboard", "/handoff"])
def test_database_down_is_a_chinese_503_page(
    as_role: Callable[[str], TestClient], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    supervisor = as_role("supervisor")  # logged in while the database is up
    token = token_for("sup")
    # Then the database goes away: a PostgreSQL URL whose port refuses connections.
    monkeypatch.setenv(
        "HOTLINE_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/hotline"
    )
    response = supervisor.get(path)
    assert response.status_code == 503, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert "暂不可用" in response.text
    for leak in ("Traceback", "psycopg", "OperationalError", "127.0.0.1"):
        assert leak not in response.text
    api = supervisor.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 503 and api.json()["error"]["code"] == "unavailable"


def _table(tmp_path: Path, next_year: str) -> Path:
    """A holiday table (test fixture, not the official notice) for this year and the next."""
    year = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).year
    entry = "\n    notice: test fixture\n    holidays: []"
    path = tmp_path / "holidays.yml"
    path.write_text(f"years:\n  {year}:{entry}\n  {year + 1}:{next_year}\n", encoding="utf-8")
    return path


def test_healthz_reports_each_component(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_HOLIDAYS", str(_table(tmp_path, "\n    notice: test fixture")))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "database": True,
        "rasa": False,
        "action_server": False,
        "calendar": {"ok": True, "horizon_days": 45, "missing": [], "error": None},
        "warnings": [],
    }


def test_healthz_warns_of_days_ahead_without_an_official_calendar(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_HOLIDAYS", str(_table(tmp_path, " null")))
    monkeypatch.setenv("HOTLINE_CALENDAR_HORIZON_DAYS", "400")  # always reaches next year
    body = client.get("/healthz").json()
    next_year = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).year + 1
    assert body["calendar"]["ok"] is False
    assert body["calendar"]["missing"][0].startswith(f"{next_year}-01-01..")
    (warning,) = body["warnings"]
    assert f"no official holiday calendar for {next_year}-01-01.." in warning
