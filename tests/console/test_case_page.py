"""The case page (fields, masked phone, audited reveal, escaping, transcript, photos), the
queue and phone intake."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.casework.cases import case_events, get_case
from hotline.channels import handoff
from hotline.db import transaction
from hotline.models import Attachment, Case, CaseEvent
from tests.console.conftest import case_in, csrf_of, make_client, new_case


def test_every_field_is_shown_and_the_phone_masked(operator: TestClient) -> None:
    number = new_case(contact_name="王阿姨", latitude=30.5, longitude=114.3)
    page = operator.get(f"/cases/{number}").text
    for text in (number, "王阿姨", "幸福小区3栋", "城市管理", "求助", "一般", "网页", "待受理"):
        assert text in page
    assert "街道城管执法中队" in page
    assert "138****5678" in page
    assert "13812345678" not in page


def test_phone_reveal_is_audited(operator: TestClient) -> None:
    number = new_case()
    response = operator.post(f"/cases/{number}/reveal", data={"csrf_token": csrf_of(operator)})
    assert response.status_code == 200
    assert "13812345678" in response.text
    with transaction() as session:
        events = case_events(session, get_case(session, number))
        reveal = [e for e in events if e.action == "reveal_phone"]
        assert len(reveal) == 1 and reveal[0].actor == "op"
    # The history shows who looked; the plain page is masked again.
    page = operator.get(f"/cases/{number}").text
    assert "查看完整电话" in page and "13812345678" not in page


def test_description_is_rendered_inert(operator: TestClient) -> None:
    number = new_case(description="<script>alert(1)</script> 路灯", contact_name="<b>x</b>")
    page = operator.get(f"/cases/{number}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>x</b>" not in page
    queue = operator.get("/cases").text
    assert "<script>alert(1)</script>" not in queue
    feed = operator.get("/cases/feed").json()
    assert "<script>alert(1)</script>" not in feed["rows_html"]
    assert (
        "script-src 'self'" in operator.get(f"/cases/{number}").headers["content-security-policy"]
    )


def test_unknown_case_is_a_chinese_404(operator: TestClient) -> None:
    response = operator.get("/cases/NOPE-1")
    assert response.status_code == 404 and "不存在" in response.text


def test_transcript_when_rasa_is_down(operator: TestClient) -> None:
    number = new_case()
    with transaction() as session:
        handoff.record_message(session, "web:resident-1", handoff.IN, "resident", "路灯坏了")
    response = operator.get(f"/cases/{number}/transcript")
    assert response.status_code == 200
    assert "对话记录暂不可用" in response.text
    assert "路灯坏了" in response.text


def test_transcript_of_a_phone_case(operator: TestClient) -> None:
    number = new_case(channel="phone", resident_ref=None)
    assert "电话来件" in operator.get(f"/cases/{number}/transcript").text


class FakeRasa(BaseHTTPRequestHandler):
    """Answers Rasa's tracker endpoint with a short conversation."""

    seen: list[str] = []
    auth: list[str] = []

    def do_GET(self) -> None:
        FakeRasa.seen.append(self.path)
        FakeRasa.auth.append(self.headers.get("Authorization") or "")
        body = {
            "sender_id": "web:resident-1",
            "events": [
                {"event": "action", "name": "action_listen", "timestamp": 1_700_000_000.0},
                {"event": "user", "text": "我家路灯坏了", "timestamp": 1_700_000_001.0},
                {"event": "user", "text": "电话 138 1234 5678", "timestamp": 1_700_000_001.5},
                {
                    "event": "bot",
                    "text": "请问在哪个小区？<i>x</i>",
                    "timestamp": 1_700_000_002.0,
                    "data": {"buttons": [{"title": "转人工", "payload": "/human"}]},
                },
            ],
        }
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def fake_rasa(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("RASA_URL", url)
    monkeypatch.setenv("RASA_TOKEN", "sekrit")
    FakeRasa.seen.clear()
    FakeRasa.auth.clear()
    yield url
    server.shutdown()


def test_transcript_from_rasa_as_chat_bubbles(operator: TestClient, fake_rasa: str) -> None:
    number = new_case()
    with transaction() as session:
        handoff.record_message(session, "web:resident-1", handoff.OUT, "operator:op", "我来帮您")
    html = operator.get(f"/cases/{number}/transcript").text
    # The secret never travels as a query parameter: a short-lived JWT in the header, signed
    # with RASA_TOKEN, which Rasa (--jwt-secret) verifies.
    assert FakeRasa.seen == ["/conversations/web:resident-1/tracker"]
    scheme, _, bearer = FakeRasa.auth[0].partition(" ")
    assert scheme == "Bearer"
    claims = jwt.decode(bearer, "sekrit", algorithms=["HS256"])
    assert claims["user"]["role"] == "admin" and claims["exp"] - claims["iat"] <= 300
    assert "对话记录暂不可用" not in html
    assert "bubble-resident" in html and "我家路灯坏了" in html
    assert "bubble-bot" in html and "&lt;i&gt;x&lt;/i&gt;" in html and "转人工" in html
    assert "bubble-operator" in html and "我来帮您" in html
    assert html.index("我家路灯坏了") < html.index("请问在哪个小区")
    assert "138****5678" in html and "1234" not in html


def test_photos_are_served_to_signed_in_users_only(operator: TestClient, var_dir: Path) -> None:
    number = new_case()
    media = var_dir / "media" / "2026"
    media.mkdir(parents=True)
    (media / "p1.jpg").write_bytes(b"\xff\xd8\xff fake jpeg")
    with transaction() as session:
        case = get_case(session, number)
        session.add(
            Attachment(
                case_id=case.id,
                sender_id="web:resident-1",
                path="2026/p1.jpg",
                content_type="image/jpeg",
                size=14,
            )
        )
        session.add(
            Attachment(
                case_id=case.id,
                sender_id="web:resident-1",
                path="../../etc/passwd",
                content_type="image/jpeg",
                size=1,
            )
        )
        session.flush()
        ids = list(session.scalars(select(Attachment.id).order_by(Attachment.id)))
    page = operator.get(f"/cases/{number}").text
    assert f'src="/media/{ids[0]}"' in page
    photo = operator.get(f"/media/{ids[0]}")
    assert photo.status_code == 200 and photo.content.startswith(b"\xff\xd8")
    assert photo.headers["content-type"] == "image/jpeg"
    assert operator.get(f"/media/{ids[1]}").status_code == 404
    assert operator.get("/media/9999").status_code == 404
    with make_client() as anonymous:
        assert anonymous.get(f"/media/{ids[0]}").status_code == 303


# Queue -------------------------------------------------------------------------------------


def test_queue_default_order_is_urgency_then_due(operator: TestClient) -> None:
    normal = new_case()
    emergency = new_case(urgency="emergency", description="燃气味很重")
    urgent = new_case(urgency="urgent", description="停水了")
    page = operator.get("/cases").text
    assert page.index(emergency) < page.index(urgent) < page.index(normal)


def test_queue_counts_per_status_and_filters(operator: TestClient) -> None:
    a = new_case()
    b = case_in("accepted", category="elderly_care", description="助餐服务", phone="13900001234")
    c = case_in("resolved")
    page = operator.get("/cases").text
    assert "待受理 <b>1</b>" in page and "已受理 <b>1</b>" in page
    assert c not in page  # resolved is not in the open view
    by_category = operator.get("/cases?category=elderly_care").text
    assert b in by_category and a not in by_category
    by_status = operator.get("/cases?status=new").text
    assert a in by_status and b not in by_status
    by_last_four = operator.get("/cases?q=1234").text
    assert b in by_last_four and a not in by_last_four
    by_number = operator.get(f"/cases?q={a}").text
    assert a in by_number and b not in by_number
    by_text = operator.get("/cases?q=助餐").text
    assert b in by_text and a not in by_text
    followup = operator.get("/cases?view=followup").text
    assert c in followup and a not in followup
    everything = operator.get("/cases?view=all").text
    assert all(n in everything for n in (a, b, c))
    by_department = operator.get("/cases?department=街道城管执法中队").text
    assert a in by_department and b not in by_department
    by_urgency = operator.get("/cases?urgency=urgent").text
    assert a not in by_urgency


def test_queue_views_mine_and_unassigned(operator: TestClient) -> None:
    mine = case_in("accepted")
    other = new_case()
    token = csrf_of(operator)
    operator.post(f"/cases/{mine}/actions", data={"action": "claim", "csrf_token": token})
    mine_page = operator.get("/cases?view=mine").text
    assert mine in mine_page and other not in mine_page
    unassigned = operator.get("/cases?view=unassigned").text
    assert other in unassigned and mine not in unassigned
    assert operator.get("/cases?assignee=op").text.count(mine) >= 1
    assert other not in operator.get("/cases?assignee=me").text


def test_queue_marks_overdue_cases(operator: TestClient) -> None:
    late = new_case()
    with transaction() as session:
        case = session.scalar(select(Case).where(Case.number == late))
        assert case is not None
        from datetime import timedelta

        from hotline.models import utcnow

        case.due_at = utcnow() - timedelta(hours=5)
    page = operator.get("/cases").text
    assert 'class="overdue' in page and "超时 5小时" in page
    only = operator.get("/cases?overdue=1").text
    assert late in only


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "category=nope",
        "urgency=x",
        "view=secret",
        "assignee=ghost",
        "overdue=maybe",
        "page=0",
        "page=abc",
    ],
)
def test_queue_rejects_bad_filters_with_400(operator: TestClient, query: str) -> None:
    response = operator.get(f"/cases?{query}")
    assert response.status_code == 400
    assert "请求有误" in response.text


