"""``HotlineSQLTrackerStore`` stores and reads exactly what Rasa's ``SQLTrackerStore`` does, puts
a SQLite file in WAL mode on pooled connections, and is what Rasa builds from endpoints*.yml.

Runs in ``.venv-rasa`` (``test_under_rasa.py``). ``HOTLINE_CASES_PG_URL`` names an empty
PostgreSQL database for the PostgreSQL cases (the wrapper creates it); without it they skip.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import unittest
from pathlib import Path
from typing import Any
from unittest import mock

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import class_from_module_path

from rasa_runtime.tracker_store import HotlineSQLTrackerStore

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("HOTLINE_CASES_PG_URL", "")
ROWS = "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events"

FIRST: list[Event] = [
    ActionExecuted("action_session_start", timestamp=2),
    SessionStarted(timestamp=2),
    ActionExecuted("action_listen", timestamp=3),
    UserUttered("楼道灯坏了", intent={"name": "report"}, timestamp=4),
    SlotSet("phone", "13812345678", timestamp=5),
]
MORE: list[Event] = [
    ActionExecuted("utter_ask_location", timestamp=6),
    BotUttered("在哪里？", timestamp=7),
]
SECOND: list[Event] = [
    ActionExecuted("action_session_start", timestamp=9),
    SessionStarted(timestamp=9),
    SlotSet("phone", "13812345678", timestamp=10),
    ActionExecuted("action_listen", timestamp=11),
    UserUttered("查询进度", timestamp=12),
]
"""Two sessions, saved in three turns, as Rasa saves them."""


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def converse(stores: list[SQLTrackerStore], sender: str) -> None:
    """Saves the three turns in each store as Rasa does: the latest session's tracker (read
    with Rasa's own query) plus the new events, saved once per turn."""
    for batch in (FIRST, MORE, SECOND):
        for store in stores:
            known = run(SQLTrackerStore.retrieve(store, sender))
            events = [*(known.events if known else []), *batch]
            run(store.save(DialogueStateTracker.from_events(sender, events)))


def dump(tracker: DialogueStateTracker | None) -> list[dict[str, Any]] | None:
    return None if tracker is None else [event.as_dict() for event in tracker.events]


class SameAsRasa:
    """The comparison with Rasa's own store, on one database kind (mixed into a TestCase)."""

    ours: HotlineSQLTrackerStore
    theirs: SQLTrackerStore

    def rows(self, store: SQLTrackerStore, sender: str) -> list[tuple[Any, ...]]:
        with store.engine.connect() as conn:
            query = sa.text(ROWS + " WHERE sender_id = :s ORDER BY id")
            return [tuple(row) for row in conn.execute(query, {"s": sender})]

    def test_same_rows_and_trackers_as_rasas_store(self) -> None:
        case: Any = self
        converse([self.ours], "mine")
        converse([self.theirs], "theirs")
        mine, theirs = self.rows(self.ours, "mine"), self.rows(self.theirs, "theirs")
        case.assertEqual(len(mine), 12)
        case.assertEqual([r[1:] for r in mine], [r[1:] for r in theirs])
        # Ours reads what Rasa's store reads from Rasa's rows, and Rasa's code reads ours alike.
        pairs = [
            (self.ours.retrieve("mine"), SQLTrackerStore.retrieve(self.theirs, "theirs")),
            (self.ours.retrieve("mine"), SQLTrackerStore.retrieve(self.ours, "mine")),
            (
                self.ours.retrieve_full_tracker("mine"),
                SQLTrackerStore.retrieve_full_tracker(self.theirs, "theirs"),
            ),
            (
                self.ours.retrieve_full_tracker("mine"),
                SQLTrackerStore.retrieve_full_tracker(self.ours, "mine"),
            ),
        ]
        for read_by_ours, read_by_rasa in pairs:
            case.assertEqual(dump(run(read_by_ours)), dump(run(read_by_rasa)))
        latest = run(self.ours.retrieve("mine"))
        case.assertEqual([e.type_name for e in latest.events][:2], ["action", "session_started"])
        case.assertEqual((len(latest.events), latest.latest_message.text), (5, "查询进度"))
        case.assertEqual(len(run(self.ours.retrieve_full_tracker("mine")).events), 12)

    def test_saving_nothing_new_writes_nothing(self) -> None:
        case: Any = self
        converse([self.ours], "again")
        run(self.ours.save(run(self.ours.retrieve("again"))))
        case.assertEqual(len(self.rows(self.ours, "again")), 12)

    def test_an_unknown_conversation_is_none(self) -> None:
        case: Any = self
        case.assertIsNone(run(self.ours.retrieve("nobody")))
        case.assertIsNone(run(self.ours.retrieve_full_tracker("nobody")))

    def test_new_events_reach_the_event_broker(self) -> None:
        case: Any = self
        broker = mock.Mock()
        broker.publish = mock.Mock()
        self.ours.event_broker = broker
        try:
            tracker = DialogueStateTracker.from_events("streamed", FIRST)
            run(self.ours.save(tracker))
        finally:
            self.ours.event_broker = None
        case.assertEqual(broker.publish.call_count, len(FIRST))


