"""A file spool for reports that could not be saved while the case database was down.

Each report is one JSON file named by its idempotency key, written atomically. Flushing
creates the case (idempotently, by that key), tells the resident the case number through the
outbox, and deletes the file only after the transaction committed. Nothing is lost, and a
report is never logged twice.

Who flushes: :class:`SpoolFlusher`, a background thread (every
``HOTLINE_SPOOL_FLUSH_SECONDS``, default 30; 0 turns it off). The console runs one from its
start; any other process (the action server, each of its workers) starts one the first time it
spools a report. ``hotline spool flush`` flushes by hand. Flushers of one spool directory take
turns (a file lock), so they never log a report twice nor trip over each other's files.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import NewCase, create_case
from hotline.casework.messages import RECOVERED, case_logged
from hotline.casework.outbox import enqueue
from hotline.config import load_settings
from hotline.db import transaction
from hotline.errors import StorageUnavailableError, ValidationError
from hotline.models import Case, OutboxMessage

log = logging.getLogger(__name__)

LOCK_NAME = ".flush.lock"


def _path(spool_dir: Path, key: str) -> Path:
    return spool_dir / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")


def spool_report(new: NewCase, spool_dir: Path | None = None) -> Path:
    """Keeps a report on disk until the database is back, when this process's flusher logs it.

    Raises:
        ValueError: When the report has no idempotency key (it could be logged twice).
    """
    if not new.idempotency_key:
        raise ValueError("a spooled report needs an idempotency key")
    settings = load_settings()
    spool_dir = spool_dir or settings.spool_dir
    spool_dir.mkdir(parents=True, exist_ok=True)
    path = _path(spool_dir, new.idempotency_key)
    _write(path, asdict(new))
    ensure_flusher(spool_dir, settings.database_url)
    return path


def _write(path: Path, report: dict[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(path)


def amend_spooled(
    resident_ref: str,
    changes: dict[str, object],
    *,
    urgency: str | None = None,
    spool_dir: Path | None = None,
) -> bool:
    """Changes this resident's newest report still waiting in the spool (of ``urgency``).

    Holds the flush lock, so a flusher never logs the report as it was a moment before.

    Returns:
        False when no such report is waiting (none was spooled, or it is already logged).
    """
    spool_dir = spool_dir or load_settings().spool_dir
    if not spool_dir.is_dir():
        return False
    with _flush_lock(spool_dir, wait=True):
        for path in reversed(pending_reports(spool_dir)):
            try:
                report = json.loads(path.read_text(encoding="utf-8"))
            except (FileNotFoundError, ValueError):
                continue
            if report.get("resident_ref") != resident_ref:
                continue
            if urgency is not None and report.get("urgency") != urgency:
                continue
            spooled_at = path.stat().st_mtime
            _write(path, {**report, **changes})
            os.utime(path, (spooled_at, spooled_at))  # keeps its place in the flushing order
            return True
    return False


def pending_reports(spool_dir: Path | None = None) -> list[Path]:
    """Spooled reports waiting to be logged, oldest first."""
    spool_dir = spool_dir or load_settings().spool_dir
    if not spool_dir.is_dir():
        return []
    dated = []
    for path in spool_dir.glob("*.json"):
        try:
            dated.append((path.stat().st_mtime, path))
        except FileNotFoundError:  # another flusher logged it just now
            continue
    return [path for _, path in sorted(dated)]


@contextmanager
def _flush_lock(spool_dir: Path, wait: bool) -> Iterator[bool]:
    """Holds the spool directory's flush lock (waiting for it, or only if free); yields whether
    this flusher holds it."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    with (spool_dir / LOCK_NAME).open("a") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _notice_queued(session: Session, case: Case) -> bool:
    """Whether the resident was already sent (or queued) the spool's notice for this case."""
    return (
        session.scalar(
            select(OutboxMessage.id)
            .where(OutboxMessage.case_id == case.id)
            .where(OutboxMessage.text.startswith(RECOVERED))
            .limit(1)
        )
        is not None
    )


def flush_spool(
    spool_dir: Path | None = None, database_url: str | None = None, *, wait: bool = True
) -> list[str]:
    """Logs every spooled report whose database is reachable again.

    Args:
        spool_dir: The spool directory (default from the settings).
        database_url: The case database (default from the settings).
        wait: While another flusher of the directory runs, wait for it (else return at once).

    Returns:
        The case numbers created (or found already created) from the spool.
    """
    settings = load_settings()
    spool_dir = spool_dir or settings.spool_dir
    if not pending_reports(spool_dir):
        return []
    with _flush_lock(spool_dir, wait) as mine:
        if not mine:
            return []
        return _flush_locked(spool_dir, database_url)


