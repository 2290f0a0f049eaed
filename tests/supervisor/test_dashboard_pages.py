"""/dashboard, /reports/monthly, /log and /log/audit through the console (TestClient)."""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from hotline.casework.cases import get_case
from hotline.db import transaction
from hotline.models import OutboxMessage, utcnow
from hotline.reporting import stats
from tests.supervisor.seed import CITY, TZ, World

KPI = re.compile(r'<a class="kpi-value" href="([^"]+)" data-kpi="(\w+)">([^<]+)</a>')
DETAIL = re.compile(r'data-kpi="(\w+)">[^<]+</a>\s*<span class="kpi-detail"><a href="([^"]+)">')
TOTAL = re.compile(r'<b id="log-total">(\d+)</b>')


@pytest.fixture()
def supervisor(as_role: Callable[[str], TestClient]) -> TestClient:
    return as_role("supervisor")


def kpis(page: str) -> dict[str, tuple[str, str]]:
    return {key: (value, html.unescape(link)) for link, key, value in KPI.findall(page)}


def total_behind(client: TestClient, link: str) -> int:
    response = client.get(link)
    assert response.status_code == 200, (link, response.text[:500])
    match = TOTAL.search(response.text)
    assert match, link
    return int(match.group(1))


def test_dashboard_figures_and_the_case_lists_behind_them(
    supervisor: TestClient, recent_world: World
) -> None:
    response = supervisor.get("/dashboard")
    assert response.status_code == 200
    page = response.text
    figures = kpis(page)
    assert figures["registered"][0] == "6"
    assert figures["open"][0] == "4"
    assert figures["overdue"][0] == "1"
    assert figures["on_time"][0] == "75.0%"
    assert figures["satisfaction"][0] == "66.7%"
    assert figures["reopen"][0] == "20.0%"
    assert figures["rerouted"][0] == "16.7%"
    assert figures["accept"][0] == "1小时"
    assert figures["resolve"][0] == "2天12小时"
    # Each headline number opens the list of exactly the cases it counts.
    expected = {
        "registered": 6,
        "open": 4,
        "overdue": 1,
        "on_time": 4,  # completed in the period
        "accept": 5,
        "resolve": 4,
        "satisfaction": 2,  # satisfied answers
        "reopen": 1,
        "rerouted": 1,
    }
    for key, count in expected.items():
        assert total_behind(supervisor, figures[key][1]) == count, key
    details = {key: html.unescape(link) for key, link in DETAIL.findall(page)}
    assert total_behind(supervisor, details["on_time"]) == 3  # on time
    assert total_behind(supervisor, details["satisfaction"]) == 3  # answered
    assert total_behind(supervisor, details["reopen"]) == 5  # resolved in the period


def test_dashboard_tables_link_to_their_cases(supervisor: TestClient, recent_world: World) -> None:
    page = supervisor.get("/dashboard").text
    timeliness = page[
        page.index('id="timeliness"') : page.index("</table>", page.index('id="timeliness"'))
    ]
    row = timeliness[timeliness.index(CITY) :]
    links = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', row)[:3]]
    assert [total_behind(supervisor, link) for link in links] == [2, 1, 1]  # done, on time, late
    assert f'href="/log/{recent_world.numbers["D"]}"' in page  # the overdue list
    assert "不属于本单位职责" in page
    matrix = page[page.index('id="routing-matrix"') :]
    cell = html.unescape(re.search(r'<td class="heat-\d"><a href="([^"]+)">1</a>', matrix).group(1))
    assert total_behind(supervisor, cell) == 1
    query = parse_qs(urlsplit(cell).query)
    assert query["original_category"] == ["elderly_care"]
    assert query["category"] == ["social_assistance"]
    # Bars and slices of the charts link to their cases too.
    bar_links = re.findall(r'xlink:href="(/log\?[^"]+)"', page)
    assert len(bar_links) >= 10
    day = html.unescape(next(link for link in bar_links if "city_management" in link))
    assert total_behind(supervisor, day) == 2


def test_overdue_list_names_the_longest_overdue_and_links_to_all(
    supervisor: TestClient, recent_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stats, "OVERDUE_LISTED", 0)
    page = supervisor.get("/dashboard").text
    assert kpis(page)["overdue"][0] == "1"  # counted though not listed
    start = page.index('id="overdue"')
    section = page[start : page.index("</section>", start)]
    assert "下表列出超时最久的 0 件" in section
    assert "没有超时未办结的工单" not in section
    link = html.unescape(re.search(r'<a href="([^"]+)">查看全部</a>', section).group(1))
    assert total_behind(supervisor, link) == 1


