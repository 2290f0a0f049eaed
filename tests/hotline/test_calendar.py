"""The official calendar table (data/holidays.yml), its sources, and `hotline calendar`."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from hotline.casework.sla import add_working_days
from hotline.casework.workcalendar import get_calendar, load_table
from hotline.errors import ValidationError

HOTLINE = str(Path(sys.executable).parent / "hotline")
TABLE = "data/holidays.yml"


def write_table(path: Path, body: str) -> Path:
    """Writes a holiday table file and returns its path."""
    path.write_text("years:\n" + body, encoding="utf-8")
    return path


@pytest.fixture()
def fixture_2027(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A table with a made-up 2027 entry (NOT the official notice): Jan 1-4 off, Sunday Jan 10
    worked."""
    path = write_table(
        tmp_path / "holidays.yml",
        "  2027:\n"
        "    notice: test fixture, not the official notice\n"
        "    holidays: [2027-01-01, 2027-01-02, 2027-01-03, 2027-01-04]\n"
        "    workdays: [2027-01-10]\n",
    )
    monkeypatch.setenv("HOTLINE_HOLIDAYS", str(path))
    return path


def test_the_maintained_table_answers_2026_with_its_adjusted_days() -> None:
    calendar = get_calendar()
    sat = calendar.day(date(2026, 10, 10))  # 调休 Saturday after National Day
    assert (sat.working, sat.source) == (True, TABLE)
    spring = calendar.day(date(2026, 2, 23))  # a Monday inside the Spring Festival
    assert (spring.working, spring.source) == (False, TABLE)
    assert calendar.day(date(2026, 2, 14)).working  # 调休 Saturday before it


def test_years_missing_from_the_table_fall_to_the_package_then_the_weekend_rule() -> None:
    calendar = get_calendar()
    assert calendar.day(date(2025, 10, 8)).source == "chinese-calendar"
    new_year_2027 = calendar.day(date(2027, 1, 1))  # 2027 is null: no notice copied yet
    assert (new_year_2027.working, new_year_2027.official) == (True, False)
    assert new_year_2027.source == "weekend-rule"


def test_a_table_entry_overrides_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    path = write_table(
        tmp_path / "h.yml",
        "  2025:\n    notice: test fixture\n    holidays: [2025-10-09]\n    workdays: []\n",
    )
    monkeypatch.setenv("HOTLINE_HOLIDAYS", str(path))
    calendar = get_calendar()
    # The package says 2025-10-08 is a National Day holiday; this table does not.
    assert calendar.day(date(2025, 10, 8)).working
    assert not calendar.day(date(2025, 10, 9)).working
    assert calendar.day(date(2025, 10, 9)).source == str(path)


def test_deadline_across_the_year_end_follows_the_2027_table(fixture_2027: Path) -> None:
    # Mon 2026-12-28 + 5 working days: Dec 29, 30, 31, then (Jan 1-4 off) Jan 5, 6.
    assert add_working_days(date(2026, 12, 28), 5) == date(2027, 1, 6)
    # Sunday Jan 10 is a working day in this table.
    assert add_working_days(date(2027, 1, 8), 1) == date(2027, 1, 10)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("  2027:\n    holidays: [2027-01-01]\n", "names no notice"),
        ("  2027:\n    notice: x\n    holidays: [2026-12-31]\n", "not in 2027"),
        ("  2027:\n    notice: x\n    workdays: [2027-01-04]\n", "is a weekday"),
        (
            "  2027:\n    notice: x\n    holidays: [2027-01-01]\n    workdays: [2027-01-01]\n",
            "listed as holiday",
        ),
        ("  2027:\n    notice: x\n    holidays: [1月1日]\n", "not a YYYY-MM-DD"),
        ("  twenty: null\n", "not a year"),
    ],
)
def test_malformed_tables_are_refused_naming_the_fault(
    tmp_path: Path, body: str, words: str
) -> None:
    path = write_table(tmp_path / "bad.yml", body)
    with pytest.raises(ValidationError) as err:
        load_table(path)
    assert words in str(err.value) and "bad.yml" in str(err.value)


def run(env_table: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    """Runs the hotline command line."""
    import os

    env = dict(os.environ)
    if env_table is not None:
        env["HOTLINE_HOLIDAYS"] = str(env_table)
    return subprocess.run(
        [HOTLINE, "calendar", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_calendar_day_prints_the_answer_and_its_source() -> None:
    assert run(None, "day", "2026-10-10").stdout == "2026-10-10 workday data/holidays.yml\n"
    assert run(None, "day", "2026-10-11").stdout == "2026-10-11 holiday data/holidays.yml\n"
    assert run(None, "day", "2025-10-08").stdout == "2025-10-08 holiday chinese-calendar\n"
    assert run(None, "day", "2027-01-01").stdout == "2027-01-01 workday weekend-rule\n"


@pytest.mark.parametrize("bad", ["2027-13-01", "2027-02-30", "tomorrow", "2027/01/01", ""])
def test_calendar_day_bad_input_is_one_clear_line_and_exit_2(bad: str) -> None:
    result = run(None, "day", bad)
    assert result.returncode == 2 and result.stdout == ""
    assert f"{bad!r} is not a date: expected YYYY-MM-DD" in result.stderr
    assert "Traceback" not in result.stderr


def test_calendar_check_names_the_days_without_an_official_calendar() -> None:
    result = run(None, "check", "--days", "40", "--from", "2026-12-01")
    assert result.returncode == 1
    assert "2027-01-01..2027-01-09" in result.stdout and "9 day(s)" in result.stdout
    ok = run(None, "check", "--days", "31", "--from", "2026-12-01")
    assert ok.returncode == 0 and ok.stdout.startswith("ok:")
    for bad in ("0", "-3", "x", "99999"):
        refused = run(None, "check", "--days", bad)
        assert refused.returncode == 2 and "--days" in refused.stderr


def test_calendar_check_passes_once_the_year_is_in_the_table(fixture_2027: Path) -> None:
    result = run(fixture_2027, "check", "--days", "40", "--from", "2026-12-01")
    # 2026 now falls to the package (not in this table), 2027 to the table: all official.
    assert result.returncode == 0, result.stdout


def test_a_broken_table_never_stops_a_deadline_and_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from hotline.casework.catalogue import get_catalogue
    from hotline.casework.sla import compute_due
    from hotline.casework.vocab import CaseType, Urgency
    from hotline.casework.workcalendar import calendar_status

    broken = write_table(tmp_path / "broken.yml", "  2026:\n    holidays: [2026-10-01]\n")
    for path in (broken, tmp_path / "missing.yml"):
        monkeypatch.setenv("HOTLINE_HOLIDAYS", str(path))
        tz = ZoneInfo("Asia/Shanghai")
        created = datetime(2026, 9, 30, 10, 0, tzinfo=tz)
        due = compute_due(
            created, get_catalogue().get("city_management"), CaseType.HELP, Urgency.NORMAL, tz
        )
        assert due.astimezone(tz).date() == date(2026, 10, 13)  # chinese-calendar answered
        status = calendar_status(date(2026, 11, 1), 10)
        assert not status.ok and status.error and path.name in status.error
        result = run(path, "check", "--days", "10", "--from", "2026-11-01")
        assert result.returncode == 1, result.stdout
        assert result.stdout.startswith("error: ") and "unusable" in result.stdout
