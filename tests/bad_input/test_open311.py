"""Hostile input on Open311 ``POST requests`` (and reading it back), on SQLite and PostgreSQL.

Every answer is in the spec's format, JSON or well-formed XML: 201, or a 4xx error list with a
description. Never a 500, never a trace.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.access import accounts
from hotline.casework.cases import get_case
from hotline.db import transaction
from hotline.privacy.redact import redact_for_publication
from tests.bad_input.conftest import assert_no_leak
from tests.bad_input.strategies import (
    CONTROL,
    MALFORMED_JSON,
    RIGHT_TO_LEFT,
    hostile_text,
    nonblank_hostile_text,
)

V2 = "/open311/v2"
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FIELDS = [
    "service_code",
    "description",
    "address_string",
    "address_id",
    "lat",
    "long",
    "phone",
    "first_name",
    "last_name",
    "email",
    "device_id",
    "media_url",
    "attribute[case_type]",
    "attribute[urgency]",
    "api_key",
]


@pytest.fixture()
def partner(console_env: str) -> tuple[TestClient, str]:
    """A client reading with a valid api_key (the ``X-Api-Key`` header), and that key."""
    from tests.console.conftest import make_client

    with transaction() as session:
        _, key = accounts.create_api_key(session, "城市运行平台")
    client = make_client()
    client.__enter__()
    client.headers["X-Api-Key"] = key
    return client, key


def valid(key: str) -> dict[str, str]:
    """A request the endpoint accepts."""
    return {
        "api_key": key,
        "service_code": "city_management",
        "description": "路口的路灯不亮",
        "address_string": "幸福路与光明街交叉口",
        "phone": "13812345678",
    }


def check(response: Any, fmt: str = "json") -> Any:
    """A spec answer: 2xx, or a 4xx error list with a description; parsed."""
    assert response.status_code < 500, response.text[:500]
    assert_no_leak(response.text)
    if fmt == "xml":
        root = ET.fromstring(response.content)  # well-formed, whatever went in
        if response.status_code >= 400:
            assert root.tag == "errors" and root.find("error/description") is not None
        return root
    body = response.json()
    if response.status_code >= 400:
        assert isinstance(body, list) and set(body[0]) == {"code", "description"}
        assert body[0]["code"] == response.status_code and body[0]["description"]
    return body


@PROPERTY
@given(field=st.sampled_from(FIELDS), value=st.data(), fmt=st.sampled_from(["json", "xml"]))
def test_hostile_field_values(
    partner: tuple[TestClient, str], field: str, value: st.DataObject, fmt: str
) -> None:
    client, key = partner
    fields = valid(key) | {field: value.draw(hostile_text(), label=field)}
    response = client.post(f"{V2}/requests.{fmt}", data=fields)
    answer = check(response, fmt)
    if response.status_code != 201:
        return
    number = (
        answer[0]["service_request_id"]
        if fmt == "json"
        else answer.findtext("request/service_request_id")
    )
    for read_fmt in ("json", "xml"):
        read = client.get(f"{V2}/requests/{number}.{read_fmt}")
        assert read.status_code == 200
        check(read, read_fmt)


@PROPERTY
@given(description=nonblank_hostile_text(), name=hostile_text(100))
def test_hostile_json_bodies(partner: tuple[TestClient, str], description: str, name: str) -> None:
    client, key = partner
    body = valid(key) | {"description": description, "first_name": name, "attribute": {"x": name}}
    response = client.post(f"{V2}/requests.json", json=body)
    answer = check(response)
    if response.status_code == 201:
        number = answer[0]["service_request_id"]
        published = client.get(f"{V2}/requests/{number}.json").json()[0]["description"]
        with transaction() as session:
            case = get_case(session, number)
            assert case.description == description.replace("\x00", "").strip()
            # What is read back is the stored text through the publication redaction.
            assert published == redact_for_publication(case.description, (case.contact_name,))


@pytest.mark.parametrize("text", [*CONTROL, *RIGHT_TO_LEFT, "\ufffe\uffff"])
def test_control_characters_come_back_as_well_formed_xml(
    partner: tuple[TestClient, str], text: str
) -> None:
    client, key = partner
    fields = valid(key) | {"description": f"路灯{text}坏了", "first_name": text}
    created = check(client.post(f"{V2}/requests.xml", data=fields), "xml")
    number = created.findtext("request/service_request_id")
    read = check(client.get(f"{V2}/requests/{number}.xml"), "xml")
    assert (read.findtext("request/description") or "").startswith("路灯")
    check(client.get(f"{V2}/requests.xml", params={"service_code": text}), "xml")


@pytest.mark.parametrize("raw", MALFORMED_JSON, ids=range(len(MALFORMED_JSON)))
def test_malformed_json_bodies(partner: tuple[TestClient, str], raw: bytes) -> None:
    client, _ = partner
    response = client.post(
        f"{V2}/requests.json", content=raw, headers={"Content-Type": "application/json"}
    )
    check(response)
    assert response.status_code in (400, 403, 413)


@PROPERTY
@given(
    param=st.sampled_from(["service_request_id", "service_code", "status", "start_date"]),
    value=hostile_text(200),
    fmt=st.sampled_from(["json", "xml"]),
)
def test_hostile_searches(
    partner: tuple[TestClient, str], param: str, value: str, fmt: str
) -> None:
    client, _ = partner
    check(client.get(f"{V2}/requests.{fmt}", params={param: value}), fmt)
