"""Hostile input on the JSON API (/api/v1), on SQLite and PostgreSQL.

Every answer is JSON: 2xx, or 4xx with a Chinese message (and the field at fault for bad
input). Never a 500, never a trace. What is stored is exactly what was sent (less NUL).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bad_input.conftest import assert_chinese, assert_no_leak
from tests.bad_input.strategies import MALFORMED_JSON, hostile_text, nonblank_hostile_text
from tests.console.conftest import new_case

PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CATEGORIES = st.sampled_from(["city_management", "other", "elderly_care"])
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text(300),
)


def check(response: Any, *ok: int) -> dict[str, Any]:
    """The answer is JSON with an allowed status, or a 4xx error with a Chinese message."""
    assert response.status_code < 500, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    assert_no_leak(response.text)
    body = response.json()
    if response.status_code not in ok:
        assert 400 <= response.status_code < 500, response.text[:500]
        assert_chinese(body["error"]["message"])
    return dict(body) if isinstance(body, dict) else {"items": body}


@PROPERTY
@given(
    description=nonblank_hostile_text(),
    location=hostile_text(600),
    name=hostile_text(80),
    category=CATEGORIES,
)
def test_hostile_case_fields(
    api_client: TestClient, description: str, location: str, name: str, category: str
) -> None:
    body = {
        "category": category,
        "description": description,
        "location": location,
        "contact_name": name,
        "channel": "rest",
    }
    response = api_client.post("/api/v1/cases", json=body)
    data = check(response, 201)
    if response.status_code != 201:
        assert data["error"]["field"] in {"description", "location", "contact_name", "name"}
        return
    cleaned = description.replace("\x00", "").strip()
    assert data["description"] == cleaned
    read = check(api_client.get(f"/api/v1/cases/{quote(data['number'])}"), 200)
    assert read["description"] == cleaned


@PROPERTY
@given(
    field=st.sampled_from(["category", "phone", "case_type", "urgency", "channel"]), value=st.data()
)
def test_hostile_values_in_coded_fields_are_refused_by_name(
    api_client: TestClient, field: str, value: st.DataObject
) -> None:
    body: dict[str, Any] = {
        "category": "city_management",
        "description": "路灯坏了",
        "channel": "rest",
        field: value.draw(hostile_text(30), label=field),
    }
    data = check(api_client.post("/api/v1/cases", json=body), 201)
    if "error" in data:
        assert data["error"].get("field") in {field, "name", "type"}, data


@PROPERTY
@given(
    body=st.dictionaries(
        st.sampled_from(["category", "description", "latitude", "days", "x"]), json_scalars
    )
)
def test_wrong_types_are_refused(api_client: TestClient, body: dict[str, Any]) -> None:
    check(api_client.post("/api/v1/cases", json=body), 201)


@pytest.mark.parametrize("raw", MALFORMED_JSON, ids=range(len(MALFORMED_JSON)))
def test_malformed_json(api_client: TestClient, raw: bytes) -> None:
    number = new_case()
    for path in ("/api/v1/cases", f"/api/v1/cases/{number}/actions"):
        response = api_client.post(path, content=raw, headers={"Content-Type": "application/json"})
        check(response)
        assert response.status_code in (400, 413)


@PROPERTY
@given(q=hostile_text(150), status=hostile_text(20), view=hostile_text(20))
def test_hostile_queries(api_client: TestClient, q: str, status: str, view: str) -> None:
    for params in ({"q": q}, {"status": status}, {"view": view}, {"assignee": q}):
        check(api_client.get("/api/v1/cases", params=params), 200)
    check(api_client.get(f"/api/v1/cases/{quote(q or 'x', safe='')}"), 200)


def test_a_slash_as_case_number_is_a_json_404(api_client: TestClient) -> None:
    # Found by hypothesis: the path became /api/v1/cases// and the app answered a bare 307.
    response = api_client.get("/api/v1/cases/%2F", follow_redirects=False)
    assert response.status_code == 404
    check(response, 200)


@PROPERTY
@given(note=nonblank_hostile_text(), action=st.sampled_from(["note", "reply", "accept", "fly"]))
def test_hostile_actions(api_client: TestClient, note: str, action: str) -> None:
    number = new_case()
    response = api_client.post(
        f"/api/v1/cases/{number}/actions", json={"action": action, "note": note}
    )
    data = check(response, 200)
    if response.status_code == 200 and action == "note":
        stored = data["events"][-1]["note"]
        assert stored.replace("\x00", "").strip() == note.replace("\x00", "").strip()
