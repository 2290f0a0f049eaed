"""Reporting periods: whole local days (the hotline's time zone), as UTC bounds for queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hotline.errors import ValidationError

MAX_PERIOD_DAYS = 366
PERIOD_KINDS = {"today": "今天", "7d": "近 7 天", "30d": "近 30 天", "custom": "自定义"}
"""The dashboard's period choices and their Chinese labels."""


@dataclass(frozen=True)
class Period:
    """Whole local days from ``first`` to ``last``, both included.

    Attributes:
        first: The first local day.
        last: The last local day (inclusive).
        tz: The hotline's time zone, in which the days are counted.
    """

    first: date
    last: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        """The first instant of the period, in UTC."""
        return start_of_day(self.first, self.tz)

    @property
    def end(self) -> datetime:
        """The first instant after the period, in UTC (exclusive bound)."""
        return start_of_day(self.last + timedelta(days=1), self.tz)

    @property
    def days(self) -> list[date]:
        """Every local day of the period, in order."""
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    @property
    def label(self) -> str:
        """The period as operators read it: ``2026-11-01 至 2026-11-30`` or one day."""
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()} 至 {self.last.isoformat()}"

    def contains(self, moment: datetime | None) -> bool:
        """Whether an aware instant falls inside the period."""
        return moment is not None and self.start <= moment < self.end

    def local_day(self, moment: datetime) -> date:
        """The local day of an aware instant."""
        return moment.astimezone(self.tz).date()


def start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight at the start of ``day``, in UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def last_days(count: int, today: date, tz: ZoneInfo) -> Period:
    """The ``count`` days ending with ``today`` (``count=1`` is today alone)."""
    return Period(today - timedelta(days=count - 1), today, tz)


def month_period(year: int, month: int, tz: ZoneInfo) -> Period:
    """A calendar month."""
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return Period(first, following - timedelta(days=1), tz)


def parse_day(text: str, field: str) -> date:
    """Reads ``YYYY-MM-DD``.

    Raises:
        ValidationError: When the text is not such a date.
    """
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValidationError(field, f"日期格式应为 YYYY-MM-DD，收到「{text[:20]}」") from exc


def parse_month(text: str, today: date) -> tuple[int, int]:
    """Reads ``YYYY-MM`` (empty: the month before ``today``).

    Raises:
        ValidationError: For another format or an impossible month.
    """
    cleaned = (text or "").strip()
    if not cleaned:
        previous = today.replace(day=1) - timedelta(days=1)
        return previous.year, previous.month
    parts = cleaned.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValidationError("month", f"月份格式应为 YYYY-MM，收到「{cleaned[:20]}」")
    year, month = int(parts[0]), int(parts[1])
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise ValidationError("month", f"月份「{cleaned}」不存在")
    return year, month


def parse_period(
    kind: str, first_text: str, last_text: str, today: date, tz: ZoneInfo
) -> tuple[str, Period]:
    """Reads the dashboard's period choice.

    Args:
        kind: ``today``, ``7d``, ``30d`` or ``custom`` (empty: ``7d``, or ``custom`` when
            dates are given).
        first_text: The first day of a custom period (``YYYY-MM-DD``).
        last_text: The last day of a custom period (empty: ``today``).
        today: The current local day.
        tz: The hotline's time zone.

    Returns:
        The kind, and the period.

    Raises:
        ValidationError: For an unknown kind, a bad date, an inverted or too long range.
    """
    kind = (kind or "").strip() or ("custom" if (first_text or "").strip() else "7d")
    if kind not in PERIOD_KINDS:
        raise ValidationError("period", "时间范围只能是今天、近 7 天、近 30 天或自定义")
    if kind == "today":
        return kind, last_days(1, today, tz)
    if kind in ("7d", "30d"):
        return kind, last_days(int(kind[:-1]), today, tz)
    if not (first_text or "").strip():
        raise ValidationError("from", "自定义时间范围需要开始日期")
    first = parse_day(first_text, "from")
    last = parse_day(last_text, "to") if (last_text or "").strip() else today
    if last < first:
        raise ValidationError("to", "结束日期不能早于开始日期")
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationError("to", f"时间范围最长 {MAX_PERIOD_DAYS} 天")
    return kind, Period(first, last, tz)
