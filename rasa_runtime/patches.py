"""Performance patches for Rasa 3.6, each found by profiling (``python -m bench.profile``).

``RemoteAction._validate_action_result`` calls ``jsonschema.validate(result, schema)`` for
every custom action the server runs. ``jsonschema.validate`` first checks the schema itself
against the Draft 2020-12 meta-schema and builds a new validator, on every call: with
jsonschema 4.17 that took about half of the Rasa server's CPU under load (about 100 ms per
action call on this machine, against 9 ms with a validator built once). The patch builds the
same validator class once, checks the schema once, and raises the same best-matching
``ValidationError`` with the same message as before.

``SQLTrackerStore`` on SQLite commits every saved tracker in SQLite's default rollback-journal
mode with ``synchronous=FULL``: the commits were the largest single cost left (12% of the
server's samples). The patch puts a SQLite tracker database in WAL mode with
``synchronous=NORMAL`` and ``secure_delete``, the settings the case database already uses
(hotline/db.py), on a small pool of open connections (SQLAlchemy 1.4 would reopen the file per
session): a committed turn survives a crash of any process; only a power cut can lose the last
ones.
Other databases are not touched.

The jsonschema check of an action response was still about 8 ms a call with the validator
built once: Rasa's event schema is a ``oneOf`` of 23 event kinds, so every event is checked
against all 23. Each kind's branch requires its own ``event`` name (``const``), so an event is
valid exactly when it passes the common part and the one branch named by its ``event``. The
patch checks that first, and only when it fails runs the full validator, which raises Rasa's
own error as before.

``SQLTrackerStore`` reads a conversation through the ORM (about 10% of the samples: query
compilation, cache keys, ORM objects) and, to save, counts the stored events with another ORM
query and adds an ORM object per event (about 11%). The patch runs the same statements as plain
SQL text (the same last-session rule: events since the latest ``session_started``, ordered by
id) and inserts the new events in one ``executemany``. Rows and JSON stay exactly as Rasa
writes them, on every database.

``EndpointConfig.request`` opened a new aiohttp session, and so a new TCP connection, for every
call to the action server. The patch keeps one session per endpoint and event loop, whose idle
connections are dropped after 2 s, before Sanic's 5 s keep-alive limit closes them from the
other side.

``Event.resolve_by_type`` walks the whole tree of ``Event`` subclasses for every event it
deserialises (a stored conversation, an action's reply): 11% of the server's time under
cProfile. The patch looks the class up in a table built from the same walk, in the same order
(the first class with the name wins, as before), and walks again when a name is missing.

``HOTLINE_RASA_PATCHES`` (comma-separated names from ``PATCHES``, or ``none``; default all)
chooses which patches to apply, so that the benchmarks can measure each one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from typing import Any

_APPLIED: list[str] | None = None


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@lru_cache(maxsize=1)
def _event_validators() -> tuple[Any, Any, dict[str, Any]]:
    """Validators for the response without its events, an event's common part, and each kind."""
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    events = schema["properties"]["events"]
    event = events["items"]
    outer = {**schema, "properties": {**schema["properties"], "events": {"type": "array"}}}
    common = {key: value for key, value in event.items() if key != "oneOf"}
    kinds = {branch["properties"]["event"]["const"]: cls(branch) for branch in event["oneOf"]}
    return cls(outer), cls(common), kinds


def _valid_by_kind(result: Any) -> bool:
    outer, common, kinds = _event_validators()
    if not outer.is_valid(result):
        return False
    for event in result.get("events") or []:
        if not common.is_valid(event):
            return False
        kind = kinds.get(event["event"])
        if kind is None or not kind.is_valid(event):
            return False
    return True


def validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """Drop-in for ``RemoteAction._validate_action_result``: same verdict, less work.

    Raises:
        jsonschema.ValidationError: As Rasa's own does, with the same explanation appended.
    """
    from jsonschema import exceptions
    from rasa.shared.constants import DOCS_BASE_URL

    if _valid_by_kind(result):
        return True
    error = exceptions.best_match(_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        "For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Freed space is zeroed, so that a resident's deleted conversation (hotline retention)
    # leaves no copy in the file, on SQLite builds where this is not the default.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _patch_sql_tracker_store() -> None:
    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore

    original = SQLTrackerStore.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self.engine.dialect.name != "sqlite" or self.engine.url.database in (
            None,
            "",
            ":memory:",
        ):
            return
        # SQLAlchemy 1.4 opens and closes a file database for every session (NullPool), and
        # closing the last WAL connection checkpoints: keep a small pool of open connections.
        old = self.engine
        self.engine = sa.create_engine(
            old.url,
            poolclass=sa.pool.QueuePool,
            pool_size=2,
            max_overflow=4,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        old.dispose()

    SQLTrackerStore.__init__ = init


_LAST_SESSION = """
    SELECT e.{columns} FROM events e,
        (SELECT max(timestamp) AS started FROM events
         WHERE sender_id = :sender AND type_name = 'session_started') s
    WHERE e.sender_id = :sender AND (s.started IS NULL OR e.timestamp >= s.started)
"""


def _patch_sql_tracker_queries() -> None:
    import itertools
    import json

    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.nlu.constants import INTENT_NAME_KEY

    last_session = sa.text(_LAST_SESSION.format(columns="data") + " ORDER BY e.id")
    all_sessions = sa.text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id")
    count_last_session = sa.text(
        "SELECT count(*) FROM (" + _LAST_SESSION.format(columns="id") + ") stored"
    )

    async def _retrieve(
        self: Any, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        query = all_sessions if fetch_events_from_all_sessions else last_session
        with self.session_scope() as session:
            rows = session.execute(query, {"sender": sender_id}).scalars().all()
        events = [json.loads(data) for data in rows]
        if not self.domain or not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    async def save(self: Any, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = session.execute(count_last_session, {"sender": tracker.sender_id}).scalar()
            rows = []
            for event in itertools.islice(tracker.events, stored or 0, len(tracker.events)):
                data = event.as_dict()
                rows.append(
                    {
                        "sender_id": tracker.sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": data.get("parse_data", {})
                        .get("intent", {})
                        .get(INTENT_NAME_KEY),
                        "action_name": data.get("name"),
                        "data": json.dumps(data),
                    }
                )
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()

    SQLTrackerStore._retrieve = _retrieve
    SQLTrackerStore.save = save


_KEEPALIVE_SECONDS = 2.0


def _patch_endpoint_sessions() -> None:
    import asyncio

    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    class _Shared:
        """One endpoint's session; ``async with`` leaves it open for the next call."""

        def __init__(self, session: aiohttp.ClientSession) -> None:
            self.session = session

        async def __aenter__(self) -> aiohttp.ClientSession:
            return self.session

        async def __aexit__(self, *exc: object) -> None:
            return None

    def session(self: Any) -> Any:
        loop = asyncio.get_running_loop()
        cached = getattr(self, "_hotline_session", None)
        if cached is None or cached.closed or getattr(self, "_hotline_loop", None) is not loop:
            auth = (
                aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                if self.basic_auth
                else None
            )
            cached = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(keepalive_timeout=_KEEPALIVE_SECONDS),
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            )
            self._hotline_session = cached
            self._hotline_loop = loop
        return _Shared(cached)

    EndpointConfig.session = session


def _patch_event_types() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    table: dict[str, type[Event]] = {}

    def rebuild() -> None:
        table.clear()
        for cls in all_subclasses(Event):
            table.setdefault(cls.type_name, cls)

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
        found = table.get(type_name)
        if found is None:
            rebuild()
            found = table.get(type_name)
        if found is not None:
            return found
        if type_name == "topic":
            return None  # Rasa keeps accepting the old TopicSet events
        if default is not None:
            return default
        raise ValueError(f"Unknown event name '{type_name}'.")

    Event.resolve_by_type = staticmethod(resolve_by_type)


def _patch_action_validation() -> None:
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = validate_action_result


PATCHES: dict[str, Callable[[], None]] = {
    "action_validation": _patch_action_validation,
    "sqlite_tracker": _patch_sql_tracker_store,
    "sql_tracker_queries": _patch_sql_tracker_queries,
    "endpoint_sessions": _patch_endpoint_sessions,
    "event_types": _patch_event_types,
}
"""Every patch by name, in the order they are applied."""


def selected(setting: str | None = None) -> list[str]:
    """The patches that ``HOTLINE_RASA_PATCHES`` (or ``setting``) asks for.

    Raises:
        ValueError: When it names a patch that does not exist.
    """
    value = os.environ.get("HOTLINE_RASA_PATCHES", "") if setting is None else setting
    value = value.strip()
    if not value:
        return list(PATCHES)
    if value == "none":
        return []
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in PATCHES]
    if unknown:
        raise ValueError(
            f"HOTLINE_RASA_PATCHES: unknown patch {', '.join(unknown)}; "
            f"known: {', '.join(PATCHES)} (or none)"
        )
    return [name for name in PATCHES if name in names]


def apply(names: list[str] | None = None) -> list[str]:
    """Installs the chosen patches (default: ``selected()``) once; returns what is applied."""
    global _APPLIED
    if _APPLIED is not None:
        return _APPLIED
    chosen = selected() if names is None else names
    for name in chosen:
        PATCHES[name]()
    _APPLIED = chosen
    return chosen
