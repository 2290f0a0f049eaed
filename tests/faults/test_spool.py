"""The spool under faults: a save whose answer was lost, a flush that died before deleting its
file, two flushers at once, and the periodic flushers of the console and the action server."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.casework import spool
from hotline.casework.actors import Actor
from hotline.casework.cases import NewCase, create_case
from hotline.casework.spool import SpoolFlusher, flush_spool, pending_reports, spool_report
from hotline.config import ConfigError
from hotline.db import transaction
from hotline.models import Case, OutboxMessage

SENDER = "web:spool-resident"
REAL_ENSURE_FLUSHER = spool.ensure_flusher


def report(n: int = 0, sender: str = SENDER) -> NewCase:
    """A confirmed report as the action server would spool it."""
    return NewCase(
        category="city_management",
        description=f"路灯坏了（{n}）",
        phone="13812345678",
        location="幸福小区3栋门口",
        channel="web",
        resident_ref=sender,
        idempotency_key=f"{sender}:report:{1_700_000_000 + n}",
    )


def numbers_and_notices(url: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Every case number, and every outbox (recipient, text)."""
    with transaction(url) as session:
        numbers = list(session.scalars(select(Case.number).order_by(Case.id)))
        notices = [
            (row.recipient, row.text)
            for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]
    return numbers, notices


@pytest.fixture(autouse=True)
def no_process_flusher(monkeypatch: pytest.MonkeyPatch) -> None:
    """spool_report starts no background flusher unless a test asks for one."""
    monkeypatch.setattr(spool, "ensure_flusher", lambda *_args: None)


def test_save_that_committed_but_lost_its_answer_still_tells_the_number(any_db_url: str) -> None:
    # The action's transaction committed, but the connection died before the commit was
    # acknowledged: the action spooled the report and told the resident to wait for the number.
    with transaction(any_db_url) as session:
        create_case(session, report(), Actor.resident(SENDER))
    spool_report(report())

    assert flush_spool(database_url=any_db_url) != []
    numbers, notices = numbers_and_notices(any_db_url)
    assert len(numbers) == 1
    assert [(r, numbers[0] in t) for r, t in notices] == [(SENDER, True)]
    assert pending_reports() == []


def test_flush_that_died_before_deleting_its_file_sends_no_second_notice(
    any_db_url: str, var_dir: Path
) -> None:
    path = spool_report(report())
    kept = var_dir / "kept.json"
    shutil.copy(path, kept)
    flush_spool(database_url=any_db_url)
    shutil.copy(kept, path)  # as if the process died between the commit and the unlink

    flush_spool(database_url=any_db_url)
    numbers, notices = numbers_and_notices(any_db_url)
    assert len(numbers) == 1 and len(notices) == 1
    assert pending_reports() == []


def test_two_flushers_at_once_log_each_report_once(any_db_url: str) -> None:
    for n in range(12):
        spool_report(report(n, sender=f"web:spool-{n}"))
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def flusher(wait: bool) -> Callable[[], None]:
        def run() -> None:
            barrier.wait()
            try:
                flush_spool(database_url=any_db_url, wait=wait)
            except BaseException as exc:
                errors.append(exc)

        return run

    threads = [threading.Thread(target=flusher(w)) for w in (True, True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    numbers, notices = numbers_and_notices(any_db_url)
    assert len(numbers) == len(set(numbers)) == 12
    assert sorted(r for r, _ in notices) == sorted(f"web:spool-{n}" for n in range(12))
    assert pending_reports() == []


def test_flush_tolerates_a_file_removed_under_it(
    db_url: str, var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = spool_report(report(1)), spool_report(report(2))
    real = spool.pending_reports

    def racing(spool_dir: Path | None = None) -> list[Path]:
        found = real(spool_dir)
        second.unlink(missing_ok=True)  # another machine's flusher got there first
        return found

    monkeypatch.setattr(spool, "pending_reports", racing)
    assert len(flush_spool(database_url=db_url)) == 1
    assert not first.exists()


def _until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_background_flusher_logs_once_the_database_is_back(
    db_url: str, var_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the flushers started here may touch this spool: not the process-wide one that
    # spool_report starts (it would log the report into db_url at once).
    monkeypatch.setattr(spool, "ensure_flusher", lambda *args, **kwargs: None)
    down = tmp_path / "no-database-here"
    down.mkdir()
    flusher = SpoolFlusher(0.1, database_url=f"sqlite:///{down}").start()
    try:
        spool_report(report())
        # Two more tries: at least one of them began after the report was spooled.
        tried = flusher.attempts
        _until(lambda: flusher.attempts >= tried + 2)
        assert len(pending_reports()) == 1  # tried, kept
    finally:
        flusher.stop()
    flusher = SpoolFlusher(0.1, database_url=db_url).start()
    try:
        _until(lambda: pending_reports() == [])
    finally:
        flusher.stop()
    assert not flusher.running
    assert len(numbers_and_notices(db_url)[0]) == 1


def test_flusher_is_off_with_a_zero_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_SPOOL_FLUSH_SECONDS", "0")
    flusher = SpoolFlusher().start()
    assert not flusher.running
    monkeypatch.delenv("HOTLINE_SPOOL_FLUSH_SECONDS")
    assert SpoolFlusher().interval == 30
    monkeypatch.setenv("HOTLINE_SPOOL_FLUSH_SECONDS", "soon")
    with pytest.raises(ConfigError, match="HOTLINE_SPOOL_FLUSH_SECONDS"):
        SpoolFlusher()


def test_a_process_that_spools_starts_its_own_flusher(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool, "ensure_flusher", REAL_ENSURE_FLUSHER)
    monkeypatch.setenv("HOTLINE_SPOOL_FLUSH_SECONDS", "0.1")
    monkeypatch.setattr(spool, "_process_flusher", None)
    spool_report(report())
    started = spool._process_flusher
    assert started is not None
    try:
        _until(lambda: pending_reports() == [])
        spool_report(report(2))
        assert spool._process_flusher is started  # one per process
        _until(lambda: pending_reports() == [])
    finally:
        started[1].stop()
    assert len(numbers_and_notices(db_url)[0]) == 2


def test_the_console_flushes_from_its_start(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from console.app import create_app

    monkeypatch.setenv("HOTLINE_SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
    spool_report(report())
    with TestClient(create_app()):
        _until(lambda: pending_reports() == [])
    numbers, notices = numbers_and_notices(db_url)
    assert len(numbers) == 1 and numbers[0] in notices[0][1]


def test_a_late_detail_joins_the_spooled_report_or_says_it_is_gone(db_url: str) -> None:
    from dataclasses import replace

    from hotline.casework.spool import amend_spooled

    spool_report(replace(report(1), location="", urgency="emergency"))
    spool_report(report(2, sender="web:someone-else"))
    assert not amend_spooled(SENDER, {"location": "x"}, urgency="normal")  # not that report
    assert amend_spooled(SENDER, {"location": "幸福小区3栋"}, urgency="emergency")

    flush_spool(database_url=db_url)
    with transaction(db_url) as session:
        rows = session.execute(select(Case.resident_ref, Case.location).order_by(Case.id)).all()
    assert sorted(tuple(r) for r in rows) == [
        ("web:someone-else", "幸福小区3栋门口"),
        (SENDER, "幸福小区3栋"),
    ]
    # Logged now: nothing waits in the spool to be amended.
    assert not amend_spooled(SENDER, {"location": "另一处"}, urgency="emergency")
