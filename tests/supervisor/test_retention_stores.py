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

import os
from datetime import timedelta
from pathlib import Path

import pytest

from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, NewCase, apply_action, create_case, get_case
from hotline.channels.handoff import IN, record_message
from hotline.cli import main
from hotline.db import dispose_engines, transaction
from hotline.models import DataRequest, utcnow
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
    if how == "retention":
        # A photo whose transaction failed after the file was written: no row names it.
        orphan = var_dir / "media" / "2025" / "orphan.jpg"
        orphan.write_bytes(b"\xff\xd8\xff\xe0" + resident.phone.encode() + b"\xff\xd9")
        os.utime(orphan, (when.timestamp(), when.timestamp()))
    rasa = RasaWriter(sqlite_tracker, resident, when.timestamp())
    try:
        planted = files_holding(var_dir, resident)
        # The search finds every secret where the product put it before the deletion.
        for expected in ("phone", "name (json)", "words (json)", "words (vector)"):
            assert any(f.startswith("rasa_tracker.db") and f.endswith(expected) for f in planted), (
                planted
            )
        assert any(f.startswith("hotline.db") and f.endswith(": phone") for f in planted)
        assert any(f.startswith("media") for f in planted), planted
        assert any(f.startswith("spool") for f in planted), planted
        if how == "retention":  # a dry run deletes nothing
            cli("retention", "run", "--days", "365", "--dry-run")
            dispose_engines()

            # (closing the connections moves pages from the WALs into the databases)
            def kept(found: list[str]) -> set[str]:
                return {f.replace("-wal:", ":").replace("-shm:", ":") for f in found}

            assert kept(files_holding(var_dir, resident)) == kept(planted)

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
        assert {
            "events.data: phone",
            "events.data: words (json)",
            "events.data: words (vector)",
        } <= set(planted), planted
        planted = rows_holding(pg_url, resident)
        assert {"cases.phone: phone", "cases.description: words"} <= set(planted), planted
        carry_out(how, request_id)
        assert rows_holding(tracker_url, resident) == []
        assert rows_holding(pg_url, resident) == []
        assert files_holding(var_dir, resident) == []
        assert rasa.read_back() == {"mine": None, "theirs": 1}
    finally:
        rasa.stop()


def test_an_open_case_keeps_its_conversation_without_numbers_until_retention(
    db_url: str, var_dir: Path, sqlite_tracker: dict[str, object]
) -> None:
    """/forget while a case is still open: numbers go at once, everything once it is closed
    and anonymised."""
    resident = new_resident()
    when = utcnow() - timedelta(days=400)
    number, request_id = plant(resident, var_dir, when, close=False)
    rasa = RasaWriter(sqlite_tracker, resident, when.timestamp())
    try:
        cli("retention", "forget", str(request_id))
        dispose_engines()
        left = files_holding(var_dir, resident)
        # The open case keeps its phone and words; the conversation only its words.
        assert "hotline.db: phone" in left and "hotline.db: words" in left
        assert not any(f.startswith("rasa_tracker.db") and ": phone" in f for f in left), left
        # The words' embedding was made from the text with its numbers: it goes with them.
        assert not any(f.startswith("rasa_tracker.db") and "(vector)" in f for f in left), left
        assert any(f.startswith("rasa_tracker.db") and "words" in f for f in left), left
        # Rasa still has the conversation, scrubbed.
        assert rasa.read_back()["mine"] == 6
    finally:
        rasa.stop()
    with transaction() as session:
        case = get_case(session, number)
        apply_action(
            session,
            case,
            "rate",
            Actor.resident(resident.sender),
            ActionInput(rating="satisfied"),
            now=when + timedelta(hours=6),
        )
    cli("retention", "run", "--days", "365")
    dispose_engines()
    assert files_holding(var_dir, resident) == []


def test_retention_keeps_live_conversations_and_deletes_idle_ones(
    db_url: str, var_dir: Path, sqlite_tracker: dict[str, object]
) -> None:
    """A conversation idle for longer than the period with no case goes; one whose case is
    still within the period stays, whatever its age."""
    idle, live = new_resident(), new_resident()
    old = utcnow() - timedelta(days=400)
    with transaction() as session:
        record_message(session, idle.sender, IN, "resident", idle.words, now=old)
        record_message(session, live.sender, IN, "resident", live.words, now=old)
        create_case(
            session,
            NewCase(
                category="city_management",
                description=live.words,
                phone=live.phone,
                channel="telegram",
                resident_ref=live.sender,
            ),
            Actor.resident(live.sender),
            now=old,
        )
    writers = [RasaWriter(sqlite_tracker, r, old.timestamp()) for r in (idle, live)]
    for writer in writers:
        writer.stop()
    cli("retention", "run", "--days", "365")
    dispose_engines()
    assert files_holding(var_dir, idle) == []
    left = files_holding(var_dir, live)
    assert "hotline.db: phone" in left and "rasa_tracker.db: phone" in left, left


def test_an_unreachable_tracker_store_leaves_the_request_open(
    db_url: str,
    var_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Nothing is half done: the case is not anonymised, and the request stays open."""
    resident = new_resident()
    number, request_id = plant(resident, var_dir, utcnow() - timedelta(days=3))
    monkeypatch.setenv(
        "HOTLINE_TRACKER_STORE_URL", "postgresql://postgres@127.0.0.1:1/hotline_tracker"
    )
    assert main(["retention", "forget", str(request_id)]) == 1
    assert "tracker store unavailable" in capsys.readouterr().err
    with transaction() as session:
        assert resident.phone in (get_case(session, number).phone or "")
        assert session.get(DataRequest, request_id).status == "open"
