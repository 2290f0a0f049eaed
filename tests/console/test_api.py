"""The JSON API: tokens, listing, reading, creating, errors and the OpenAPI docs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hotline.access import accounts
from hotline.db import transaction
from tests.console.conftest import case_in, make_client, new_case


def token_for(username: str) -> str:
    with transaction() as session:
        _, clear = accounts.create_token(session, accounts.get_user(session, username))
    return clear


@pytest.fixture()
def api(role_users: dict[str, int]) -> Iterator[TestClient]:
    with make_client() as client:
        client.headers["Authorization"] = f"Bearer {token_for('op')}"
        yield client


NEW = {
    "category": "city_management",
    "description": "路灯坏了",
    "phone": "13812345678",
    "location": "幸福小区",
}


def test_requests_without_a_valid_token_get_401(role_users: dict[str, int]) -> None:
    with make_client() as client:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
            response = client.get("/api/v1/cases", headers=headers)
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["error"]["code"] == "unauthorized"


def test_revoked_token_stops_working(role_users: dict[str, int]) -> None:
    clear = token_for("op")
    with make_client() as client:
        headers = {"Authorization": f"Bearer {clear}"}
        assert client.get("/api/v1/cases", headers=headers).status_code == 200
        with transaction() as session:
            token = accounts.list_tokens(session)[0]
            accounts.revoke_token(session, token.id)
        assert client.get("/api/v1/cases", headers=headers).status_code == 401


def test_wrong_role_gets_403(api: TestClient) -> None:
    response = api.get("/api/v1/users")
    assert response.status_code == 403
    assert "督办员" in response.json()["error"]["message"]
    with make_client() as client:
        client.headers["Authorization"] = f"Bearer {token_for('sup')}"
        users = client.get("/api/v1/users").json()["users"]
        assert {u["username"] for u in users} == {"op", "sup", "adm"}
        assert all("password_hash" not in u for u in users)


def test_create_read_and_list(api: TestClient) -> None:
    created = api.post("/api/v1/cases", json=NEW)
    assert created.status_code == 201
    body = created.json()
    assert body["channel"] == "phone" and body["status"] == "new"
    assert body["phone"] == "138****5678"
    assert body["events"][0]["action"] == "create" and body["events"][0]["actor"] == "op"
    number = body["number"]
    one = api.get(f"/api/v1/cases/{number}").json()
    assert one["number"] == number and len(one["events"]) == 1
    listed = api.get("/api/v1/cases", params={"q": "5678"}).json()
    assert [c["number"] for c in listed["cases"]] == [number]
    assert listed["counts"] == {"new": 1}
    assert api.get("/api/v1/cases", params={"status": "closed"}).json()["cases"] == []


def test_create_is_idempotent_with_a_key(api: TestClient) -> None:
    first = api.post("/api/v1/cases", json=NEW, headers={"Idempotency-Key": "call-42"})
    second = api.post("/api/v1/cases", json=NEW, headers={"Idempotency-Key": "call-42"})
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["number"] == second.json()["number"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW, "phone": "123"}, "phone"),
        ({**NEW, "category": "nope"}, "category"),
        ({**NEW, "location": ""}, "location"),
        ({**NEW, "urgency": "asap"}, "urgency"),
        ({**NEW, "channel": "telegram"}, "channel"),
        ({**NEW, "extra": 1}, "extra"),
        ({"description": "x"}, "category"),
    ],
)
def test_bad_input_is_400_with_the_field(
    api: TestClient, body: dict[str, object], field: str
) -> None:
    response = api.post("/api/v1/cases", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request" and error["field"] == field and error["message"]


def test_rest_channel_needs_no_phone(api: TestClient) -> None:
    response = api.post(
        "/api/v1/cases", json={"category": "other", "description": "系统转来", "channel": "rest"}
    )
    assert response.status_code == 201 and response.json()["channel"] == "rest"


def test_bad_json_and_bad_queries_are_400(api: TestClient) -> None:
    response = api.post(
        "/api/v1/cases", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert api.get("/api/v1/cases", params={"status": "bogus"}).status_code == 400
    assert api.get("/api/v1/cases", params={"limit": 0}).status_code == 400
    number = new_case()
    bad = api.post(f"/api/v1/cases/{number}/actions", json={"action": "fly"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "action"
    for action in ("rate", "cancel", "add_info"):
        assert (
            api.post(f"/api/v1/cases/{number}/actions", json={"action": action}).status_code == 400
        )
    days = api.post(f"/api/v1/cases/{number}/actions", json={"action": "extend", "days": 0})
    assert days.status_code == 400


def test_unknown_case_is_404(api: TestClient) -> None:
    assert api.get("/api/v1/cases/SQ00000000-0000").status_code == 404
    response = api.post("/api/v1/cases/SQ00000000-0000/actions", json={"action": "accept"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_invalid_transition_is_409(api: TestClient) -> None:
    number = case_in("closed")
    response = api.post(f"/api/v1/cases/{number}/actions", json={"action": "dispatch"})
    assert response.status_code == 409


def test_missing_note_is_400(api: TestClient) -> None:
    number = case_in("dispatched")
    response = api.post(f"/api/v1/cases/{number}/actions", json={"action": "resolve"})
    assert response.status_code == 400 and response.json()["error"]["field"] == "note"


def test_openapi_docs(api: TestClient, operator: TestClient) -> None:
    spec = api.get("/api/openapi.json").json()
    assert "/api/v1/cases/{number}/actions" in spec["paths"]
    docs = operator.get("/api/docs")
    assert docs.status_code == 200
    assert "/api/v1/cases" in docs.text and "ActionIn" in docs.text
    assert "cdn" not in docs.text.lower()


def test_publication_consent_is_stored_and_shown(api: TestClient) -> None:
    """The core API records whether the resident agreed to publication (default: no)."""
    plain = api.post("/api/v1/cases", json=NEW).json()
    assert plain["publish_consent"] is False
    agreed = api.post("/api/v1/cases", json={**NEW, "publish_consent": True}).json()
    assert agreed["publish_consent"] is True
    read = api.get(f"/api/v1/cases/{agreed['number']}").json()
    assert read["publish_consent"] is True
    assert api.post("/api/v1/cases", json={**NEW, "publish_consent": "maybe"}).status_code == 400