def test_queue_feed_shows_new_cases(operator: TestClient) -> None:
    before = operator.get("/cases/feed").json()
    assert before["numbers"] == [] and before["total"] == 0
    number = new_case()
    after = operator.get("/cases/feed", headers={"Accept": "application/json"}).json()
    assert after["numbers"] == [number]
    assert number in after["rows_html"] and "合计 <b>1</b>" in after["counts_html"]
    assert after["view_counts"]["unassigned"] == 1


# Phone intake ------------------------------------------------------------------------------


def _intake(client: TestClient, **overrides: str) -> Any:
    data = {
        "category": "property_housing",
        "description": "楼上漏水到我家厨房",
        "phone": "027-85671234",
        "location": "光谷花园5栋",
        "contact_name": "李先生",
        "case_type": "complaint",
        "urgency": "urgent",
        "idempotency_key": "form-1",
        "csrf_token": csrf_of(client),
    }
    data.update(overrides)
    return client.post("/cases/new", data=data)


def test_phone_intake_creates_a_phone_case(operator: TestClient) -> None:
    assert "新建工单" in operator.get("/cases/new").text
    response = _intake(operator)
    assert response.status_code == 303
    number = response.headers["location"].rsplit("/", 1)[1]
    with transaction() as session:
        case = get_case(session, number)
        assert case.channel == "phone" and case.phone == "+862785671234"
        assert case.case_type == "complaint" and case.urgency == "urgent"
        event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).one()
        assert event.action == "create" and event.actor == "op"
    assert f"已登记工单 {number}" in operator.get(f"/cases/{number}").text
    # Pressing the button twice does not register the call twice.
    again = _intake(operator)
    assert again.headers["location"] == f"/cases/{number}"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "12345", "不是有效的手机号"),
        ("phone", "", "请提供联系电话"),
        ("location", "", "地点"),
        ("description", "  ", "问题描述"),
        ("category", "nope", "未知的服务类别"),
        ("urgency", "whenever", "紧急程度"),
    ],
)
def test_phone_intake_validates_like_the_cli(
    operator: TestClient, field: str, value: str, message: str
) -> None:
    response = _intake(operator, **{field: value, "idempotency_key": f"bad-{field}"})
    assert response.status_code == 400
    assert message in response.text
    assert 'value="光谷花园5栋"' in response.text or field == "location"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("我的电话13812345678", "我的电话138****5678"),
        ("138-1234-5678 打我", "138****5678 打我"),
        ("座机 027-85671234", "座机 027****1234"),
        ("工单 SQ20261124-0001", "工单 SQ20261124-0001"),
        ("3栋2单元", "3栋2单元"),
    ],
)
def test_phone_numbers_in_transcripts_are_masked(text: str, masked: str) -> None:
    from console.transcript import mask_numbers

    assert mask_numbers(text) == masked
