"""Duplicates and hotspots in the console: the JSON API, the case page's suggestions with
one-click merge and co-reporters, the hotspots page and the dashboard panel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from hotline.access import accounts
from hotline.casework.cases import case_events, get_case
from hotline.db import get_engine, transaction
from hotline.models import utcnow
from tests.console.conftest import case_in, csrf_of, make_client, new_case, status_of

LAMP = {
    "category": "city_management",
    "location": "幸福小区3栋",
}
LAMP_TEXTS = [
    "我家楼下的路灯坏了好几天了，晚上黑漆漆的",
    "幸福小区3栋门口那盏路灯不亮了，晚上走路看不见",
    "3栋楼下路灯晚上一直不亮，老人出门不方便",
    "小区3栋旁边的路灯坏了，已经一个星期没人修",
]
OTHER = {
    "category": "employment",
    "description": "公司拖欠了我三个月工资，老板一直躲着不见",
    "location": "东西湖区金银湖街道",
    "resident_ref": "web:resident-wage",
}


def lamp_cases(count: int, **overrides: Any) -> list[str]:
    """``count`` reports of the same broken street lamp, by different residents."""
    return [
        new_case(
            **{
                **LAMP,
                "description": LAMP_TEXTS[i % len(LAMP_TEXTS)],
                "resident_ref": f"web:lamp-{i}",
                **overrides,
            }
        )
        for i in range(count)
    ]


def token_for(username: str) -> str:
    with transaction() as session:
        _, clear = accounts.create_token(session, accounts.get_user(session, username))
    return clear


@pytest.fixture()
def api(role_users: dict[str, int]) -> Iterator[TestClient]:
    with make_client() as client:
        client.headers["Authorization"] = f"Bearer {token_for('op')}"
        yield client


# --- JSON API -------------------------------------------------------------------------------


def test_similar_lists_the_same_problem_best_first(api: TestClient) -> None:
    first, second = lamp_cases(2)
    unrelated = new_case(**OTHER)
    response = api.get(f"/api/v1/cases/{second}/similar")
    assert response.status_code == 200, response.text
    found = response.json()
    numbers = [s["number"] for s in found]
    assert numbers and numbers[0] == first
    assert unrelated not in numbers and second not in numbers
    top = found[0]
    assert set(top) == {"number", "score", "reason", "status", "status_label"}
    assert 0 < top["score"] <= 1 and top["reason"] and top["status"] == "new"
    assert top["status_label"] == "待受理"
    scores = [s["score"] for s in found]
    assert scores == sorted(scores, reverse=True)
    assert api.get(f"/api/v1/cases/{unrelated}/similar").json() == []


def test_similar_of_an_unknown_case_is_a_precise_404(api: TestClient) -> None:
    response = api.get("/api/v1/cases/SQ20990101-9999/similar")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "工单 SQ20990101-9999 不存在",
    }


def test_hotspots_list_clusters_with_their_cases(api: TestClient) -> None:
    numbers = lamp_cases(3)
    new_case(**OTHER)
    response = api.get("/api/v1/hotspots", params={"days": 7})
    assert response.status_code == 200, response.text
    [spot] = response.json()
    assert set(spot) == {
        "key",
        "category",
        "category_name",
        "place",
        "topic",
        "count",
        "latest_at",
        "case_numbers",
    }
    assert spot["category"] == "city_management" and spot["category_name"] == "城市管理"
    assert spot["count"] == 3 and sorted(spot["case_numbers"]) == sorted(numbers)
    assert "幸福小区" in spot["place"]
    assert api.get("/api/v1/hotspots").json() == response.json()  # 7 days by default


@pytest.mark.parametrize(
    ("days", "message"),
    [("0", "天数：须不小于 1"), ("91", "天数：须不大于 90"), ("七", "天数：须为数字")],
)
def test_hotspot_days_are_checked(api: TestClient, days: str, message: str) -> None:
    response = api.get("/api/v1/hotspots", params={"days": days})
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "bad_request", "message": message, "field": "days"}


def test_hotspots_window_leaves_older_cases_out(api: TestClient) -> None:
    old = utcnow() - timedelta(days=10)
    from hotline.casework.actors import Actor
    from hotline.casework.cases import NewCase, create_case

    with transaction() as session:
        for i, text in enumerate(LAMP_TEXTS[:3]):
            create_case(
                session,
                NewCase(**LAMP, description=text, channel="web", resident_ref=f"web:old-{i}"),
                Actor.resident(f"web:old-{i}"),
                now=old,
            )
    assert api.get("/api/v1/hotspots", params={"days": 7}).json() == []
    [spot] = api.get("/api/v1/hotspots", params={"days": 30}).json()
    assert spot["count"] == 3


def test_the_openapi_document_describes_both_routes(api: TestClient) -> None:
    spec = api.get("/api/openapi.json").json()
    similar = spec["paths"]["/api/v1/cases/{number}/similar"]["get"]
    hotspots = spec["paths"]["/api/v1/hotspots"]["get"]
    assert similar["responses"]["200"]["content"]["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/SimilarCaseOut"
    }
    assert {"401", "403", "404"} <= set(similar["responses"])
    [days] = hotspots["parameters"]
    assert days["name"] == "days" and days["schema"]["minimum"] == 1
    assert days["schema"]["maximum"] == 90
    fields = spec["components"]["schemas"]["HotspotOut"]["properties"]
    assert {"key", "category_name", "count", "latest_at", "case_numbers"} <= set(fields)


def test_the_api_docs_page_lists_both_routes(operator: TestClient) -> None:
    page = operator.get("/api/docs").text
    assert "/api/v1/cases/{number}/similar" in page and "/api/v1/hotspots" in page
    assert "可能重复的工单" in page and "热点问题" in page


# --- Case page ------------------------------------------------------------------------------


def _suggestion_forms(page: str) -> str:
    start = page.index('id="similar-cases"')
    return page[start : page.index("</section>", start)]


def test_case_page_shows_suggestions_with_reason_and_merge_buttons(operator: TestClient) -> None:
    first, second = lamp_cases(2)
    unrelated = new_case(**OTHER)
    page = operator.get(f"/cases/{second}").text
    panel = _suggestion_forms(page)
    assert "可能重复的工单" in panel and first in panel and unrelated not in panel
    with transaction() as session:
        from hotline.similarity.matcher import similar_cases

        [best, *_] = similar_cases(session, get_case(session, second))
    assert best.reason in panel and f"{round(best.score * 100)}%" in panel
    assert ">合并到此工单</button>" in panel and ">并入本单</button>" in panel
    assert 'name="csrf_token"' in panel and "data-confirm" in panel
    # The unrelated case suggests nothing, and shows no panel.
    assert 'id="similar-cases"' not in operator.get(f"/cases/{unrelated}").text


def test_case_page_opens_when_the_matcher_fails(
    operator: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from console import duplicates

    def broken(*_: Any, **__: Any) -> list[Any]:
        raise RuntimeError("encoder unavailable")

    _, second = lamp_cases(2)
    monkeypatch.setattr(duplicates, "similar_cases", broken)
    response = operator.get(f"/cases/{second}")
    assert response.status_code == 200
    assert "相似工单暂时无法计算" in response.text and second in response.text


def test_merge_into_the_suggestion_from_the_panel(operator: TestClient) -> None:
    first, second = lamp_cases(2)
    data = {"action": "merge", "target": first, "csrf_token": csrf_of(operator)}
    response = operator.post(f"/cases/{second}/actions", data=data)
    assert response.status_code == 303 and response.headers["location"] == f"/cases/{second}"
    assert status_of(second) == "closed"
    with transaction() as session:
        assert get_case(session, second).merged_into == first
    page = operator.get(f"/cases/{second}").text
    assert f"工单 {second} 已合并到 {first}" in page
    assert 'id="merged-into"' in page and f'href="/cases/{first}"' in page
    main = operator.get(f"/cases/{first}").text
    assert 'id="merged-from"' in main and second in main


def test_merge_a_suggestion_into_this_case_returns_here(operator: TestClient) -> None:
    first, second = lamp_cases(2)
    data = {"action": "merge", "target": first, "back": first, "csrf_token": csrf_of(operator)}
    response = operator.post(f"/cases/{second}/actions", data=data)
    assert response.status_code == 303 and response.headers["location"] == f"/cases/{first}"
    assert status_of(second) == "closed" and status_of(first) == "new"
    with transaction() as session:
        events = case_events(session, get_case(session, first))
        assert events[-1].action == "merged_from" and (events[-1].data or {})["source"] == second


def test_back_is_only_a_case_number(operator: TestClient) -> None:
    _, second = lamp_cases(2)
    token = csrf_of(operator)
    data = {"action": "note", "note": "备注", "back": "//evil.example/x", "csrf_token": token}
    response = operator.post(f"/cases/{second}/actions", data=data)
    assert response.headers["location"] == f"/cases/{second}"


def test_a_failed_merge_from_the_panel_shows_on_this_page(operator: TestClient) -> None:
    first = case_in("closed", **LAMP, resident_ref="web:lamp-closed")
    second = new_case(**LAMP, description=LAMP_TEXTS[1], resident_ref="web:lamp-2")
    data = {"action": "merge", "target": first, "csrf_token": csrf_of(operator)}
    response = operator.post(f"/cases/{second}/actions", data=data)
    assert response.status_code == 400
    assert f"目标工单 {first} 已结束，不能合并" in response.text
    assert status_of(second) == "new"


def test_merge_buttons_follow_what_the_workflow_allows(operator: TestClient) -> None:
    resolved = case_in("resolved", **LAMP, resident_ref="web:lamp-resolved")
    fresh = new_case(**LAMP, description=LAMP_TEXTS[1], resident_ref="web:lamp-2")
    panel = _suggestion_forms(operator.get(f"/cases/{fresh}").text)
    assert resolved in panel
    # A resolved case may take a merge, but not be merged into another.
    assert 'data-merge="here"' in panel and 'data-merge="in"' not in panel
    panel = _suggestion_forms(operator.get(f"/cases/{resolved}").text)
    assert 'data-merge="in"' in panel and 'data-merge="here"' not in panel


def test_co_reporters_show_with_masked_phones(operator: TestClient) -> None:
    from hotline.casework.co_reporters import join_as_co_reporter

    [first] = lamp_cases(1)
    with transaction() as session:
        join_as_co_reporter(
            session,
            first,
            "tg:9001",
            "telegram",
            description="3栋楼下的路灯也不亮",
            phone="13987654321",
            contact_name="李先生",
        )
    page = operator.get(f"/cases/{first}").text
    start = page.index('id="co-reporters"')
    panel = page[start : page.index("</section>", start)]
    assert "共同反映人" in panel and "李先生" in panel and "Telegram" in panel
    assert "139****4321" in panel and "13987654321" not in page


# --- Hotspots page and dashboard ------------------------------------------------------------


def test_hotspots_page_ranks_clusters_and_links_their_cases(operator: TestClient) -> None:
    big = lamp_cases(3)
    small = [
        new_case(
            category="property_housing",
            description=text,
            location="光谷花园5栋",
            resident_ref=f"web:lift-{i}",
        )
        for i, text in enumerate(["5栋电梯又坏了，困了人", "光谷花园5栋电梯停运两天了"])
    ]
    page = operator.get("/hotspots")
    assert page.status_code == 200
    html = page.text
    assert "热点问题" in html and 'class="active" data-days="7"' in html
    for number in big + small:
        assert f'href="/cases/{number}"' in html
    assert html.index(big[0]) < html.index(small[0])  # 3 cases rank above 2
    assert "共 <b>2</b> 个热点" in html
    assert 'data-days="1"' in html and 'data-days="30"' in html


def test_hotspots_page_window_and_bad_days(operator: TestClient) -> None:
    lamp_cases(2)
    assert "没有热点" not in operator.get("/hotspots?days=1").text
    bad = operator.get("/hotspots?days=365")
    assert bad.status_code == 400 and "天数：须为 1～90 的整数" in bad.text


def test_hotspots_page_warns_past_the_alert_size(
    operator: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_HOTSPOT_ALERT_SIZE", "3")
    lamp_cases(2)
    assert 'id="hotspot-warning"' not in operator.get("/hotspots").text
    lamp_cases(1, resident_ref="web:lamp-third")
    html = operator.get("/hotspots").text
    assert 'id="hotspot-warning"' in html and "（3 件）" in html


def test_hotspots_page_queries_do_not_grow_with_clusters(operator: TestClient) -> None:
    places = ["幸福小区3栋", "光谷花园5栋", "红钢城8街坊12栋", "钟家村社区2号楼"]

    def statements_for_page() -> int:
        count = 0

        def counter(*_: Any) -> None:
            nonlocal count
            count += 1

        engine = get_engine()
        event.listen(engine, "before_cursor_execute", counter)
        try:
            assert operator.get("/hotspots").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        return count

    for i, text in enumerate(LAMP_TEXTS[:2]):
        new_case(**{**LAMP, "location": places[0]}, description=text, resident_ref=f"web:a{i}")
    one = statements_for_page()
    for place in places[1:]:
        for i, text in enumerate(LAMP_TEXTS[:3]):
            new_case(
                category="city_management",
                location=place,
                description=text,
                resident_ref=f"web:{place}{i}",
            )
    many = statements_for_page()
    assert many == one, f"{one} statements for 1 hotspot, {many} for 4"


def test_dashboard_panel_lists_hotspots_and_todays_alerts(
    as_role: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_HOTSPOT_ALERT_SIZE", "3")
    supervisor = as_role("supervisor")
    lamp_cases(3)
    html = supervisor.get("/dashboard").text
    start = html.index('id="hotspot-panel"')
    panel = html[start : html.index("</section>", start)]
    assert "热点问题" in panel and "3 件" in panel and 'href="/hotspots?days=7' in panel
    assert 'id="hotspot-alerts"' in panel and "热点预警" in panel


def test_dashboard_panel_without_hotspots(as_role: Any) -> None:
    supervisor = as_role("supervisor")
    new_case(**OTHER)
    html = supervisor.get("/dashboard").text
    assert "近 7 天没有热点" in html and 'id="hotspot-alerts"' not in html


def test_hotspots_are_in_the_navigation_for_operators(operator: TestClient) -> None:
    assert 'href="/hotspots"' in operator.get("/cases").text