def test_charts_are_inline_svg_allowed_by_their_style_hashes(
    supervisor: TestClient, recent_world: World
) -> None:
    response = supervisor.get("/dashboard")
    page, policy = response.text, response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    styles = re.findall(r"<style[^>]*>(.*?)</style>", page, re.S)
    assert len(styles) >= 8
    for css in styles:
        digest = base64.b64encode(hashlib.sha256(html.unescape(css).encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "<script type" not in page  # pygal's own script is removed
    assert 'style="' not in page[page.index("<svg") :]  # no inline style attributes
    assert "kozea.github.io" not in page and "http://pygal" not in page
    # The Chinese labels are text in the SVG, drawn with the browser's fonts.
    assert "城市管理" in page and "Noto Sans CJK SC" in page


def test_filters_and_periods(supervisor: TestClient, recent_world: World) -> None:
    page = supervisor.get("/dashboard", params={"department": CITY}).text
    assert kpis(page)["registered"][0] == "2"
    assert kpis(page)["on_time"][0] == "50.0%"
    link = kpis(page)["registered"][1]
    assert parse_qs(urlsplit(link).query)["department"] == [CITY]
    page = supervisor.get("/dashboard", params={"category": "social_assistance"}).text
    assert kpis(page)["registered"][0] == "2"
    today = utcnow().astimezone(TZ).date()
    page = supervisor.get("/dashboard", params={"period": "today"}).text
    assert kpis(page)["registered"][0] == "0"
    first = (today - timedelta(days=6)).isoformat()
    page = supervisor.get(
        "/dashboard", params={"period": "custom", "from": first, "to": first}
    ).text
    assert kpis(page)["registered"][0] == "1"  # G, at 00:10 local
    assert "30" in supervisor.get("/dashboard", params={"period": "30d"}).text
    for params in (
        {"period": "year"},
        {"period": "custom"},
        {"period": "custom", "from": "2026-02-30"},
        {"period": "custom", "from": first, "to": "2000-01-01"},
        {"category": "nope"},
    ):
        response = supervisor.get("/dashboard", params=params)
        assert response.status_code == 400, params
        assert "error-message" in response.text


def test_operators_do_not_see_the_dashboard(
    as_role: Callable[[str], TestClient], recent_world: World
) -> None:
    operator = as_role("operator")
    assert operator.get("/dashboard").status_code == 403
    assert "督办看板" not in operator.get("/cases").text
    assert "督办看板" in as_role("admin").get("/cases").text


def test_monthly_report(supervisor: TestClient, recent_world: World) -> None:
    today = utcnow().astimezone(TZ).date()
    month = today.strftime("%Y-%m")
    response = supervisor.get("/reports/monthly", params={"month": month})
    assert response.status_code == 200
    page = response.text
    assert f"{today.year}年{today.month}月 运行月报" in page
    assert 'id="report-summary"' in page and "按时办结率" in page
    assert "data-print" in page and "@page" not in page  # print rules live in supervisor.css
    assert page.count("<svg") >= 8
    assert supervisor.get("/reports/monthly").status_code == 200  # last month by default
    for bad in ("2026-13", "abc", "1999-01"):
        assert supervisor.get("/reports/monthly", params={"month": bad}).status_code == 400


def test_print_stylesheet_is_served() -> None:
    from pathlib import Path

    css = (Path(__file__).parents[2] / "console" / "static" / "supervisor.css").read_text()
    assert "@media print" in css and "@page" in css and "break-inside: avoid" in css


def test_log_search(supervisor: TestClient, recent_world: World) -> None:
    numbers = recent_world.numbers

    def found(**params: str) -> set[str]:
        page = supervisor.get("/log", params=params).text
        return set(re.findall(r'class="case-link" href="/log/([^"]+)"', page))

    assert found(phone4="5678") == {numbers["A"]}
    assert found(number=numbers["B"]) == {numbers["B"]}
    assert found(q="测试工单C") == {numbers["C"]}
    assert found(department=CITY, status="closed") == {numbers["A"]}
    assert found(rerouted="1") == {numbers["C"]}
    assert found(extended="1") == {numbers["E"]}
    assert found(satisfaction="none", status="resolved") == {numbers["B"]}
    assert found(assignee="li") == {numbers["C"], numbers["E"]}
    assert found(topic="dibao_tiaojian") == {numbers["F"]}
    assert found(on_time="0") == {numbers["B"]}
    first = (utcnow().astimezone(TZ).date() - timedelta(days=6)).isoformat()
    assert found(**{"date": "created", "from": first, "to": first}) == {numbers["G"]}
    assert len(found()) == 8
    for params in ({"phone4": "12"}, {"status": "bogus"}, {"from": "yesterday"}, {"on_time": "x"}):
        response = supervisor.get("/log", params=params)
        assert response.status_code == 400 and "flash-error" in response.text


def test_log_case_page_shows_the_whole_record(supervisor: TestClient, recent_world: World) -> None:
    number = recent_world.numbers["C"]
    with transaction() as session:
        case = get_case(session, number)
        for status, text, error in (
            ("sent", "您的工单已受理", None),
            ("failed", "工单办理中", "Forbidden: bot was blocked by the user"),
        ):
            session.add(
                OutboxMessage(
                    case_id=case.id,
                    recipient="web:resident-C",
                    channel="web",
                    kind="status",
                    text=text,
                    status=status,
                    last_error=error,
                )
            )
    page = supervisor.get(f"/log/{number}").text
    assert "改派类别" in page and "属于社会救助" in page  # the audit trail with its note
    assert "已受理" in page  # from -> to
    assert "已送达 1 · 失败 1" in page and "bot was blocked" in page
    assert "不满意" in page  # the rating
    assert 'data-src="/cases/' + number + '/transcript"' in page
    assert "来件类别：养老服务" in page
    page = supervisor.get(f"/log/{recent_world.numbers['A']}").text
    assert "查看完整电话" in page and "查看完整电话 1 次" in page
    assert "138****5678" in page and "13812345678" not in page
    assert supervisor.get("/log/SQ00000000-9999").status_code == 404


def test_audit_view_of_one_user(supervisor: TestClient, recent_world: World) -> None:
    first = (utcnow().astimezone(TZ).date() - timedelta(days=6)).isoformat()
    page = supervisor.get("/log/audit", params={"actor": "li", "from": first}).text
    total = int(re.search(r'<b id="audit-total">(\d+)</b>', page).group(1))
    assert total == 7  # 6 work actions in the period and one look at a phone number
    assert "查看完整电话" in page and recent_world.numbers["A"] in page
    page = supervisor.get("/log/audit", params={"actor": "li", "action": "reveal_phone"}).text
    assert re.search(r'<b id="audit-total">1</b>', page)
    assert supervisor.get("/log/audit", params={"from": "x"}).status_code == 400


def test_dashboard_warns_of_days_without_an_official_calendar(
    supervisor: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    year = utcnow().astimezone(TZ).year
    table = tmp_path / "holidays.yml"
    fixture = "\n    notice: test fixture, not the official notice\n    holidays: []"
    table.write_text(f"years:\n  {year}:{fixture}\n  {year + 1}: null\n", encoding="utf-8")
    monkeypatch.setenv("HOTLINE_HOLIDAYS", str(table))
    monkeypatch.setenv("HOTLINE_CALENDAR_HORIZON_DAYS", "400")
    page = supervisor.get("/dashboard").text
    assert 'id="calendar-warning"' in page and "尚无国务院节假日安排" in page
    assert f"{year + 1}-01-01.." in page
    # 400 days from late November on reach into the year after next: cover it too.
    covered = "".join(f"  {y}:{fixture}\n" for y in (year, year + 1, year + 2))
    table.write_text(f"years:\n{covered}", encoding="utf-8")
    os.utime(table, (time.time() + 5, time.time() + 5))  # a new mtime: the table is reloaded
    assert 'id="calendar-warning"' not in supervisor.get("/dashboard").text


def test_dashboard_says_when_the_holiday_table_is_unusable(
    supervisor: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "holidays.yml"
    broken.write_text("years: [2026]\n", encoding="utf-8")
    monkeypatch.setenv("HOTLINE_HOLIDAYS", str(broken))
    response = supervisor.get("/dashboard")
    assert response.status_code == 200
    assert 'id="calendar-error"' in response.text and "无法读取" in response.text
