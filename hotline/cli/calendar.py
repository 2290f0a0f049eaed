"""``hotline calendar …``: which days are worked, and whether the days ahead have an official
calendar."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from hotline.casework.workcalendar import calendar_status, date_ranges, get_calendar
from hotline.config import load_settings
from hotline.models import utcnow

MAX_DAYS = 3660


def parse_day(raw: str) -> date:
    """An ISO date ``YYYY-MM-DD``; argparse turns the error into one line and exit status 2."""
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not a date: expected YYYY-MM-DD, e.g. 2027-01-01"
        ) from None


def parse_days(raw: str) -> int:
    """A number of days from 1 to ``MAX_DAYS``."""
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number from 1 to {MAX_DAYS}")
    return int(raw)


def cmd_day(args: argparse.Namespace) -> int:
    """Prints ``DATE workday|holiday SOURCE``."""
    info = get_calendar().day(args.date)
    kind = "workday" if info.working else "holiday"
    print(f"{info.day.isoformat()} {kind} {info.source}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Exits 1, naming the dates, when a day ahead has no official calendar."""
    settings = load_settings()
    start = args.start or utcnow().astimezone(settings.timezone).date()
    days = args.days or settings.calendar_horizon_days
    status = calendar_status(start, days)
    last = date.fromordinal(start.toordinal() + days - 1)
    if status.ok:
        print(f"ok: official calendar for every day {start.isoformat()}..{last.isoformat()}")
        return 0
    if status.error:
        print(f"error: {status.error}")
    if not status.missing:
        return 1
    print(
        f"missing: no official holiday calendar for {len(status.missing)} day(s): "
        f"{', '.join(date_ranges(status.missing))}; deadlines there count Monday-Friday. "
        f"Add the State Council notice to {get_calendar().table_label}."
    )
    return 1


def register(sub: Any) -> None:
    """Adds ``hotline calendar`` to the command line."""
    group = sub.add_parser("calendar", help="official working days (节假日与调休)").add_subparsers(
        dest="calendar_command", required=True
    )
    day = group.add_parser("day", help="print DATE workday|holiday SOURCE")
    day.add_argument("date", type=parse_day, metavar="YYYY-MM-DD")
    day.set_defaults(func=cmd_day)
    check = group.add_parser(
        "check", help="exit 1 when a day ahead has no official calendar, naming the dates"
    )
    check.add_argument(
        "--days",
        type=parse_days,
        default=None,
        metavar="N",
        help="default: HOTLINE_CALENDAR_HORIZON_DAYS",
    )
    check.add_argument("--from", dest="start", type=parse_day, default=None, metavar="YYYY-MM-DD")
    check.set_defaults(func=cmd_check)
