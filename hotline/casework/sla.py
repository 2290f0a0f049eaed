"""Deadlines (SLA): working days from the official calendar, hours for raised urgency."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hotline.casework.catalogue import Category
from hotline.casework.vocab import CaseType, Urgency
from hotline.casework.workcalendar import get_calendar


def is_working_day(day: date) -> bool:
    """Whether the day is an official working day, 调休 weekends included.

    ``data/holidays.yml`` answers first, then the ``chinese-calendar`` package; years neither
    knows fall back to Monday–Friday with a warning (see ``hotline.casework.workcalendar``).
    """
    return get_calendar().is_working_day(day)


def add_working_days(start: date, days: int) -> date:
    """Returns the date of the ``days``-th working day after ``start`` (not counting it)."""
    current = start
    counted = 0
    while counted < days:
        current += timedelta(days=1)
        if is_working_day(current):
            counted += 1
    return current


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The last second of a local day, in UTC."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=tz).astimezone(UTC)


def compute_due(
    created_at: datetime,
    category: Category,
    case_type: CaseType,
    urgency: Urgency,
    tz: ZoneInfo,
) -> datetime:
    """Computes a case's deadline.

    Normal cases get the category's working days for their type, ending at the close of the
    last working day (local time). Urgent and emergency cases get the category's hours on the
    clock from ``created_at``.

    Args:
        created_at: When the clock starts (aware datetime).
        category: The case's category.
        case_type: The case type.
        urgency: The urgency.
        tz: The hotline's local time zone.

    Returns:
        The deadline as an aware UTC datetime.
    """
    if urgency is not Urgency.NORMAL:
        hours = category.time_limits.hours[urgency]
        return (created_at + timedelta(hours=hours)).astimezone(UTC)
    days = category.time_limits.working_days[case_type]
    local_day = created_at.astimezone(tz).date()
    return end_of_day(add_working_days(local_day, days), tz)


def extend_due(due_at: datetime, working_days: int, tz: ZoneInfo) -> datetime:
    """Moves a deadline on by ``working_days`` working days (an extension, 延期)."""
    return end_of_day(add_working_days(due_at.astimezone(tz).date(), working_days), tz)
