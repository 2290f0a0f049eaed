"""Deadlines across the official holiday calendar."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from hotline.catalogue import get_catalogue
from hotline.sla import add_working_days, compute_due, extend_due, is_working_day
from hotline.vocab import CaseType, Urgency

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
    created = datetime(2026, 10, 1, 22, 30, tzinfo=timezone.utc)
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
