"""Open311 GeoReport v2: every endpoint, the api_key check, bad input and a round trip."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.access import accounts
from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, NewCase, apply_action, create_case, get_case
from hotline.casework.catalogue import get_catalogue
from hotline.db import transaction
from hotline.models import CaseEvent, utcnow
from tests.console.conftest import make_client

V2 = "/open311/v2"


@pytest.fixture()
def api(console_env: str) -> Iterator[TestClient]:
    with make_client() as client:
        yield client


@pytest.fixture()
def reader(api: TestClient, api_key: str) -> TestClient:
    """The client, reading with a partner's api_key (reads need one by default)."""
    api.headers["X-Api-Key"] = api_key
    return api


@pytest.fixture()
def elderly_care_public(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalogue with 养老服务 also marked ``public: true`` (two public categories)."""
    from hotline.config import PROJECT_ROOT

    data = yaml.safe_load((PROJECT_ROOT / "data" / "catalogue.yml").read_text(encoding="utf-8"))
    (elderly,) = [c for c in data["categories"] if c["code"] == "elderly_care"]
    elderly["public"] = True
    marked = yaml.safe_dump(data, allow_unicode=True)
    path = tmp_path / "catalogue.yml"
    path.write_text(marked, encoding="utf-8")
    monkeypatch.setenv("HOTLINE_CATALOGUE", str(path))


@pytest.fixture()
def api_key(console_env: str) -> str:
    with transaction() as session:
        _, clear = accounts.create_api_key(session, "城市运行平台")
    return clear


def spec_error(response: Any, code: int) -> str:
    assert response.status_code == code, response.text
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    assert set(body[0]) == {"code", "description"} and body[0]["code"] == code
    return str(body[0]["description"])


def post(api: TestClient, **fields: str) -> Any:
    return api.post(f"{V2}/requests.json", data=fields)


def valid(api_key: str, **overrides: str) -> dict[str, str]:
    fields = {
        "api_key": api_key,
        "service_code": "city_management",
        "description": "路口的路灯不亮，晚上很黑，请联系我13812345678",
        "address_string": "武昌区幸福路与光明街交叉口",
        "lat": "30.5431234",
        "long": "114.3412345",
        "phone": "138 1234 5678",
        "first_name": "建国",
        "last_name": "王",
        "attribute[case_type]": "complaint",
        "attribute[urgency]": "urgent",
    }
    fields.update(overrides)
    return fields


def test_services_list_the_catalogue(api: TestClient) -> None:
    response = api.get(f"{V2}/services.json")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    services = response.json()
    assert [s["service_code"] for s in services] == get_catalogue().codes
    city = next(s for s in services if s["service_code"] == "city_management")
    assert city["service_name"] == "城市管理"
    assert city["metadata"] is True and city["type"] == "realtime"
    assert "路灯" in city["keywords"] and city["group"]
    root = ET.fromstring(api.get(f"{V2}/services.xml").content)
    assert root.tag == "services" and root[0].tag == "service"
    assert root[0].find("service_code").text == get_catalogue().codes[0]


def test_service_definition_and_unknown_code(api: TestClient) -> None:
    definition = api.get(f"{V2}/services/elderly_care.json").json()
    assert definition["service_code"] == "elderly_care"
    codes = {a["code"]: a for a in definition["attributes"]}
    assert set(codes) == {"case_type", "urgency"}
    assert {"key": "complaint", "name": "投诉"} in codes["case_type"]["values"]
    assert codes["urgency"]["datatype"] == "singlevaluelist"
    assert codes["urgency"]["required"] is False and codes["urgency"]["variable"] is True
    spec_error(api.get(f"{V2}/services/no_such_service.json"), 404)
    root = ET.fromstring(api.get(f"{V2}/services/no_such_service.xml").content)
    assert root.tag == "errors" and root[0].find("code").text == "404"
    spec_error(api.get(f"{V2}/services.yaml"), 400)


def test_post_needs_a_valid_api_key(api: TestClient, api_key: str) -> None:
    fields = valid(api_key)
    spec_error(post(api, **{k: v for k, v in fields.items() if k != "api_key"}), 403)
    spec_error(post(api, **{**fields, "api_key": "o311_wrong"}), 403)
    with transaction() as session:
        key = accounts.verify_api_key(session, api_key)
        assert key is not None
        accounts.revoke_api_key(session, key.id)
    spec_error(post(api, **fields), 403)


@pytest.mark.parametrize(
    ("overrides", "drop", "words"),
    [
        ({"service_code": "no_such_service"}, (), "service_code"),
        ({}, ("service_code",), "service_code"),
        ({}, ("description",), "description"),
        ({}, ("address_string", "lat", "long"), "location"),
        ({"lat": "north"}, (), "lat"),
        ({"lat": "nan"}, (), "lat"),
        ({"lat": "95"}, (), "lat"),
        ({}, ("long",), "lat and long"),
        ({"phone": "12345"}, (), "phone"),
        ({"attribute[urgency]": "asap"}, (), "attribute[urgency]"),
        ({"description": "长" * 10_001}, (), "description"),
    ],
)
def test_post_refuses_bad_input(
    api: TestClient, api_key: str, overrides: dict[str, str], drop: tuple[str, ...], words: str
) -> None:
    fields = {k: v for k, v in valid(api_key, **overrides).items() if k not in drop}
    assert words in spec_error(post(api, **fields), 400)


def test_round_trip_post_then_get(api: TestClient, api_key: str, reader: TestClient) -> None:
    response = post(api, **valid(api_key))
    assert response.status_code == 201
    (created,) = response.json()
    number = created["service_request_id"]
    assert number in created["service_notice"] and "办理时限" in created["service_notice"]
    with transaction() as session:
        case = get_case(session, number)
        assert (case.channel, case.category, case.case_type, case.urgency) == (
            "open311",
            "city_management",
            "complaint",
            "urgent",
        )
        assert (case.contact_name, case.phone) == ("王建国", "+8613812345678")
        assert case.location == "武昌区幸福路与光明街交叉口"
        event = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id))
        assert event is not None and event.actor == "open311:城市运行平台"

    answer = api.get(f"{V2}/requests/{number}.json")
    assert "access-control-allow-origin" not in answer.headers  # read with a key: no CORS
    (found,) = answer.json()
    assert found["service_request_id"] == number
    assert found["status"] == "open" and found["status_notes"] == "已登记，等待受理"
    assert found["service_code"] == "city_management" and found["service_name"] == "城市管理"
    assert found["agency_responsible"] == case.department
    for key in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert found[key].endswith("+08:00"), key
    # Public data only: no phone, no name, no exact address, coarse coordinates.
    text = str(found)
    assert "13812345678" not in text and "王建国" not in text and "幸福路与光明街" not in text
    assert "[电话已删除]" in found["description"]
    assert (found["lat"], found["long"]) == (30.543, 114.341)
    assert found["address"] is None

    with transaction() as session:
        case = get_case(session, number)
        for action in ("accept", "dispatch"):
            apply_action(session, case, action, Actor.system("test"))
    (found,) = api.get(f"{V2}/requests/{number.lower()}.json").json()
    assert found["status"] == "open" and found["status_notes"].startswith("已派至")
    with transaction() as session:
        case = get_case(session, number)
        apply_action(session, case, "resolve", Actor.system("test"), ActionInput(note="路灯已修复"))
    (found,) = api.get(f"{V2}/requests/{number}.json").json()
    assert (found["status"], found["status_notes"]) == ("closed", "路灯已修复")
    root = ET.fromstring(api.get(f"{V2}/requests/{number}.xml").content)
    assert root.tag == "service_requests" and root[0].tag == "request"
    assert root[0].find("status").text == "closed"
    spec_error(api.get(f"{V2}/requests/SQ00000000-0000.json"), 404)


def test_post_accepts_json_and_xml_answers(api: TestClient, api_key: str) -> None:
    body = {
        "api_key": api_key,
        "service_code": "property_housing",
        "description": "电梯停运两天",
        "lat": 30.5,
        "long": 114.3,
        "attribute": {"case_type": "help"},
    }
    response = api.post(f"{V2}/requests.json", json=body)
    assert response.status_code == 201, response.text
    response = api.post(f"{V2}/requests.xml", data=valid(api_key))
    assert response.status_code == 201
    root = ET.fromstring(response.content)
    assert root.find("request/service_request_id").text.startswith("SQ")
    assert (
        api.post(
            f"{V2}/requests.json",
            content=b"{not json",
            headers={"content-type": "application/json"},
        ).status_code
        == 400
    )
    spec_error(api.post(f"{V2}/requests.json", json=[1, 2]), 400)


def _case(category: str, days_ago: float, status_path: tuple[str, ...] = ()) -> str:
    with transaction() as session:
        case, _ = create_case(
            session,
            NewCase(
                category=category,
                description="测试",
                location="某小区",
                channel="rest",
                publish_consent=True,
            ),
            Actor.system("test"),
            now=utcnow() - timedelta(days=days_ago),
        )
        for action in status_path:
            apply_action(session, case, action, Actor.system("test"), ActionInput(note="已处理"))
        return case.number


def test_search_requests(reader: TestClient, elderly_care_public: None) -> None:
    api = reader
    recent_open = _case("city_management", 1)
    recent_closed = _case("elderly_care", 2, ("accept", "dispatch", "resolve"))
    old = _case("city_management", 120)

    def ids(**params: str) -> list[str]:
        response = api.get(f"{V2}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    assert ids() == [recent_open, recent_closed]  # newest first; the last 90 days only
    assert ids(status="open") == [recent_open]
    assert ids(status="closed") == [recent_closed]
    assert ids(status="open,closed") == [recent_open, recent_closed]
    assert ids(service_code="elderly_care") == [recent_closed]
    assert ids(service_code="elderly_care,city_management") == [recent_open, recent_closed]
    # Ids override the other filters, and reach beyond the date window.
    assert set(ids(service_request_id=f"{old},{recent_open}", status="closed")) == {
        old,
        recent_open,
    }
    now = utcnow()
    start = (now - timedelta(days=125)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now - timedelta(days=100)).isoformat()
    assert ids(start_date=start, end_date=end) == [old]
    assert ids(start_date=(now - timedelta(days=3)).date().isoformat()) == [
        recent_open,
        recent_closed,
    ]
    assert ids(end_date=(now - timedelta(days=100)).isoformat()) == [old]


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "yesterday"},
        {"end_date": "2026-13-01T00:00:00Z"},
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2025-12-01T00:00:00Z"},
        {"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-06-01T00:00:00Z"},
        {"status": "pending"},
        {"service_code": "no_such_service"},
        {"service_request_id": ",".join(str(i) for i in range(101))},
        {"page": "0"},
        {"page": "two"},
        {"page_size": "201"},
        {"page_size": "-5"},
    ],
)
def test_search_refuses_bad_parameters(reader: TestClient, params: dict[str, str]) -> None:
    spec_error(reader.get(f"{V2}/requests.json", params=params), 400)


def test_bad_input_never_answers_500(api: TestClient, api_key: str, reader: TestClient) -> None:
    nasty = ["", " ", "\x00", "'; DROP TABLE cases; --", "<x>", "９９", "1e309", "-0", "😀" * 50]
    for value in nasty:
        for params in (
            {"start_date": value},
            {"end_date": value},
            {"status": value},
            {"service_code": value},
            {"service_request_id": value},
            {"page": value},
            {"page_size": value},
            {"jurisdiction_id": value},
        ):
            assert api.get(f"{V2}/requests.json", params=params).status_code < 500
        assert api.get(f"{V2}/requests/{quote(value or 'x', safe='')}.json").status_code < 500
        for field in ("service_code", "lat", "long", "phone", "description", "address_string"):
            response = post(api, **valid(api_key, **{field: value}))
            assert response.status_code < 500, (field, value, response.text)
    assert api.get("/open311/discovery.json").json()["endpoints"][0]["url"].endswith("/open311/v2/")