class SQLiteCases(SameAsRasa, unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(tempfile.mkdtemp())
        self.ours = HotlineSQLTrackerStore(
            Domain.empty(), dialect="sqlite", db=str(self.dir / "ours.db")
        )
        self.theirs = SQLTrackerStore(
            Domain.empty(), dialect="sqlite", db=str(self.dir / "theirs.db")
        )

    def tearDown(self) -> None:
        self.ours.engine.dispose()
        self.theirs.engine.dispose()

    def test_the_file_is_in_wal_mode_with_the_case_databases_settings(self) -> None:
        # Connections start with secure_delete off, as on SQLite builds without
        # SQLITE_SECURE_DELETE (Debian's has it on, which would hide a missing pragma).
        def insecure(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA secure_delete=OFF")

        sa.event.listen(self.ours.engine, "connect", insecure, insert=True)
        run(self.ours.save(DialogueStateTracker.from_events("s", FIRST)))
        mode = sqlite3.connect(self.dir / "ours.db").execute("PRAGMA journal_mode").fetchone()[0]
        self.assertEqual(mode, "wal")
        with self.ours.engine.connect() as conn:
            settings = [
                conn.exec_driver_sql(f"PRAGMA {p}").scalar()
                for p in ("synchronous", "secure_delete", "busy_timeout")
            ]
        self.assertEqual(settings, [1, 1, 30000])  # NORMAL, on, 30 s
        theirs = (
            sqlite3.connect(self.dir / "theirs.db").execute("PRAGMA journal_mode").fetchone()[0]
        )
        self.assertEqual(theirs, "delete")

    def test_connections_are_pooled(self) -> None:
        pool = self.ours.engine.pool
        self.assertIsInstance(pool, sa.pool.QueuePool)
        self.assertEqual((pool.size(), pool._max_overflow), (2, 4))
        run(self.ours.save(DialogueStateTracker.from_events("s", FIRST)))
        run(self.ours.retrieve("s"))
        self.assertEqual(pool.checkedin(), 1)  # kept open, not closed after the session

    def test_the_pool_size_comes_from_the_endpoint(self) -> None:
        store = HotlineSQLTrackerStore(
            dialect="sqlite", db=str(self.dir / "sized.db"), pool_size="3", max_overflow=0
        )
        self.assertEqual((store.engine.pool.size(), store.engine.pool._max_overflow), (3, 0))
        store.engine.dispose()


@unittest.skipUnless(PG_URL, "HOTLINE_CASES_PG_URL names no PostgreSQL database")
class PostgreSQLCases(SameAsRasa, unittest.TestCase):
    def setUp(self) -> None:
        self.ours = HotlineSQLTrackerStore(Domain.empty(), dialect="postgresql", host=PG_URL)
        self.theirs = SQLTrackerStore(Domain.empty(), dialect="postgresql", host=PG_URL)
        with self.ours.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM events"))

    def tearDown(self) -> None:
        self.ours.engine.dispose()
        self.theirs.engine.dispose()

    def test_rasas_engine_is_kept(self) -> None:
        self.assertEqual(self.ours.engine.pool.size(), self.theirs.engine.pool.size())

    def test_pool_settings_are_refused_for_postgresql(self) -> None:
        with self.assertRaises(ValueError) as raised:
            HotlineSQLTrackerStore(dialect="postgresql", host=PG_URL, pool_size=3)
        self.assertIn("SQL_POOL_SIZE", str(raised.exception))


class EndpointsCases(unittest.TestCase):
    """Rasa falls back to an in-memory store, with only a warning, when it cannot import the
    class an endpoints file names: each file must name one that loads."""

    def read(self, name: str, var_dir: str) -> Any:
        env = {"HOTLINE_VAR_DIR": var_dir, "ACTION_PORT": "5055", "HOTLINE_ACTION_TOKEN": "t"}
        with mock.patch.dict(os.environ, env):
            return AvailableEndpoints.read_endpoints(str(ROOT / name)).tracker_store

    def test_endpoints_yml_builds_the_hotline_store_in_the_var_directory(self) -> None:
        var_dir = tempfile.mkdtemp()
        store = TrackerStore.create(self.read("endpoints.yml", var_dir), Domain.empty())
        self.assertIs(type(store), HotlineSQLTrackerStore)
        assert isinstance(store, HotlineSQLTrackerStore)
        self.assertEqual(store.engine.url.database, f"{var_dir}/rasa_tracker.db")
        self.assertIsInstance(store.engine.pool, sa.pool.QueuePool)
        store.engine.dispose()

    def test_endpoints_scaled_yml_names_the_hotline_store_with_keys_it_takes(self) -> None:
        endpoint = self.read("endpoints.scaled.yml", tempfile.mkdtemp())
        self.assertIs(class_from_module_path(endpoint.type), HotlineSQLTrackerStore)
        self.assertEqual(endpoint.kwargs["dialect"], "postgresql")
        if not PG_URL:
            self.skipTest("HOTLINE_CASES_PG_URL names no PostgreSQL database")
        # Its keys as Rasa passes them, in this test's database instead of hotline_tracker.
        kwargs = {**endpoint.kwargs, "db": sa.engine.make_url(PG_URL).database}
        store = HotlineSQLTrackerStore(host=endpoint.url, domain=None, event_broker=None, **kwargs)
        self.assertEqual(store.engine.url.database, kwargs["db"])
        self.assertEqual(store.engine.dialect.name, "postgresql")
        store.engine.dispose()


if __name__ == "__main__":
    unittest.main()
