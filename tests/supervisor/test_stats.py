"""Dashboard figures on the seeded world, against answers worked out by hand (see seed.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from hotline.config import ConfigError, load_settings
from hotline.errors import ValidationError
from hotline.reporting import stats
from hotline.reporting.periods import Period, month_period, parse_month, parse_period
from hotline.reporting.stats import StatsFilter
from tests.supervisor.seed import CITY, CIVIL, LABOUR, POLICE, TZ, World, seed

DAY0 = date(2026, 11, 2)  # a Monday
HOUR = 3600.0


@pytest.fixture()
def world(session: Session) -> World:
    return seed(session, DAY0)


def dash(session: Session, world: World, **flt: str) -> stats.Dashboard:
    return stats.dashboard(session, world.period, StatsFilter(**flt), world.now, target=0.9)


def test_on_time_rate_per_department_and_overall(session: Session, world: World) -> None:
    d = dash(session, world)
    # Completed in the period and still completed: A (on time), B (late), E (on time after its
    # extension), F (answered at once). C was reopened, so it is not completed.
    assert (d.on_time.part, d.on_time.whole) == (3, 4)
    assert d.on_time.rate == pytest.approx(0.75)
    rows = {r.department: r for r in d.timeliness}
    assert [r.department for r in d.timeliness] == [CITY, LABOUR, CIVIL]
    assert (rows[CITY].completed, rows[CITY].on_time, rows[CITY].late) == (2, 1, 1)
    assert rows[CITY].rate == pytest.approx(0.5)
    assert rows[LABOUR].rate == 1.0 and rows[CIVIL].rate == 1.0
    # A took 48 h, B 72 h: the median of two is their mean.
    assert rows[CITY].median_resolve_seconds == 60 * HOUR
    # E: created d-2 09:00, resolved d5 20:00 = 7 days 11 hours.
    assert rows[LABOUR].median_resolve_seconds == 179 * HOUR


def test_median_times_to_accept_and_resolve(session: Session, world: World) -> None:
    d = dash(session, world)
    # Accepted in the period: A 1 h, B 3 h, C 0.5 h, D 1 h, E 48 h (created before the period).
    assert d.time_to_accept.count == 5
    assert d.time_to_accept.seconds == 1 * HOUR
    # Resolve times of A, B, E, F: 48, 72, 179 and 0 hours -> median (48 + 72) / 2.
    assert d.time_to_resolve.count == 4
    assert d.time_to_resolve.seconds == 60 * HOUR


def test_routing_change_rate_and_matrix(session: Session, world: World) -> None:
    d = dash(session, world)
    # Registered in the period: A, B, C, D, F, G (E before it, H after it, by local time).
    assert d.registered == 6
    assert (d.routing.changed, d.routing.total) == (1, 6)
    assert d.routing.rate == pytest.approx(1 / 6)
    assert d.routing.matrix == {("elderly_care", "social_assistance"): 1}


def test_volumes_bucket_by_local_day(session: Session, world: World) -> None:
    d = dash(session, world)
    days = world.period.days
    # G was registered at 00:10 local on day 0 (the evening before in UTC); H at 00:30 local
    # on the day after the period, so it is not counted.
    assert d.by_day == {
        days[0]: {"public_security": 1},
        days[1]: {"city_management": 2},
        days[2]: {"social_assistance": 1},
        days[3]: {"employment": 1},
        days[4]: {"social_assistance": 1},
        days[5]: {},
        days[6]: {},
    }
    assert d.by_category == [
        ("city_management", 2),
        ("social_assistance", 2),
        ("employment", 1),
        ("public_security", 1),
    ]
    assert d.by_channel == [("phone", 3), ("web", 3)]
    assert d.by_status == [
        ("closed", 2),
        ("in_progress", 1),
        ("new", 1),
        ("resolved", 1),
        ("returned", 1),
    ]
    assert dict(d.by_department) == {CITY: 2, CIVIL: 2, LABOUR: 1, POLICE: 1}
    assert d.open_now == 4  # C, D, G, H


def test_overdue_list_with_reason(session: Session, world: World) -> None:
    d = dash(session, world)
    assert [o.number for o in d.overdue] == [world.numbers["D"]]
    row = d.overdue[0]
    # The office's return reason wins over an earlier internal note.
    assert (row.reason_action, row.reason) == ("return", "不属于本单位职责")
    assert row.overdue_seconds == 50 * HOUR  # due d4 10:00, now d6 12:00
    assert row.department == LABOUR and row.assignee == "王芳"
    assert d.overdue_total == 1


def test_overdue_list_is_capped_and_the_count_is_not(session: Session, world: World) -> None:
    # Two months on, every open case (C, D, G, H) is past its deadline.
    later = world.now + timedelta(days=60)
    flt = StatsFilter()
    assert stats.overdue_count(session, flt, later) == 4
    listed = stats.overdue_cases(session, flt, later, limit=2)
    assert len(listed) == 2
    every = stats.overdue_cases(session, flt, later, limit=10)
    assert [o.number for o in every[:2]] == [o.number for o in listed]
    assert [o.overdue_seconds for o in every] == sorted(
        (o.overdue_seconds for o in every), reverse=True
    )


def test_satisfaction_and_reopen(session: Session, world: World) -> None:
    d = dash(session, world)
    s = d.satisfaction
    # Resolved in the period: A, B, C, E, F; answered: A (非常满意), C (不满意), E (满意).
    assert (s.resolved, s.answered, s.satisfied) == (5, 3, 2)
    assert s.rate == pytest.approx(2 / 3)
    assert s.response_rate == pytest.approx(3 / 5)
    assert s.counts == {
        "very_satisfied": 1,
        "satisfied": 1,
        "basically_satisfied": 0,
        "dissatisfied": 1,
    }
    assert (d.reopen.part, d.reopen.whole) == (1, 5)


def test_handoff_rate_and_wait(session: Session, world: World) -> None:
    d = dash(session, world)
    # Active in the period: s1, s2, s3; handed off in it: s1 (4 min), s2 (10 min).
    assert (d.handoff.handed_off, d.handoff.conversations) == (2, 3)
    assert d.handoff.rate == pytest.approx(2 / 3)
    assert d.handoff.median_wait.seconds == 7 * 60


def test_topics_and_workload(session: Session, world: World) -> None:
    d = dash(session, world)
    assert d.topics == [("dibao_tiaojian", 1)]
    rows = {r.username: r for r in d.workload}
    assert [r.username for r in d.workload] == ["wang", "li", "labour-office"]
    assert (rows["wang"].assigned, rows["wang"].open_now, rows["wang"].actions) == (3, 1, 6)
    assert rows["wang"].resolved == 2 and rows["wang"].display_name == "王芳"
    # li's look at a phone number is not work; the note before the period is not counted.
    assert (rows["li"].assigned, rows["li"].open_now, rows["li"].actions) == (1, 1, 6)
    assert rows["labour-office"].actions == 1


def test_filters_narrow_every_figure(session: Session, world: World) -> None:
    d = dash(session, world, department=CITY)
    assert d.registered == 2
    assert (d.on_time.part, d.on_time.whole) == (1, 2)
    assert (d.satisfaction.resolved, d.satisfaction.answered) == (2, 1)
    assert d.overdue == []
    d = dash(session, world, category="social_assistance")
    assert d.registered == 2
    assert (d.routing.changed, d.routing.total) == (1, 2)
    assert [r.username for r in d.workload] == ["li"]


def test_empty_period_has_no_rates(session: Session, world: World) -> None:
    empty = Period(DAY0 + timedelta(days=100), DAY0 + timedelta(days=100), TZ)
    d = stats.dashboard(session, empty, StatsFilter(), world.now)
    assert d.registered == 0
    assert d.on_time.rate is None and d.satisfaction.rate is None and d.routing.rate is None
    assert d.time_to_accept.seconds is None and d.handoff.rate is None
    assert d.target == 0.9


def test_target_from_the_environment(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_ON_TIME_TARGET", "0.85")
    assert stats.dashboard(session, world.period, StatsFilter(), world.now).target == 0.85
    for bad in ("abc", "0", "1.5"):
        monkeypatch.setenv("HOTLINE_ON_TIME_TARGET", bad)
        with pytest.raises(ConfigError, match="HOTLINE_ON_TIME_TARGET"):
            load_settings()


def test_periods() -> None:
    today = date(2026, 11, 24)
    assert parse_period("today", "", "", today, TZ)[1] == Period(today, today, TZ)
    assert parse_period("", "", "", today, TZ)[1].first == date(2026, 11, 18)
    assert parse_period("30d", "", "", today, TZ)[1].first == date(2026, 10, 26)
    kind, period = parse_period("", "2026-11-01", "2026-11-03", today, TZ)
    assert kind == "custom" and len(period.days) == 3
    assert period.start.isoformat() == "2026-10-31T16:00:00+00:00"
    for args in (
        ("year", "", ""),
        ("custom", "", ""),
        ("custom", "2026-13-01", ""),
        ("custom", "2026-11-05", "2026-11-01"),
        ("custom", "2020-01-01", "2026-01-01"),
    ):
        with pytest.raises(ValidationError):
            parse_period(*args, today, TZ)
    assert parse_month("", today) == (2026, 10)
    assert parse_month("2026-01", today) == (2026, 1)
    assert month_period(2026, 12, TZ).last == date(2026, 12, 31)
    assert month_period(2024, 2, TZ).last == date(2024, 2, 29)
    for bad in ("2026", "2026-13", "x-1"):
        with pytest.raises(ValidationError):
            parse_month(bad, today)


@pytest.mark.postgres
def test_the_same_answers_on_postgresql(pg_url: str) -> None:
    from hotline.casework.actors import Actor
    from hotline.channels import open311
    from hotline.db import transaction
    from hotline.privacy import retention
    from hotline.reporting import case_log

    with transaction(pg_url) as session:
        world = seed(session, DAY0)
        d = stats.dashboard(session, world.period, StatsFilter(), world.now, target=0.9)
        assert d.registered == 6 and (d.on_time.part, d.on_time.whole) == (3, 4)
        assert d.time_to_accept.seconds == 1 * HOUR and d.time_to_resolve.seconds == 60 * HOUR
        assert (d.routing.changed, d.routing.total) == (1, 6)
        assert (d.handoff.handed_off, d.handoff.conversations) == (2, 3)
        assert [r.username for r in d.workload] == ["wang", "li", "labour-office"]
        flt = case_log.parse_filter({"overdue": "1", "q": "测试", "satisfaction": "none"})
        cases, total = case_log.search(session, flt, world.now, TZ)
        assert total == 1 and cases[0].number == world.numbers["D"]
        cases, total = case_log.search(
            session, case_log.parse_filter({"handoff": "0", "phone4": "5678"}), world.now, TZ
        )
        assert [c.number for c in cases] == [world.numbers["A"]]
        # Open311's publication query on PostgreSQL: every category public, every case agreed.
        from dataclasses import replace

        from sqlalchemy import select

        from hotline.casework.catalogue import Catalogue, get_catalogue
        from hotline.models import Case

        everything = Catalogue(tuple(replace(c, public=True) for c in get_catalogue().categories))
        closed = {world.numbers[k] for k in ("A", "B", "E", "F")}
        publishable = set()
        for case in session.scalars(select(Case)):
            case.publish_consent = True
            never = case.urgency == "emergency" or case.case_type == "consultation"
            if case.number in closed and not never:
                publishable.add(case.number)
        session.flush()
        found = open311.find_requests(
            session,
            {"status": "closed"},
            now=world.now + timedelta(days=1),
            tz=TZ,
            catalogue=everything,
        )
        assert {r["service_request_id"] for r in found} == publishable and publishable
        report = retention.run(
            session, 1, Actor.system("cli:test"), now=world.now + timedelta(days=3)
        )
        assert set(report.numbers) == {world.numbers[k] for k in ("A", "E", "F")}
