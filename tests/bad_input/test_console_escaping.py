"""Every console page renders hostile text escaped, on SQLite and PostgreSQL.

A world full of markup is built through the core: case descriptions, places and names, notes,
replies, a failed notice, a handoff conversation (hostile sender id and messages), an account's
display name, a department, a canned reply, a data request, and an assistant transcript served
by a fake Rasa. Then every GET route of the console (walked from the app's routers, so routes
added later are covered too) is requested as an admin, also with hostile query strings, and no
payload may come back as live markup: not in a page, not in the HTML fragments the pages fetch.
Exports must not turn a description into a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from markupsafe import escape

from hotline.access import accounts
from hotline.casework import canned, directory, outbox
from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, apply_action, get_case
from hotline.channels import handoff
from hotline.db import transaction
from hotline.models import DataRequest
from tests.bad_input.conftest import assert_no_leak
from tests.console.conftest import new_case

PAYLOADS = [
    '<script>alert("p1")</script>',
    "<img src=x onerror=\"alert('p2')\">",
    '"><svg onload=alert(3)>',
    "</textarea><b id=p4>x</b>",
    "<a href=\"javascript:alert('p5')\">p5</a>",
    "'><iframe src=//evil.example/p6>",
]
TEMPLATE = "{{ 7*191 }}{% if 1 %}p7{% endif %}"
"""Template syntax must stay text: never evaluated to 1337."""
HOSTILE = " ".join(PAYLOADS) + " " + TEMPLATE
SENDER = 'web:<img src=x onerror="alert(9)">'
"""A sender id no channel hands out; lists must still show it inert."""
RESIDENT = "web:hostile-resident"
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)"]
MARKERS = [*PAYLOADS, "1337"]


class HostileRasa(BaseHTTPRequestHandler):
    """Rasa's tracker endpoint with a conversation full of markup."""

    def do_GET(self) -> None:
        events = [
            {"event": "user", "text": HOSTILE, "timestamp": 1_700_000_001.0},
            {
                "event": "bot",
                "text": HOSTILE,
                "timestamp": 1_700_000_002.0,
                "data": {"buttons": [{"title": PAYLOADS[0], "payload": PAYLOADS[1]}]},
            },
        ]
        data = json.dumps({"sender_id": SENDER, "events": events}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def hostile_rasa(console_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fake Rasa whose transcripts are hostile; RASA_URL points at it."""
    server = HTTPServer(("127.0.0.1", 0), HostileRasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("RASA_URL", url)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture()
def world(role_users: dict[str, int], hostile_rasa: str) -> dict[str, str]:
    """Hostile text everywhere the console shows what users and residents wrote."""
    numbers = [
        new_case(
            description=payload + " 路灯坏了 " + TEMPLATE,
            location=payload,
            contact_name=payload[:20],
            resident_ref=SENDER,
        )
        for payload in PAYLOADS
    ]
    formula = new_case(description=FORMULAS[0], location=FORMULAS[1], contact_name=FORMULAS[2])
    admin = Actor.operator("adm")
    with transaction() as session:
        case = get_case(session, numbers[0])
        apply_action(session, case, "note", admin, ActionInput(note=HOSTILE))
        apply_action(session, case, "accept", admin, ActionInput(note=HOSTILE))
        apply_action(session, case, "reply", admin, ActionInput(note=HOSTILE))
        failed = outbox.enqueue(session, SENDER, HOSTILE, "chat", case_id=case.id)
        assert failed is not None
        failed.status, failed.last_error, failed.attempts = outbox.FAILED, HOSTILE, 5
        for sender in (SENDER, RESIDENT):
            handoff.request_handoff(session, sender)
            handoff.record_message(session, sender, handoff.IN, "resident", HOSTILE)
        accounts.create_user(
            session, "mallory", "correct-horse-1", "operator", display_name=PAYLOADS[2][:40]
        )
        directory.add_department(session, PAYLOADS[3][:40], actor=admin)
        canned.add_reply(session, PAYLOADS[4][:40], HOSTILE, actor=admin)
        session.add(DataRequest(sender_id=SENDER, kind="delete", status="open"))
        session.flush()
        reply_id = canned.list_replies(session)[-1].id
    return {
        "number": numbers[0],
        "formula": formula,
        "sender_id": RESIDENT,
        "reply_id": str(reply_id),
        "user_id": str(role_users["operator"]),
        "attachment_id": "1",
        "request_id": numbers[0],
        "service_code": "city_management",
        "fmt": "json",
    }


def _get_routes() -> list[str]:
    from console.app import ROUTERS, create_app, health_router

    create_app()
    return sorted(
        {
            route.path
            for router in [health_router, *ROUTERS]
            for route in router.routes
            if isinstance(route, APIRoute) and "GET" in (route.methods or ())
        }
    )


def _fill(template: str, world: dict[str, str]) -> str:
    for key, value in world.items():
        template = template.replace("{" + key + "}", quote(value, safe=""))
    assert "{" not in template, f"no value for a path parameter of {template}"
    return template


def _html_parts(response: Any) -> list[str]:
    """What of a response a browser would treat as markup."""
    kind = response.headers.get("content-type", "")
    if kind.startswith("text/html"):
        return [response.text]
    if kind.startswith("application/json"):
        found: list[str] = []

        def walk(value: Any, key: str = "") -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(v, str(k))
            elif isinstance(value, list):
                for v in value:
                    walk(v, key)
            elif isinstance(value, str) and "html" in key:
                found.append(value)

        walk(response.json())
        return found
    return []


def test_every_page_escapes_hostile_text(
    world: dict[str, str], as_role: Callable[[str], TestClient]
) -> None:
    admin = as_role("admin")
    hostile_query = "?" + "&".join(
        f"{name}={quote(PAYLOADS[0])}"
        for name in ("q", "status", "view", "category", "department", "page", "next", "month")
    )
    checked, failures, shown = 0, [], set()
    for template in _get_routes():
        path = _fill(template, world)
        for url in (path, path + hostile_query):
            response = admin.get(url)
            if response.status_code >= 500 and template != "/healthz":  # 503: no action server
                failures.append(f"{url}: {response.status_code}")
                continue
            assert_no_leak(response.text)
            for part in _html_parts(response):
                checked += 1
                if any(str(escape(p)) in part for p in PAYLOADS):
                    shown.add(template)
                for marker in MARKERS:
                    if marker in part:
                        failures.append(f"{url}: {marker!r} rendered raw")
    assert not failures, "\n".join(failures)
    assert checked > 20
    # The hostile text really was on the pages (escaped), not merely absent.
    assert {
        "/cases",
        "/cases/{number}",
        "/cases/{number}/transcript",
        "/handoff",
        "/handoff/{sender_id}",
        "/admin/users",
        "/admin/departments",
        "/admin/replies",
        "/log",
        "/log/{number}",
    } <= shown, sorted(shown)


def test_transcript_and_case_page_show_the_text_escaped(
    world: dict[str, str], as_role: Callable[[str], TestClient]
) -> None:
    operator = as_role("operator")
    page = operator.get(f"/cases/{world['number']}").text
    assert "&lt;script&gt;alert(&#34;p1&#34;)&lt;/script&gt;" in page or (
        "&lt;script&gt;alert(&quot;p1&quot;)&lt;/script&gt;" in page
    )
    assert "{{ 7*191 }}" in page  # shown as text, not evaluated
    transcript = operator.get(f"/cases/{world['number']}/transcript").text
    assert "&lt;script&gt;" in transcript and "<script>" not in transcript


def test_exports_neutralise_formulas(
    world: dict[str, str], as_role: Callable[[str], TestClient]
) -> None:
    supervisor = as_role("supervisor")
    response = supervisor.get("/log/export.csv")
    assert response.status_code == 200, response.text[:300]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert any(FORMULAS[0] in cell for cell in cells)
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "@")]
