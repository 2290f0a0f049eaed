"""Real-browser tests: Playwright driving Debian's Chromium against a live console server.

They save the screenshots shown in the README (docs/screenshots/).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from hotline.access import accounts
from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, NewCase, apply_action, create_case, get_case
from hotline.channels import handoff
from hotline.db import transaction
from hotline.models import utcnow
from tests.services import require_chromium

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "operator-pass-1"
WAIT_MS = 15_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeRasaTracker(BaseHTTPRequestHandler):
    """Rasa's tracker endpoint for the resident of the case page (the rest of Rasa is down)."""

    def do_GET(self) -> None:
        if not self.path.startswith("/conversations/web:browser-resident/tracker"):
            self.send_error(404)
            return
        start = time.time() - 600
        said = [
            ("user", "我家楼下的路灯坏了一个星期了"),
            ("bot", "很抱歉给您带来不便。请问具体在哪个小区、哪栋楼附近？"),
            ("user", "武昌区幸福小区3栋门口"),
            ("bot", "好的。请问方便留一个联系电话吗？办理进展会通知您。"),
            ("user", "13812345678"),
            ("bot", "已为您登记，工作人员会尽快处理。"),
        ]
        events = [
            {"event": kind, "text": text, "timestamp": start + 20 * i}
            for i, (kind, text) in enumerate(said)
        ]
        body = json.dumps({"events": events}, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def fake_rasa() -> Iterator[str]:
    """A stand-in for Rasa's tracker API, on a free port."""
    server = HTTPServer(("127.0.0.1", 0), FakeRasaTracker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(autouse=True)
def chromium() -> str:
    """Debian's Chromium, checked before any server starts: a skip outside CI, a failure in it."""
    return require_chromium()


@pytest.fixture()
def server(db_url: str, var_dir: Path, fake_rasa: str) -> Iterator[str]:
    """A console server (uvicorn) on a free port, with two accounts and a stand-in Rasa."""
    with transaction() as session:
        accounts.create_user(session, "wangfang", PASSWORD, "operator", display_name="王芳")
        accounts.create_user(session, "admin", PASSWORD, "admin", display_name="管理员")
    port = _free_port()
    closed = _free_port()
    env = {
        **os.environ,
        "HOTLINE_VAR_DIR": str(var_dir),
        "HOTLINE_DATABASE_URL": db_url,
        "HOTLINE_SECRET_KEY": "browser-test-secret-key-0123456789abcdef",
        "RASA_URL": fake_rasa,
        "ACTION_SERVER_URL": f"http://127.0.0.1:{closed}",
    }
    uvicorn = str(Path(sys.executable).parent / "uvicorn")
    process = subprocess.Popen(
        [uvicorn, "console.app:app", "--host", "127.0.0.1", "--port", str(port), "--ws", "none"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=(var_dir / "console.log").open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log = (var_dir / "console.log").read_text()
                pytest.fail(f"console server did not start:\n{log[-3000:]}")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture()
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _seed_queue() -> None:
    """Realistic cases for the queue screenshot."""
    samples = [
        (
            "public_security",
            "楼道里连续几天有陌生人徘徊，晚上还撬过单元门",
            "15800001111",
            "青山区红钢城8街坊12栋",
            "help",
            "emergency",
            0.2,
            "new",
        ),
        (
            "property_housing",
            "楼上漏水到我家厨房，物业说联系不上业主，一直不管",
            "027-85671234",
            "洪山区光谷花园5栋1单元",
            "complaint",
            "urgent",
            3,
            "accepted",
        ),
        (
            "social_assistance",
            "家里老人生病，想申请临时救助，需要准备什么材料",
            "13700002222",
            "汉阳区钟家村社区",
            "consultation",
            "normal",
            240,
            "new",
        ),
        (
            "elderly_care",
            "母亲82岁独居，想申请社区助餐服务",
            "13912340001",
            "江汉区民权街12号",
            "consultation",
            "normal",
            20,
            "dispatched",
        ),
        (
            "employment",
            "公司拖欠三个月工资，找老板也不回消息",
            "18600003333",
            "东西湖区金银湖街道",
            "complaint",
            "normal",
            30,
            "in_progress",
        ),
        (
            "city_management",
            "小区门口夜市油烟和噪音很大，晚上十一点还在营业",
            "13600004444",
            "武昌区中南路街",
            "complaint",
            "normal",
            60,
            "new",
        ),
    ]
    with transaction() as session:
        for category, text, phone, place, kind, urgency, hours_ago, status in samples:
            case, _ = create_case(
                session,
                NewCase(
                    category=category,
                    description=text,
                    phone=phone,
                    location=place,
                    case_type=kind,
                    urgency=urgency,
                    channel="phone",
                    contact_name="居民",
                ),
                Actor.operator("admin"),
                now=utcnow() - timedelta(hours=hours_ago),
            )
            path = {
                "new": [],
                "accepted": ["accept"],
                "dispatched": ["accept", "dispatch"],
                "in_progress": ["accept", "dispatch", "start"],
            }[status]
            for action in path:
                apply_action(
                    session, case, action, Actor.operator("admin"), ActionInput(note="已核实情况")
                )


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/cases")


def test_operator_works_a_case_from_new_to_resolved(server: str, browser: Browser) -> None:
    _seed_queue()
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, server, "wangfang")
    expect(page.locator("#queue-rows tr[data-number]")).to_have_count(6)

    # A call registered elsewhere appears in the open queue without a reload.
    with transaction() as session:
        case, _ = create_case(
            session,
            NewCase(
                category="city_management",
                description="我家楼下的路灯坏了一个星期，晚上老人出门很不安全",
                phone="13812345678",
                location="武昌区幸福小区3栋",
                case_type="complaint",
                channel="web",
                resident_ref="web:browser-resident",
                contact_name="张女士",
            ),
            Actor.resident("web:browser-resident"),
        )
        number = case.number
    row = page.locator(f'#queue-rows tr[data-number="{number}"]')
    expect(row).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#queue-updated")).to_contain_text("新增 1 件", timeout=WAIT_MS)
    page.wait_for_timeout(3200)  # let the new-row highlight fade before the screenshot
    page.screenshot(path=str(SCREENSHOTS / "queue.png"))

    row.locator("a.case-link").click()
    page.wait_for_url(f"{server}/cases/{number}")
    expect(page.locator("#case-status")).to_have_text("待受理")
    expect(page.locator("#phone")).to_have_text("138****5678")
    page.click("#action-accept")
    expect(page.locator("#case-status")).to_have_text("已受理")
    page.click("#action-claim")
    page.fill(
        "form[data-action=dispatch] textarea[name=note]", "请尽快安排维修，居民反映老人夜间出行不便"
    )
    page.click("#action-dispatch")
    expect(page.locator("#case-status")).to_have_text("已派单")
    page.fill("#reply-text", "您好，已通知街道城管执法中队安排维修，预计两个工作日内修复。")
    page.click("#action-reply")
    expect(page.locator(".flash-ok")).to_contain_text("回复居民")
    page.fill(
        "form[data-action=note] textarea[name=note]", "已电话联系城管中队李科长，确认明天上午派人。"
    )
    page.click("#action-note")
    expect(page.locator(".internal-note")).to_contain_text("李科长")
    page.click("#phone + form button")
    expect(page.locator("#phone")).to_have_text("13812345678")
    page.goto(f"{server}/cases/{number}")
    expect(page.locator("#transcript .bubble-resident").first).to_contain_text("路灯坏了")
    expect(page.locator("#transcript .bubble-operator")).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "case.png"), full_page=True)
    page.fill("form[data-action=resolve] textarea[name=note]", "路灯已更换，经回访夜间照明正常。")
    page.click("#action-resolve")
    expect(page.locator("#case-status")).to_have_text("已办结")
    expect(page.locator(".timeline")).to_contain_text("查看完整电话")
    assert errors == []
    context.close()


def test_operator_takes_a_handoff_from_the_web_chat(server: str, browser: Browser) -> None:
    resident_ctx = browser.new_context(
        viewport={"width": 900, "height": 820}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    resident = resident_ctx.new_page()
    resident.goto(f"{server}/chat")
    sender = resident.locator("#resident-chat").get_attribute("data-sender")
    assert sender and sender.startswith("web:")
    with transaction() as session:
        handoff.request_handoff(session, sender)
    resident.fill("#resident-text", "我家停水两天了，物业电话一直打不通")
    resident.press("#resident-text", "Enter")
    expect(resident.locator(".bubble-bot").last).to_contain_text("排队", timeout=WAIT_MS)

    operator_ctx = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    operator = operator_ctx.new_page()
    _login(operator, server, "wangfang")
    expect(operator.locator("#handoff-waiting")).to_have_text("1", timeout=WAIT_MS)
    operator.goto(f"{server}/handoff")
    expect(operator.locator("#handoff-lists")).to_contain_text("物业电话一直打不通")
    operator.locator(".take-form button").first.click()
    operator.wait_for_url(f"{server}/handoff/{sender}")
    expect(operator.locator("#chat-log")).to_contain_text("我家停水两天了")

    expect(resident.locator(".bubble-notice").last).to_contain_text("已接入", timeout=WAIT_MS)
    operator.fill("#operator-text", "您好，我是热线话务员王芳。请问是哪个小区、几号楼？")
    operator.press("#operator-text", "Enter")
    expect(resident.locator(".bubble-operator").last).to_contain_text("哪个小区", timeout=WAIT_MS)

    resident.fill("#resident-text", "幸福小区3栋，整栋楼都没水")
    resident.click("#resident-send")
    expect(operator.locator("#chat-log")).to_contain_text("整栋楼都没水", timeout=WAIT_MS)
    operator.fill("#operator-text", "好的，我马上为您登记工单并联系供水单位。")
    operator.press("#operator-text", "Enter")
    expect(resident.locator(".bubble-operator").last).to_contain_text("登记工单", timeout=WAIT_MS)
    operator.select_option("#to-case-form select[name=urgency]", "urgent")
    operator.fill("#to-case-form input[name=location]", "幸福小区3栋")
    operator.click("#to-case-button")
    expect(operator.locator(".flash-ok")).to_contain_text("已登记工单")
    expect(resident.locator(".bubble-bot").last).to_contain_text(
        "已为您登记，工单编号", timeout=WAIT_MS
    )
    operator.wait_for_timeout(500)
    operator.screenshot(path=str(SCREENSHOTS / "handoff.png"))
    resident.screenshot(path=str(SCREENSHOTS / "webchat.png"))

    operator.click("#release-button")
    operator.wait_for_url(f"{server}/handoff")
    expect(resident.locator(".bubble-notice").last).to_contain_text("智能助手继续", timeout=WAIT_MS)
    operator_ctx.close()
    resident_ctx.close()


def _report(
    text: str, place: str, sender: str, hours_ago: float, category: str = "city_management"
) -> str:
    """A resident's web report registered ``hours_ago``; returns the case number."""
    with transaction() as session:
        case, _ = create_case(
            session,
            NewCase(
                category=category,
                description=text,
                phone="13812345678",
                location=place,
                channel="web",
                resident_ref=sender,
                contact_name="居民",
            ),
            Actor.resident(sender),
            now=utcnow() - timedelta(hours=hours_ago),
        )
        return case.number


HOTSPOT_SEEDS = [
    # (category, place, reports registered that many hours ago)
    (
        "property_housing",
        "青山区红钢城8街坊12栋",
        [
            ("红钢城8街坊12栋从早上开始停水，一滴水都没有", 20),
            ("8街坊12栋停水大半天了，也没有贴通知", 9),
            ("红钢城12栋停水到现在，家里老人没法做饭", 6),
            ("我们12栋还是停水，物业电话一直打不通", 3),
            ("8街坊12栋停水一整天了，什么时候能来水", 1),
        ],
    ),
    (
        "property_housing",
        "洪山区光谷花园5栋",
        [
            ("光谷花园5栋的电梯又停了，楼上老人下不了楼", 70),
            ("5栋电梯坏了两天了，物业说在等配件", 40),
            ("光谷花园5栋电梯一直停运，希望尽快修好", 30),
        ],
    ),
    (
        "city_management",
        "武昌区中南路街",
        [
            ("中南路街夜市每天吵到凌晨，根本睡不着觉", 100),
            ("小区门口夜市噪音太大，晚上十二点还在放音乐", 50),
        ],
    ),
]


def test_operator_merges_a_suggested_duplicate(server: str, browser: Browser) -> None:
    older = _report(
        "幸福小区3栋门口路灯不亮，晚上出门很黑", "武昌区幸福小区3栋", "web:lamp-old", 24 * 12
    )
    with transaction() as session:
        case = get_case(session, older)
        for action in ("accept", "dispatch", "start", "resolve"):
            apply_action(session, case, action, Actor.operator("admin"), ActionInput(note="已修复"))
    first = _report(
        "幸福小区3栋楼下的路灯坏了一个星期，晚上一片漆黑", "武昌区幸福小区3栋", "web:lamp-a", 5
    )
    second = _report("3栋门口那盏路灯晚上不亮，老人出门看不见路", "幸福小区3栋", "web:lamp-b", 1)
    unrelated = _report(
        "小区门口夜市油烟和噪音很大，晚上十一点还在营业", "武昌区中南路街", "web:stall", 2
    )
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, server, "wangfang")
    page.goto(f"{server}/cases/{second}")
    panel = page.locator("#similar-cases")
    expect(panel).to_contain_text("可能重复的工单")
    row = panel.locator(f'tr.suggestion[data-number="{first}"]')
    expect(row).to_be_visible()
    expect(row.locator(".reason")).to_contain_text("地点")
    expect(panel).not_to_contain_text(unrelated)
    panel.screenshot(path=str(SCREENSHOTS / "similar.png"))

    # Dismissing the confirmation merges nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.locator('button[data-merge="here"]').click()
    page.wait_for_timeout(300)
    with transaction() as session:
        assert get_case(session, second).status == "new"

    messages: list[str] = []

    def accept(dialog: Any) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.locator('button[data-merge="here"]').click()
    page.wait_for_url(f"{server}/cases/{second}")
    assert messages and first in messages[0] and second in messages[0]
    expect(page.locator(".flash-ok")).to_contain_text(f"工单 {second} 已合并到 {first}")
    expect(page.locator("#case-status")).to_have_text("已归档")
    expect(page.locator("#merged-into")).to_contain_text(first)
    with transaction() as session:
        case = get_case(session, second)
        assert (case.status, case.merged_into) == ("closed", first)

    # The main case names the merged one, and its resident is now a co-reporter.
    page.locator("#merged-into a").click()
    page.wait_for_url(f"{server}/cases/{first}")
    expect(page.locator("#merged-from")).to_contain_text(second)
    expect(page.locator(".timeline")).to_contain_text("合并来源")
    reporters = page.locator("#co-reporters")
    expect(reporters).to_contain_text("居民")
    expect(reporters).to_contain_text(f"来自合并的 {second}")
    expect(reporters).to_contain_text("138****5678")
    reporters.screenshot(path=str(SCREENSHOTS / "co_reporters.png"))

    # Hotspots: a third report of the lamp makes a cluster; a growing water outage is warned.
    _report("幸福小区3栋旁边路灯坏了，一直没人修", "幸福小区3栋", "web:lamp-c", 0.5)
    for category, place, reports in HOTSPOT_SEEDS:
        for i, (text, hours) in enumerate(reports):
            _report(text, place, f"web:{place}-{i}", hours, category=category)
    page.click("nav.nav >> text=热点问题")
    page.wait_for_url(f"{server}/hotspots")
    lamp = page.locator("section.hotspot", has_text="路灯")
    # Three reports: the main case, the merged case's resident (now its co-reporter) and the
    # new case; the merged case itself is no longer listed.
    expect(lamp.locator(".hotspot-count")).to_have_text("3 件")
    expect(lamp.locator("a.case-link")).to_have_count(2)
    expect(lamp).not_to_contain_text(second)
    water = page.locator("section.hotspot").first
    expect(water).to_contain_text("停水")
    expect(water.locator(".hotspot-count")).to_have_text("5 件")
    expect(page.locator("#hotspot-warning")).to_contain_text("热点预警")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(SCREENSHOTS / "hotspots.png"))
    page.click('#hotspot-windows a[data-days="1"]')
    page.wait_for_url(f"{server}/hotspots?days=1")
    expect(page.locator("#hotspot-windows a.active")).to_have_text("今天（24 小时）")
    expect(page.locator("section.hotspot", has_text="夜市")).to_have_count(0)
    page.locator(f'a.case-link:text("{first}")').click()
    page.wait_for_url(f"{server}/cases/{first}")
    assert errors == []
    context.close()

    # The supervisor's dashboard has the panel with today's warning.
    supervisor_ctx = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    supervisor = supervisor_ctx.new_page()
    _login(supervisor, server, "admin")
    supervisor.goto(f"{server}/dashboard")
    hot = supervisor.locator("#hotspot-panel")
    expect(hot.locator("#hotspot-alerts")).to_contain_text("停水")
    expect(hot.locator(".hotspot-list li")).to_have_count(4)
    hot.screenshot(path=str(SCREENSHOTS / "hotspot_panel.png"))
    hot.locator(".hotspot-list a").first.click()
    supervisor.wait_for_url(f"{server}/hotspots?days=7#hotspot-*")
    supervisor_ctx.close()
