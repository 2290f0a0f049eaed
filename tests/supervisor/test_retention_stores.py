"""After /forget or the retention run, a resident's phone, name and words are in no store.

A report with a unique phone, name and wording is written where the product writes it: the
case database (through the core), Rasa's tracker store (by Rasa's own ``SQLTrackerStore``,
patched as ``python -m rasa_runtime`` runs it, in a Rasa process that stays up with its
connections open, as the server does), stored messages, a photo not linked to a case, a
message about no case and a report the spool set aside. The case is closed, the deletion is
carried out with ``hotline retention forget ID`` (or ``hotline retention run`` after the
retention period), and then every file under the var directory is read as bytes (SQLite
databases with their ``-wal`` and ``-shm`` files, media, spool), and every row of every table
of the PostgreSQL databases is read as text: none may hold the phone, the name or the words.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.db import dispose_engines
from hotline.models import utcnow
from tests.stores import RasaWriter, files_holding, new_resident, plant, rows_holding


def cli(*args: str) -> None:
    """Runs ``hotline …`` in this process; fails on a non-zero exit."""
    assert main(list(args)) == 0, args


def carry_out(how: str, request_id: int) -> None:
    """Carries out the deletion: ``forget`` the request, or ``run`` the retention."""
    if how == "forget":
        cli("retention", "forget", str(request_id))
    else:
        cli("retention", "run", "--days", "365")


@pytest.mark.parametrize("how", ["forget", "retention"])
def test_nothing_of_the_resident_is_left_in_sqlite_stores(
    how: str, db_url: str, var_dir: Path, sqlite_tracker: dict[str, object]
) -> None:
    resident = new_resident()
    when = utcnow() - timedelta(days=400 if how == "retention" else 3)
    _, request_id = plant(resident, var_dir, when)
    rasa = RasaWriter(sqlite_tracker, resident, when.timestamp())
    try:
        planted = files_holding(var_dir, resident)
        # The search finds every secret where the product put it before the deletion.
        for expected in ("phone", "name (json)", "words (json)"):
            assert any(f.startswith("rasa_tracker.db") and f.endswith(expected) for f in planted), (
                planted
            )
        assert any(f.startswith("hotline.db") and f.endswith(": phone") for f in planted)
        assert any(f.startswith("media") for f in planted), planted
        assert any(f.startswith("spool") for f in planted), planted

        carry_out(how, request_id)
        dispose_engines()
        assert files_holding(var_dir, resident) == []
        # Rasa, still running, finds no conversation for the resident, and the rest intact.
        assert rasa.read_back() == {"mine": None, "theirs": 1}
    finally:
        rasa.stop()
    assert files_holding(var_dir, resident) == []


@pytest.mark.parametrize("how", ["forget", "retention"])
def test_nothing_of_the_resident_is_left_in_postgresql_stores(
    how: str,
    pg_url: str,
    var_dir: Path,
    pg_tracker: tuple[dict[str, object], str],
) -> None:
    store, tracker_url = pg_tracker
    resident = new_resident()
    when = utcnow() - timedelta(days=400 if how == "retention" else 3)
    _, request_id = plant(resident, var_dir, when)
    rasa = RasaWriter(store, resident, when.timestamp())
    try:
        planted = rows_holding(tracker_url, resident)
        assert {"events.data: phone", "events.data: words (json)"} <= set(planted), planted
        planted = rows_holding(pg_url, resident)
        assert {"cases.phone: phone", "cases.description: words"} <= set(planted), planted
        carry_out(how, request_id)
        assert rows_holding(tracker_url, resident) == []
        assert rows_holding(pg_url, resident) == []
        assert files_holding(var_dir, resident) == []
        assert rasa.read_back() == {"mine": None, "theirs": 1}
    finally:
        rasa.stop()
