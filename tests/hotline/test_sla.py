"""Deadlines across the official holiday calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, NewCase, apply_action, case_events, create_case
from hotline.casework.catalogue import get_catalogue
from hotline.casework.sla import add_working_days, compute_due, extend_due, is_working_day
from hotline.casework.vocab import CaseType, Urgency

TZ = ZoneInfo("Asia/Shanghai")


def test_national_day_2026_with_adjusted_working_saturday() -> None:
    # Oct 1-7 are holidays; Saturday Oct 10 is a 调休 working day; Sunday Oct 11 is not.
    assert not is_working_day(date(2026, 10, 5))
    assert is_working_day(date(2026, 10, 10))
    assert not is_working_day(date(2026, 10, 11))
    # Oct 8, 9, 10 (调休), 12, 13.
    assert add_working_days(date(2026, 9, 30), 5) == date(2026, 10, 13)


def test_five_day_deadline_of_a_case_created_before_national_day() -> None:
    created = datetime(2026, 9, 30, 10, 0, tzinfo=TZ)
    category = get_catalogue().get("city_management")
    due = compute_due(created, category, CaseType.HELP, Urgency.NORMAL, TZ)
    local = due.astimezone(TZ)
    assert category.time_limits.working_days[CaseType.HELP] == 5
    assert local.date() == date(2026, 10, 13)
    assert (local.hour, local.minute) == (23, 59)
    assert due.tzinfo is not None


def test_urgent_and_emergency_count_clock_hours() -> None:
    created = datetime(2026, 10, 1, 22, 30, tzinfo=UTC)
    category = get_catalogue().get("property_housing")
    urgent = compute_due(created, category, CaseType.HELP, Urgency.URGENT, TZ)
    emergency = compute_due(created, category, CaseType.HELP, Urgency.EMERGENCY, TZ)
    assert (urgent - created).total_seconds() == 24 * 3600
    assert (emergency - created).total_seconds() == 2 * 3600


def test_complaint_uses_its_own_limit_and_extension_adds_working_days() -> None:
    created = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)  # a Monday
    category = get_catalogue().get("mediation")
    due = compute_due(created, category, CaseType.COMPLAINT, Urgency.NORMAL, TZ)
    assert due.astimezone(TZ).date() == date(2026, 12, 14)  # 15 working days
    extended = extend_due(due, 5, TZ)
    assert extended.astimezone(TZ).date() == date(2026, 12, 21)


def test_unknown_year_falls_back_to_weekdays() -> None:
    assert is_working_day(date(2099, 3, 2))  # a Monday
    assert not is_working_day(date(2099, 3, 1))  # a Sunday


def _help_due(created: datetime, category: str = "city_management") -> date:
    """The local due date of a normal 求助 case created at ``created`` (5 working days)."""
    due = compute_due(created, get_catalogue().get(category), CaseType.HELP, Urgency.NORMAL, TZ)
    return due.astimezone(TZ).date()


def test_case_created_at_half_past_midnight_beijing_counts_from_the_beijing_day() -> None:
    # Fri 2026-10-09 00:30 in Beijing is still Thursday 16:30 in UTC.
    created = datetime(2026, 10, 9, 0, 30, tzinfo=TZ)
    assert created.astimezone(UTC).date() == date(2026, 10, 8)
    # From Friday the 9th: Sat 10 (调休), 12, 13, 14, 15. From the UTC day it would be the 14th.
    assert _help_due(created.astimezone(UTC)) == date(2026, 10, 15)


def test_case_created_on_a_holiday_counts_from_the_first_working_day() -> None:
    created = datetime(2026, 10, 3, 15, 0, tzinfo=TZ)  # National Day
    # Oct 8, 9, 10 (调休 Saturday), 12, 13: the same deadline as a case from Sep 30.
    assert _help_due(created) == date(2026, 10, 13)
    spring = datetime(2026, 2, 17, 9, 0, tzinfo=TZ)  # Spring Festival, a Tuesday
    # Feb 24, 25, 26, 27, 28 (调休 Saturday).
    assert _help_due(spring) == date(2026, 2, 28)


def test_extension_across_a_holiday_skips_it_and_counts_adjusted_days() -> None:
    due = datetime(2026, 9, 30, 23, 59, 59, tzinfo=TZ)
    # Oct 1-7 off: Oct 8, 9, 10 (调休), 12, 13.
    assert extend_due(due, 5, TZ).astimezone(TZ).date() == date(2026, 10, 13)
    before_spring = datetime(2026, 2, 13, 23, 59, 59, tzinfo=TZ)  # a Friday
    # Sat Feb 14 is worked (调休), Feb 15-23 off, then the 24th and 25th.
    assert extend_due(before_spring, 3, TZ).astimezone(TZ).date() == date(2026, 2, 25)


def test_deadline_across_the_year_end_skips_new_year_and_counts_its_adjusted_sunday() -> None:
    # Mon 2025-12-29 (chinese-calendar) into 2026 (data/holidays.yml): Dec 30, 31, then
    # Jan 1-3 off, Sunday Jan 4 worked (调休), Jan 5, 6.
    created = datetime(2025, 12, 29, 10, 0, tzinfo=TZ)
    assert _help_due(created) == date(2026, 1, 6)


def test_deadline_after_a_reopen_restarts_from_the_reopening(session: Session) -> None:
    created = datetime(2026, 9, 21, 9, 0, tzinfo=TZ)  # a Monday
    case, _ = create_case(
        session,
        NewCase(
            category="city_management",
            description="路灯坏了",
            phone="13812345678",
            location="幸福小区3栋",
        ),
        Actor.system(),
        now=created,
    )
    # Sep 22, 23, 24, (25-27 Mid-autumn off), 28, 29.
    assert case.due_at.astimezone(TZ).date() == date(2026, 9, 29)
    actor = Actor.system()
    for action in ("accept", "dispatch"):
        apply_action(session, case, action, actor, now=created)
    apply_action(session, case, "resolve", actor, ActionInput(note="已修复"), now=created)
    reopened = datetime(2026, 9, 30, 20, 0, tzinfo=TZ)  # the eve of National Day
    apply_action(session, case, "reopen", actor, ActionInput(note="没修好"), now=reopened)
    # A full 5 working days from the reopening: Oct 8, 9, 10 (调休), 12, 13.
    assert case.due_at.astimezone(TZ) == datetime(2026, 10, 13, 23, 59, 59, tzinfo=TZ)
    assert case_events(session, case)[-1].data["due"] == case.due_at.isoformat()
    # A dissatisfied follow-up reopens too, and restarts the clock the same way.
    apply_action(session, case, "resolve", actor, ActionInput(note="已更换灯泡"), now=reopened)
    rated = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)  # a Monday
    apply_action(session, case, "rate", actor, ActionInput(rating="不满意"), now=rated)
    assert case.status == "in_progress"
    assert case.due_at.astimezone(TZ).date() == date(2026, 12, 7)  # Dec 1-4, 7
