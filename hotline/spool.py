"""A file spool for reports that could not be saved while the case database was down.

Each report is one JSON file named by its idempotency key, written atomically. Flushing
creates the case (idempotently, by that key), tells the resident the case number through the
outbox, and deletes the file only after the transaction committed. Nothing is lost, and a
report is never logged twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

from hotline.actors import Actor
from hotline.cases import NewCase, create_case
from hotline.config import load_settings
from hotline.db import transaction
from hotline.errors import StorageUnavailableError, ValidationError
from hotline.messages import format_local
from hotline.outbox import enqueue

log = logging.getLogger(__name__)


def _path(spool_dir: Path, key: str) -> Path:
    return spool_dir / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")


def spool_report(new: NewCase, spool_dir: Path | None = None) -> Path:
    """Keeps a report on disk until the database is back.

    Raises:
        ValueError: When the report has no idempotency key (it could be logged twice).
    """
    if not new.idempotency_key:
        raise ValueError("a spooled report needs an idempotency key")
    spool_dir = spool_dir or load_settings().spool_dir
    spool_dir.mkdir(parents=True, exist_ok=True)
    path = _path(spool_dir, new.idempotency_key)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(new), ensure_ascii=False), encoding="utf-8")
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(path)
    return path


def pending_reports(spool_dir: Path | None = None) -> list[Path]:
    """Spooled reports waiting to be logged, oldest first."""
    spool_dir = spool_dir or load_settings().spool_dir
    if not spool_dir.is_dir():
        return []
    return sorted(spool_dir.glob("*.json"), key=lambda p: p.stat().st_mtime)


def flush_spool(spool_dir: Path | None = None, database_url: str | None = None) -> list[str]:
    """Logs every spooled report whose database is reachable again.

    Returns:
        The case numbers created (or found already created) from the spool.
    """
    settings = load_settings()
    numbers = []
    for path in pending_reports(spool_dir):
        try:
            new = NewCase(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            log.error("unreadable spool file %s kept for an operator: %s", path.name, exc)
            path.rename(path.with_suffix(".bad"))
            continue
        try:
            with transaction(database_url) as session:
                case, created = create_case(session, new, Actor.system("spool"))
                if created and new.resident_ref:
                    enqueue(
                        session,
                        new.resident_ref,
                        f"系统已恢复，您之前反映的问题已登记，工单编号 {case.number}，"
                        f"承办单位：{case.department}，办理时限："
                        f"{format_local(case.due_at, settings.timezone, with_time=False)}。",
                        "status",
                        case_id=case.id,
                    )
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
