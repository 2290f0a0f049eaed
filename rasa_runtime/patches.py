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
``synchronous=NORMAL``, the settings the case database already uses (hotline/db.py), on a
small pool of open connections (SQLAlchemy 1.4 would reopen the file per session): a
committed turn survives a crash of any process; only a power cut can lose the last ones.
Other databases are not touched.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_APPLIED = False


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """Drop-in for ``RemoteAction._validate_action_result`` with a validator built once.

    Raises:
        jsonschema.ValidationError: As Rasa's own does, with the same explanation appended.
    """
    from jsonschema import exceptions
    from rasa.shared.constants import DOCS_BASE_URL

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


def apply() -> None:
    """Installs the patches (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = validate_action_result
    _patch_sql_tracker_store()
    _APPLIED = True
