"""The official working-day calendar: holidays, 调休 working days, and which source answered.

Three sources answer, in this order:

1. ``data/holidays.yml`` (``HOTLINE_HOLIDAYS``): the maintained table of the State Council's
   annual notice (国务院办公厅关于……年部分节假日安排的通知). A year listed there overrides
   the package; a year listed with ``null`` is known to be missing.
2. The ``chinese-calendar`` package, for the years it ships.
3. The weekend rule (Monday–Friday): not official. Deadlines counted with it may be wrong, so
   ``hotline calendar check``, ``/healthz`` and the supervisor dashboard report such days.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml

from hotline.config import PROJECT_ROOT, load_settings
from hotline.errors import ValidationError

log = logging.getLogger(__name__)

SOURCE_PACKAGE = "chinese-calendar"
SOURCE_WEEKEND = "weekend-rule"
SATURDAY = 5


@dataclass(frozen=True)
class YearTable:
    """One year of the official notice.

    Attributes:
        year: The calendar year.
        notice: The notice it was copied from (document number or title).
        holidays: Days off, weekend days inside a holiday block included.
        workdays: Weekend days made working days (调休).
    """

    year: int
    notice: str
    holidays: frozenset[date]
    workdays: frozenset[date]


@dataclass(frozen=True)
class DayInfo:
    """Whether a day is worked, and which source said so."""

    day: date
    working: bool
    source: str

    @property
    def official(self) -> bool:
        """Whether an official calendar answered (not the weekend rule)."""
        return self.source != SOURCE_WEEKEND


def _dates(raw: Any, year: int, field: str, label: str) -> frozenset[date]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise ValidationError(field, f"{label}: {year}.{field} must be a list of dates")
    days = set()
    for item in raw:
        if not isinstance(item, date):
            raise ValidationError(
                field, f"{label}: {year}.{field}: {item!r} is not a YYYY-MM-DD date"
            )
        if item.year != year:
            raise ValidationError(field, f"{label}: {year}.{field}: {item} is not in {year}")
        days.add(item)
    return frozenset(days)


def _year_table(year: int, raw: dict[str, Any], label: str) -> YearTable:
    notice = str(raw.get("notice") or "").strip()
    if not notice:
        raise ValidationError("notice", f"{label}: {year} names no notice")
    holidays = _dates(raw.get("holidays"), year, "holidays", label)
    workdays = _dates(raw.get("workdays"), year, "workdays", label)
    if holidays & workdays:
        both = ", ".join(sorted(d.isoformat() for d in holidays & workdays))
        raise ValidationError("workdays", f"{label}: {both} listed as holiday and working day")
    weekdays = [d for d in workdays if d.weekday() < SATURDAY]
    if weekdays:
        raise ValidationError(
            "workdays", f"{label}: {weekdays[0]} is a weekday; 调休 workdays are weekend days"
        )
    return YearTable(year, notice, holidays, workdays)


def load_table(path: Path) -> dict[int, YearTable | None]:
    """Reads the holiday table; a year mapped to None has no official notice yet.

    Raises:
        ValidationError: The file is malformed; the message names the year and field.
    """
    label = display_path(path)
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    years = data.get("years") if isinstance(data, dict) else None
    if not isinstance(years, dict):
        raise ValidationError("years", f"{label}: expected a mapping 'years: {{YYYY: …}}'")
    table: dict[int, YearTable | None] = {}
    for key, raw in years.items():
        if not isinstance(key, int) or not 1949 < key < 2200:
            raise ValidationError("years", f"{label}: {key!r} is not a year")
        if raw is None:
            table[key] = None
        elif isinstance(raw, dict):
            table[key] = _year_table(key, raw, label)
        else:
            raise ValidationError("years", f"{label}: {key} must be a mapping or null")
    return table


def display_path(path: Path) -> str:
    """The path relative to the project when inside it (``data/holidays.yml``)."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


