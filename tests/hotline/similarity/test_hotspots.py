"""Hotspots: clusters of reports about one problem, their ranking, and alerts sent once."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import HotspotAlert
from hotline.similarity import due_hotspot_alerts, hotspots, join_as_co_reporter
from hotline.similarity.hotspots import alert_levels
from tests.hotline.similarity.conftest import NOW, days, log

LAMP = ("幸福小区3栋门口的路灯坏了，晚上一片漆黑", "幸福小区3栋")
LIFT = ("和平花园5栋电梯困人，物业一直不修", "和平花园5栋")
DRAIN = ("解放路88号门口下水道堵了，污水漫到路上", "解放路88号")


def report(session: Session, what: tuple[str, str], at: datetime, n: int, **kw: object) -> list:  # type: ignore[type-arg]
    text, place = what
    return [
        log(
            session,
            f"{text}{'！' * i}",
            place,
            resident=f"tg:{abs(hash((text, at, i)))}",
            at=at,
            **kw,
        )  # type: ignore[arg-type]
        for i in range(n)
    ]


def test_clusters_are_ranked_by_reports_then_recency(db: Session) -> None:
    lamps = report(db, LAMP, NOW - days(3), 3)
    join_as_co_reporter(
        db,
        lamps[0].number,
        "web:x1",
        "web",
        description="路灯不亮",
        phone=None,
        contact_name=None,
        now=NOW - days(1),
    )
    lifts = report(db, LIFT, NOW - days(2), 4, category="property_housing")
    drains = report(db, DRAIN, NOW - days(1), 2)
    report(db, ("小区健身器材坏了", "阳光家园"), NOW - days(1), 1)
    report(db, DRAIN, NOW - days(10), 1)  # outside the window
    found = hotspots(db, days=7, now=NOW)
    # The lamp's co-reporter (a report, no case) joined after the last lift report.
    assert [(h.count, len(h.case_numbers)) for h in found] == [(4, 3), (4, 4), (2, 2)]
    lamp, lift, drain = found
    assert lift.case_numbers == [c.number for c in reversed(lifts)]  # newest first
    assert lamp.case_numbers == [c.number for c in reversed(lamps)]
    assert lamp.latest_at > lift.latest_at
    assert drain.case_numbers == [c.number for c in reversed(drains)]
    assert drain.category == "city_management" and drain.place == "解放路88号"
    assert lamp.key == f"H{lamps[0].number}" and lamp.topic.startswith("幸福小区3栋")
    assert hotspots(db, days=7, now=NOW, min_count=5) == []


def test_equal_counts_put_the_latest_report_first(db: Session) -> None:
    report(db, LAMP, NOW - days(3), 2)
    report(db, DRAIN, NOW - days(1), 2)
    assert [h.place for h in hotspots(db, days=7, now=NOW)] == ["解放路88号", "幸福小区3栋"]


def test_a_topic_carries_no_phone_number(db: Session) -> None:
    report(db, ("路灯坏了请回电13812345678", "幸福小区3栋"), NOW - days(1), 2)
    [spot] = hotspots(db, days=7, now=NOW)
    assert "13812345678" not in spot.topic


def test_alert_levels_double() -> None:
    assert alert_levels(5, 4) == []
    assert alert_levels(5, 5) == [5]
    assert alert_levels(5, 23) == [5, 10, 20]


def test_a_growing_hotspot_is_alerted_once_per_size(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_HOTSPOT_ALERT_SIZE", "3")
    report(db, LAMP, NOW - days(3), 2)
    assert due_hotspot_alerts(db, now=NOW) == []  # 2 reports: below the size
    report(db, LAMP, NOW - days(0.1), 1)
    [spot] = due_hotspot_alerts(db, now=NOW)
    assert spot.count == 3 and spot.place == "幸福小区3栋"
    assert due_hotspot_alerts(db, now=NOW) == []  # recorded: not again
    report(db, LAMP, NOW - days(0.05), 2)
    assert due_hotspot_alerts(db, now=NOW) == []  # 5: no new size reached
    report(db, LAMP, NOW - days(0.01), 1)
    [bigger] = due_hotspot_alerts(db, now=NOW)
    assert bigger.count == 6 and bigger.key == spot.key
    levels = db.scalars(select(HotspotAlert.level).order_by(HotspotAlert.id)).all()
    assert levels == [3, 6]


def test_a_hotspot_that_stopped_growing_is_not_alerted(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_HOTSPOT_ALERT_SIZE", "3")
    report(db, DRAIN, NOW - days(2), 3)  # reached 3 two days ago, nothing since
    assert due_hotspot_alerts(db, now=NOW) == []
