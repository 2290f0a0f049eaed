"""Database engines and sessions. SQLite runs in WAL mode and writers queue instead of failing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hotline.config import PROJECT_ROOT, load_settings
from hotline.errors import StorageUnavailableError

log = logging.getLogger(__name__)
SQLITE_BUSY_TIMEOUT_MS = 30_000
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted and overwritten rows are zeroed on disk, not left in free space (PIPL).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that later upgrades to a writer
        # fails with "database is locked" instead of waiting on the busy timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """Creates an engine for a database URL, configured for concurrent use.

    ``hide_parameters``: a failed statement's error (and so a log line or a trace) never
    carries its values, which hold residents' phone numbers and words.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            hide_parameters=True,
        )
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
    )
    _drop_nul_characters(engine)
    return engine


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {key: _without_nul(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_without_nul(inner) for inner in value)
    return value


def _drop_nul_characters(engine: Engine) -> None:
    """PostgreSQL text cannot hold NUL (U+0000): it is dropped from every parameter.

    Residents and partners can send it (a web-chat message id, a search, an Open311 field);
    SQLite stores it, PostgreSQL refuses the statement. Dropping it here, once, keeps every
    writer and query on both engines from failing on it.
    """

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _before(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> tuple[str, Any]:
        return statement, _without_nul(parameters)


def get_engine(url: str | None = None) -> Engine:
    """Returns the shared engine for a URL (default: ``HOTLINE_DATABASE_URL``)."""
    url = url or load_settings().database_url
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def dispose_engines() -> None:
    """Closes every pooled connection (tests, and after a fork)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """A session factory bound to the engine for a URL."""
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def transaction(url: str | None = None) -> Iterator[Session]:
    """A session inside one transaction: committed on success, rolled back on error.

    Raises:
        StorageUnavailableError: When the database cannot be reached.
    """
    try:
        with session_factory(url)() as session, session.begin():
            yield session
    except (OperationalError, InterfaceError) as exc:
        if _is_connectivity_error(exc):
            raise StorageUnavailableError(f"case database unavailable: {exc.orig}") from exc
        raise


def _is_connectivity_error(exc: Exception) -> bool:
    text = str(exc).lower()
    markers = ("connection", "could not connect", "server closed", "unable to open", "timeout")
    return any(m in text for m in markers) or "locked" in text


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None (another database, or an in-memory one)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    return Path(path) if path and path != ":memory:" else None


def checkpoint(url: str | None = None) -> None:
    """Copies a SQLite database's WAL into the file and truncates the WAL to zero bytes.

    After a deletion the WAL still holds the deleted rows' earlier pages; this removes them.
    Does nothing on PostgreSQL or when the file does not exist.
    """
    url = url or load_settings().database_url
    path = sqlite_path(url)
    if path is None or not path.exists():
        return
    # Outside any transaction (SQLAlchemy's would begin one): the driver connection is in
    # autocommit (isolation_level None, see _configure_sqlite).
    connection = get_engine(url).raw_connection()
    try:
        cursor = connection.cursor()
        busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        connection.close()
    if busy:
        log.warning("WAL of %s not truncated: a reader was busy; the next checkpoint will", path)


def alembic_config(url: str | None = None) -> Any:
    """The Alembic configuration for the project's migrations."""
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", (url or load_settings().database_url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None) -> None:
    """Applies every migration to the database."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")
