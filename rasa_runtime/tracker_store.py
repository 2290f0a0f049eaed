"""The hotline's tracker store: Rasa 3.6's SQL tracker store, faster, named in endpoints*.yml.

Rasa loads a tracker store given as ``tracker_store: type: module.Class`` by importing the class
and calling it with ``host=`` (the endpoint's ``url``), ``domain=``, ``event_broker=`` and the
endpoint's other keys (``rasa.core.tracker_store._load_from_module_name_in_endpoint_config``).
:class:`HotlineSQLTrackerStore` takes the same keys as Rasa's ``type: SQL`` and stores exactly
what it stores (the ``events`` table, every row and its JSON), so the hotline's retention and
``/forget`` (``hotline/privacy/tracker_store.py``) read and delete the same rows either way. What it
changes, each measured with ``bench/patch_steps.py`` (docs/benchmarks.md):

- **A SQLite file in WAL mode, on a small pool of open connections.** Rasa commits every saved
  tracker in SQLite's default rollback-journal mode with ``synchronous=FULL`` (the largest
  single cost once the action-response check was fixed: 12% of the server's samples), and
  SQLAlchemy 1.4 opens and closes the file for every session (NullPool), which also
  checkpoints the WAL each time. Here the file is in WAL mode with ``synchronous=NORMAL`` and
  ``secure_delete``, the settings of the case database (hotline/db.py): a committed turn
  survives a crash of any process; only a power cut can lose the last ones. Other databases
  keep Rasa's engine (PostgreSQL's pool: Rasa's ``SQL_POOL_SIZE`` and ``SQL_MAX_OVERFLOW``).
- **Plain SQL instead of the ORM.** Reading a conversation through the ORM (query compilation,
  cache keys, ORM objects) was about 10% of the samples; saving, which counts the stored events
  with another ORM query and adds an ORM object per event, about 11%. Here the same statements
  run as SQL text (the same last-session rule: the events since the latest
  ``session_started``, ordered by id) and the new events go in with one ``executemany``.

Runs in Rasa's environment (.venv-rasa).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

SQLITE_POOL_SIZE = 2
SQLITE_MAX_OVERFLOW = 4
SQLITE_BUSY_TIMEOUT_SECONDS = 30

_LAST_SESSION = """
    SELECT e.{column} FROM {table} e,
        (SELECT max(timestamp) AS started FROM {table}
         WHERE sender_id = :sender AND type_name = 'session_started') s
    WHERE e.sender_id = :sender AND (s.started IS NULL OR e.timestamp >= s.started)
"""
"""Rasa's ``SQLTrackerStore._event_query`` for the latest session, as SQL text."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    # Freed space is zeroed, so that a resident's deleted conversation (hotline retention)
    # leaves no copy in the file, on SQLite builds where this is not the default.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _is_sqlite_file(engine: sa.engine.Engine) -> bool:
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


class HotlineSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store with a pooled WAL-mode SQLite engine and SQL-text queries.

    The keys of ``type: SQL`` (``dialect``, ``url``, ``port``, ``db``, ``username``,
    ``password``, ``login_db``, ``query``) mean what they mean to Rasa; ``pool_size`` and
    ``max_overflow`` size the SQLite file's pool.
    """

    def __init__(
        self,
        domain: Domain | None = None,
        dialect: str = "sqlite",
        host: str | None = None,
        port: int | None = None,
        db: str = "rasa.db",
        username: str | None = None,
        password: str | None = None,
        event_broker: EventBroker | None = None,
        login_db: str | None = None,
        query: dict[str, Any] | None = None,
        pool_size: int | str | None = None,
        max_overflow: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        """Connects as Rasa's store does, then gives a SQLite file its pooled WAL engine.

        Raises:
            ValueError: When ``pool_size`` or ``max_overflow`` is not a whole number, or is
                given for another database than a SQLite file.
        """
        super().__init__(
            domain,
            dialect,
            host,
            port,
            db,
            username,  # type: ignore[arg-type]  # Rasa annotates these `Text = None`
            password,  # type: ignore[arg-type]
            event_broker,
            login_db,
            query,
            **kwargs,
        )
        if _is_sqlite_file(self.engine):
            self._use_sqlite_pool(
                SQLITE_POOL_SIZE if pool_size is None else int(pool_size),
                SQLITE_MAX_OVERFLOW if max_overflow is None else int(max_overflow),
            )
        elif pool_size is not None or max_overflow is not None:
            self.engine.dispose()
            raise ValueError(
                "tracker_store: pool_size and max_overflow size a SQLite file's pool; "
                f"for {self.engine.dialect.name} Rasa's SQL_POOL_SIZE and SQL_MAX_OVERFLOW apply"
            )
        table = self.SQLEvent.__tablename__
        self._last_session = sa.text(
            _LAST_SESSION.format(column="data", table=table) + " ORDER BY e.id"
        )
        self._all_sessions = sa.text(
            f"SELECT data FROM {table} WHERE sender_id = :sender ORDER BY id"
        )
        self._count_last_session = sa.text(
            "SELECT count(*) FROM (" + _LAST_SESSION.format(column="id", table=table) + ") stored"
        )

    def _use_sqlite_pool(self, pool_size: int, max_overflow: int) -> None:
        """Replaces Rasa's NullPool engine (one file open per session) with a pooled one.

        Rasa builds its engine inside ``SQLTrackerStore.__init__`` and offers no setting for
        it, so the tables are created with Rasa's engine and the pooled one takes over.
        """
        old = self.engine
        self.engine = sa.create_engine(
            old.url,
            poolclass=sa.pool.QueuePool,
            pool_size=pool_size,
            max_overflow=max_overflow,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        )
        sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        old.dispose()

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The tracker of the conversation's latest session, or None when nothing is stored."""
        return self._tracker(sender_id, self._last_session)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """The tracker with the events of every session, or None when nothing is stored."""
        return self._tracker(conversation_id, self._all_sessions)

    def _tracker(
        self, sender_id: str, statement: sa.sql.elements.TextClause
    ) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            rows = session.execute(statement, {"sender": sender_id}).scalars().all()
        events = [json.loads(data) for data in rows]
        if not self.domain or not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Streams the new events to the event broker, then appends them to the table."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = session.execute(
                self._count_last_session, {"sender": tracker.sender_id}
            ).scalar()
            rows = [
                self._row(tracker.sender_id, event)
                for event in itertools.islice(tracker.events, stored or 0, len(tracker.events))
            ]
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()

    @staticmethod
    def _row(sender_id: str, event: Any) -> dict[str, Any]:
        """The ``events`` row Rasa's ``SQLTrackerStore.save`` writes for one event."""
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }
