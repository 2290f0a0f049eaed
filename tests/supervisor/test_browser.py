"""The dashboard in a real browser (Playwright + Debian Chromium) with a realistic week of
seeded work; saves docs/screenshots/dashboard.png and prints the monthly report to PDF."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from hotline.db import transaction
from hotline.models import utcnow
from tests.console.test_browser import (  # noqa: F401  (fixtures: a live console server)
    PASSWORD,
    SCREENSHOTS,
    browser,
    chromium,
    fake_rasa,
    server,
)
from tests.supervisor.demo import seed_demo

pytestmark = pytest.mark.slow


def _login(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/cases")


def test_dashboard_in_the_browser(server: str, browser: Browser, var_dir: Path) -> None:  # noqa: F811
    with transaction() as session:
        seed_demo(session, utcnow())
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None,
    )
    _login(page, server)
    page.click("nav.nav >> text=督办看板")
    page.wait_for_url(f"{server}/dashboard")
    expect(page.locator(".kpi")).to_have_count(10)
    expect(page.locator("svg.chart")).to_have_count(9)
    registered = page.locator('[data-kpi="registered"]').inner_text()
    assert int(registered) > 40

    # The charts' own styles ran (allowed by their hashes): bars have their series colour.
    fill = page.evaluate(
        "getComputedStyle(document.querySelector('svg.chart .series.color-0 rect')).fill"
    )
    assert fill == "rgb(29, 99, 201)"
    # Chinese text in the charts is drawn with a CJK font, not boxes: a label of four
    # characters is about four em wide.
    width = page.evaluate(
        "[...document.querySelectorAll('svg.chart text')]"
        ".find(t => t.textContent.startsWith('城市管理')).getBBox().width"
    )
    assert width > 36
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    # Printing hides the navigation and the filters.
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") == "none"
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.dash-filters')).display") == "none"
    )
    page.emulate_media(media="screen")

    # A headline number opens the list of the cases it counts.
    page.click('[data-kpi="registered"]')
    page.wait_for_url(f"{server}/log?**")
    expect(page.locator("#log-total")).to_have_text(registered)

    # A bar of the daily chart opens that day's cases of that category.
    page.goto(f"{server}/dashboard")
    bar = page.locator("svg.chart a").first
    href = bar.get_attribute("href") or bar.get_attribute("xlink:href") or ""
    assert href.startswith("/log?")
    bar.click()
    page.wait_for_url(f"{server}/log?**")
    assert int(page.locator("#log-total").inner_text()) >= 1

    # The monthly report prints to PDF.
    page.goto(f"{server}/reports/monthly?month={utcnow().strftime('%Y-%m')}")
    expect(page.locator("#report-summary")).to_contain_text("本月共登记工单")
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    (var_dir / "report.pdf").write_bytes(pdf)
    assert problems == []
    context.close()
