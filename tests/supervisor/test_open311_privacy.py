"""Open311 reads publish only what may be published (issue 12, item 2).

Reads need an api_key unless ``HOTLINE_OPEN311_PUBLIC_READS`` is on; only cases of a
``public: true`` category, never emergencies or consultations, and from a private channel only
with the resident's consent; descriptions redacted; no CORS ``*`` on what a key reads;
``jurisdiction_id`` and paging; the POST body capped however it is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from console.routes.open311 import MAX_BODY
from hotline.access import accounts
from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, NewCase, apply_action, create_case, get_case
from hotline.db import transaction
from hotline.models import utcnow
from tests.console.conftest import make_client

V2 = "/open311/v2"


@pytest.fixture()
def api(console_env: str) -> Iterator[TestClient]:
    with make_client() as client:
        yield client


@pytest.fixture()
def key(console_env: str) -> str:
    with transaction() as session:
        _, clear = accounts.create_api_key(session, "城市运行平台")
    return clear


def _case(**fields: Any) -> str:
    values: dict[str, Any] = {
        "category": "city_management",
        "description": "幸福路的路灯坏了",
        "location": "幸福路",
        "channel": "web",
        "resident_ref": "web:r1",
        **fields,
    }
    with transaction() as session:
        case, _ = create_case(session, NewCase(**values), Actor.system("test"))
        return case.number


def _ids(client: TestClient, **params: str) -> list[str]:
    response = client.get(f"{V2}/requests.json", params=params)
    assert response.status_code == 200, response.text
    return [r["service_request_id"] for r in response.json()]


def test_reads_need_an_api_key_unless_made_public(
    api: TestClient, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = _case(channel="open311")
    for path in (f"{V2}/requests.json", f"{V2}/requests/{number}.json"):
        refused = api.get(path)
        assert refused.status_code == 403 and "api_key" in refused.json()[0]["description"]
        assert "access-control-allow-origin" not in refused.headers
        assert api.get(path, params={"api_key": "o311_wrong"}).status_code == 403
        with_key = api.get(path, headers={"X-Api-Key": key})
        assert with_key.status_code == 200
        assert "access-control-allow-origin" not in with_key.headers
        assert api.get(path, params={"api_key": key}).status_code == 200
    monkeypatch.setenv("HOTLINE_OPEN311_PUBLIC_READS", "true")
    public = api.get(f"{V2}/requests.json")
    assert public.status_code == 200 and public.headers["access-control-allow-origin"] == "*"
    assert [r["service_request_id"] for r in public.json()] == [number]


def test_only_published_cases_are_read(
    api: TestClient, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = {
        "web, consented": _case(publish_consent=True),
        "telegram, consented": _case(channel="telegram", resident_ref="tg:1", publish_consent=True),
        "open311": _case(channel="open311", resident_ref=None),
    }
    hidden = {
        "web, no consent": _case(),
        "telegram, no consent": _case(channel="telegram", resident_ref="tg:2"),
        "phone, no consent": _case(channel="phone", resident_ref=None),
        "emergency": _case(urgency="emergency", publish_consent=True),
        "consultation": _case(case_type="consultation", publish_consent=True),
        "open311 emergency": _case(channel="open311", urgency="emergency"),
        "category not public": _case(category="social_assistance", publish_consent=True),
    }
    gone = _case(publish_consent=True)
    with transaction() as session:
        get_case(session, gone).anonymised_at = utcnow()  # what retention marks
    hidden["anonymised"] = gone
    for client_params in ({"api_key": key}, None):
        if client_params is None:
            monkeypatch.setenv("HOTLINE_OPEN311_PUBLIC_READS", "1")
        params = client_params or {}
        assert set(_ids(api, **params)) == set(shown.values())
        everything = ",".join([*shown.values(), *hidden.values()])
        assert set(_ids(api, service_request_id=everything, **params)) == set(shown.values())
        for label, number in hidden.items():
            answer = api.get(f"{V2}/requests/{number}.json", params=params)
            assert answer.status_code == 404, label
        for number in shown.values():
            assert api.get(f"{V2}/requests/{number}.json", params=params).status_code == 200


def test_a_partner_reads_its_own_requests_only(
    api: TestClient, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction() as session:
        _, other = accounts.create_api_key(session, "另一个平台")
    created = api.post(
        f"{V2}/requests.json",
        data={
            "api_key": key,
            "service_code": "social_assistance",  # not a public category
            "description": "申请临时救助",
            "address_string": "幸福小区",
        },
    )
    assert created.status_code == 201, created.text
    number = created.json()[0]["service_request_id"]
    assert api.get(f"{V2}/requests/{number}.json", params={"api_key": key}).status_code == 200
    assert _ids(api, api_key=key) == [number]
    assert api.get(f"{V2}/requests/{number}.json", params={"api_key": other}).status_code == 404
    assert _ids(api, api_key=other) == []
    monkeypatch.setenv("HOTLINE_OPEN311_PUBLIC_READS", "1")
    assert api.get(f"{V2}/requests/{number}.json").status_code == 404


def test_published_descriptions_are_redacted(api: TestClient, key: str) -> None:
    number = _case(
        channel="open311",
        contact_name="王建国",
        description=(
            "我叫李秀英，王建国也反映过，路灯坏了。电话 138 1234 5678，座机 027-85671234，"
            "身份证 420102199001011234"
        ),
    )
    with transaction() as session:
        case = get_case(session, number)
        apply_action(session, case, "accept", Actor.system("t"))
        apply_action(session, case, "dispatch", Actor.system("t"))
        apply_action(
            session, case, "resolve", Actor.system("t"), ActionInput(note="已联系王建国13912345678")
        )
    (found,) = api.get(f"{V2}/requests/{number}.json", params={"api_key": key}).json()
    text = found["description"] + found["status_notes"]
    for secret in ("李秀英", "王建国", "1381234", "5678", "85671234", "420102199001011234"):
        assert secret not in text, secret
    assert "路灯坏了" in found["description"] and found["description"].startswith("我叫某某")


def test_jurisdiction_id(api: TestClient, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    number = _case(channel="open311")
    monkeypatch.setenv("HOTLINE_OPEN311_JURISDICTION", "wuchang.example.cn")
    mine = {"api_key": key, "jurisdiction_id": "wuchang.example.cn"}
    assert _ids(api, **mine) == [number]
    assert api.get(f"{V2}/requests/{number}.json", params=mine).status_code == 200
    assert api.get(f"{V2}/services.json", params=mine).status_code == 200
    for path in (f"{V2}/requests.json", f"{V2}/requests/{number}.json", f"{V2}/services.json"):
        answer = api.get(path, params={"api_key": key, "jurisdiction_id": "hankou.example.cn"})
        assert answer.status_code == 404 and "jurisdiction_id" in answer.json()[0]["description"]
    posted = api.post(
        f"{V2}/requests.json",
        data={
            "api_key": key,
            "jurisdiction_id": "hankou.example.cn",
            "service_code": "city_management",
            "description": "路灯坏了",
            "address_string": "幸福路",
        },
    )
    assert posted.status_code == 404


def test_paging(api: TestClient, key: str) -> None:
    numbers = [_case(channel="open311") for _ in range(5)]
    newest_first = list(reversed(numbers))
    assert _ids(api, api_key=key, page_size="2") == newest_first[:2]
    assert _ids(api, api_key=key, page_size="2", page="2") == newest_first[2:4]
    assert _ids(api, api_key=key, page_size="2", page="3") == newest_first[4:]
    assert _ids(api, api_key=key, page_size="2", page="4") == []
    too_big = api.get(f"{V2}/requests.json", params={"api_key": key, "page_size": "201"})
    assert too_big.status_code == 400 and "page_size" in too_big.json()[0]["description"]


def _post_chunked(api: TestClient, key: str, size: int) -> Any:
    """A form body of about ``size`` bytes, sent chunked: no Content-Length at all."""
    head = f"api_key={key}&service_code=city_management&address_string=x&description=".encode()

    def body() -> Iterator[bytes]:
        yield head
        left = size - len(head)
        while left > 0:
            piece = min(left, 16 * 1024)
            yield b"a" * piece
            left -= piece

    return api.post(
        f"{V2}/requests.json",
        content=body(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def test_post_body_is_capped_without_content_length(api: TestClient, key: str) -> None:
    refused = _post_chunked(api, key, MAX_BODY + 1)
    assert "content-length" not in refused.request.headers
    assert refused.status_code == 413, refused.text
    assert refused.json()[0]["description"].startswith(f"request body larger than {MAX_BODY} bytes")
    small = _post_chunked(api, key, 2000)
    assert small.status_code == 201, small.text
    announced = api.post(
        f"{V2}/requests.json",
        content=b"x" * 10,
        headers={"Content-Length": str(MAX_BODY + 1), "Content-Type": "application/json"},
    )
    assert announced.status_code == 413