class WorkCalendar:
    """Answers whether a day is worked, from the table, the package, then the weekend rule."""

    def __init__(
        self, table: dict[int, YearTable | None], table_label: str, error: str | None = None
    ) -> None:
        """A calendar over ``table``; ``error`` says why the table file could not be used."""
        self.table = table
        self.table_label = table_label
        self.error = error
        self._warned: set[int] = set()

    def day(self, day: date) -> DayInfo:
        """Whether ``day`` is a working day, and the source of the answer."""
        year = self.table.get(day.year)
        if year is not None:
            if day in year.holidays:
                return DayInfo(day, False, self.table_label)
            if day in year.workdays:
                return DayInfo(day, True, self.table_label)
            return DayInfo(day, day.weekday() < SATURDAY, self.table_label)
        if day.year not in self.table:  # a year marked null skips the package on purpose
            try:
                return DayInfo(day, bool(chinese_calendar.is_workday(day)), SOURCE_PACKAGE)
            except NotImplementedError:
                pass
        if day.year not in self._warned:
            self._warned.add(day.year)
            log.warning("no official holiday calendar for %s; counting Monday-Friday", day.year)
        return DayInfo(day, day.weekday() < SATURDAY, SOURCE_WEEKEND)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is an official working day, 调休 weekends included."""
        return self.day(day).working

    def missing(self, start: date, days: int) -> list[date]:
        """The days from ``start`` (included) over ``days`` days that no official calendar knows."""
        span = (start + timedelta(days=i) for i in range(days))
        return [d for d in span if not self.day(d).official]


def date_ranges(days: list[date]) -> list[str]:
    """Consecutive dates folded into ``first..last`` ranges, for messages."""
    ranges: list[list[date]] = []
    for day in sorted(days):
        if ranges and day - ranges[-1][1] == timedelta(days=1):
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    return [a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}" for a, b in ranges]


@lru_cache(maxsize=4)
def _calendar_for(path: Path, mtime: float) -> WorkCalendar:
    label = display_path(path)
    try:
        return WorkCalendar(load_table(path), label)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        # Deadlines must still be computed (a resident's report is never refused for this):
        # the package and the weekend rule answer, and every check reports the broken table.
        error = f"{label} unusable: {exc}"
        log.error("%s; using chinese-calendar and the weekend rule", error)
        return WorkCalendar({}, label, error=" ".join(error.split()))


def get_calendar(path: Path | None = None) -> WorkCalendar:
    """The calendar for the configured table (reloaded when the file changes).

    A missing or malformed table never stops a deadline from being computed: the calendar then
    has ``error`` set, and ``hotline calendar check``, ``/healthz`` and the dashboard report it.
    """
    path = path or load_settings().holidays_path
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = -1.0
    return _calendar_for(path, mtime)


@dataclass(frozen=True)
class CalendarStatus:
    """What ``/healthz`` and the dashboard report about the days ahead."""

    start: date
    days: int
    missing: list[date]
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the table is usable and every day in the horizon has an official calendar."""
        return not self.missing and self.error is None

    def ranges(self) -> list[str]:
        """The missing days as ``first..last`` ranges."""
        return date_ranges(self.missing)

    def message(self) -> str:
        """One line naming the broken table or the days without an official calendar."""
        parts = [self.error] if self.error else []
        if self.missing:
            parts.append(
                f"no official holiday calendar for {', '.join(self.ranges())}: deadlines "
                "there count Monday-Friday; add the State Council notice to data/holidays.yml"
            )
        return "; ".join(parts)

    def as_json(self) -> dict[str, Any]:
        """The status for ``/healthz``."""
        return {
            "ok": self.ok,
            "horizon_days": self.days,
            "missing": self.ranges(),
            "error": self.error,
        }


def calendar_status(today: date, days: int | None = None) -> CalendarStatus:
    """Checks the next ``days`` days (the configured horizon by default) from ``today``."""
    horizon = days if days is not None else load_settings().calendar_horizon_days
    calendar = get_calendar()
    return CalendarStatus(today, horizon, calendar.missing(today, horizon), calendar.error)