def _flush_locked(spool_dir: Path, database_url: str | None) -> list[str]:
    settings = load_settings()
    numbers = []
    for path in pending_reports(spool_dir):
        try:
            new = NewCase(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            continue
        except (ValueError, TypeError) as exc:
            log.error("unreadable spool file %s kept for an operator: %s", path.name, exc)
            path.rename(path.with_suffix(".bad"))
            continue
        try:
            with transaction(database_url) as session:
                case, created = create_case(session, new, Actor.system("spool"))
                # Not created here: the failed save had in fact committed (only its answer was
                # lost). The resident was still told to wait for the number, so send it once.
                if new.resident_ref and (created or not _notice_queued(session, case)):
                    notice = case_logged(case, settings.timezone, f"{RECOVERED}。\n")
                    enqueue(session, new.resident_ref, notice, "status", case_id=case.id)
                numbers.append(case.number)
        except StorageUnavailableError:
            log.warning(
                "case database still unavailable; %d report(s) stay spooled",
                len(pending_reports(spool_dir)),
            )
            break
        except ValidationError as exc:
            log.error("spooled report %s is invalid (%s); kept for an operator", path.name, exc)
            path.rename(path.with_suffix(".bad"))
            continue
        path.unlink(missing_ok=True)
    return numbers


def discard_unlogged(
    spool_dir: Path | None = None,
    *,
    residents: Collection[str] | None = None,
    before: float | None = None,
) -> int:
    """Deletes spool files that will never become a case: reports set aside as invalid
    (``.bad``) and half-written ones (``.tmp``), for retention and deletion requests.

    Args:
        spool_dir: The spool directory (default from the settings).
        residents: Only these residents' files.
        before: Only files last changed before this POSIX time.

    Returns:
        How many files were deleted. Reports still waiting (``.json``) are kept: they become
        cases, handled like any other.
    """
    spool_dir = spool_dir or load_settings().spool_dir
    if not spool_dir.is_dir():
        return 0
    deleted = 0
    with _flush_lock(spool_dir, wait=True):
        for path in [*spool_dir.glob("*.bad"), *spool_dir.glob("*.tmp")]:
            try:
                if before is not None and path.stat().st_mtime >= before:
                    continue
                if residents is not None and _resident_of(path) not in residents:
                    continue
                path.unlink()
            except FileNotFoundError:
                continue
            deleted += 1
    return deleted


def _resident_of(path: Path) -> str | None:
    """The resident a spool file belongs to, or None when it cannot be read."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = report.get("resident_ref") if isinstance(report, dict) else None
    return value if isinstance(value, str) else None


class SpoolFlusher:
    """A daemon thread that flushes the spool every few seconds until stopped."""

    def __init__(
        self,
        interval: float | None = None,
        spool_dir: Path | None = None,
        database_url: str | None = None,
        *,
        first_now: bool = True,
    ) -> None:
        """Prepares the thread; nothing runs before :meth:`start`.

        Args:
            interval: Seconds between flushes; default ``HOTLINE_SPOOL_FLUSH_SECONDS`` or 30.
            spool_dir: The spool directory (default: the settings' at each flush).
            database_url: The case database (default: the settings' at each flush).
            first_now: Flush right away at start, else after one interval.
        """
        self.interval = load_settings().spool_flush_seconds if interval is None else interval
        self.spool_dir = spool_dir
        self.database_url = database_url
        self.first_now = first_now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.attempts = 0
        """Flushes tried so far, failed ones included (tests wait on it instead of sleeping)."""

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> SpoolFlusher:
        """Starts flushing; does nothing when the interval is 0 or less."""
        if self.interval > 0 and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="spool-flusher", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the thread, letting a flush in progress finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        if not self.first_now:
            self._stop.wait(self.interval)
        while not self._stop.is_set():
            try:
                numbers = flush_spool(self.spool_dir, self.database_url, wait=False)
                if numbers:
                    log.info("logged %d spooled report(s): %s", len(numbers), ", ".join(numbers))
            except Exception:
                log.exception("flushing the spool failed; trying again in %.0fs", self.interval)
            self.attempts += 1
            self._stop.wait(self.interval)


_process_flusher: tuple[int, SpoolFlusher] | None = None
_process_lock = threading.Lock()


def ensure_flusher(spool_dir: Path, database_url: str) -> SpoolFlusher:
    """Starts this process's flusher once, for the spool it has just written to.

    :func:`spool_report` calls it: a process that keeps a report also logs it once the
    database is back, after one interval. A forked worker starts its own (threads do not
    survive a fork).
    """
    global _process_flusher
    with _process_lock:
        if _process_flusher is None or _process_flusher[0] != os.getpid():
            flusher = SpoolFlusher(spool_dir=spool_dir, database_url=database_url, first_now=False)
            _process_flusher = (os.getpid(), flusher.start())
        return _process_flusher[1]
