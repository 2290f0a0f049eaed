"""Creating and dropping PostgreSQL databases: the scaled setup, the benchmarks and tests.

The admin URL names a database to connect to while creating others (``postgres`` or any that
exists); the user needs CREATEDB. Names are restricted to ``[a-z0-9_]`` because they are
interpolated as identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import create_engine, text

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _driver_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def database_url(admin: str, name: str) -> str:
    """The URL of database ``name`` on the admin URL's server, with the same credentials."""
    parts = urlsplit(admin)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _check(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r}")
    return name


def exists(admin: str, name: str) -> bool:
    """Whether database ``name`` exists on the server."""
    engine = create_engine(_driver_url(admin), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": _check(name)}
            ).first()
            return found is not None
    finally:
        engine.dispose()


def ensure_database(admin: str, name: str) -> bool:
    """Creates database ``name`` unless it exists.

    Returns:
        Whether it was created now.
    """
    if exists(admin, name):
        return False
    engine = create_engine(_driver_url(admin), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{_check(name)}"'))
    finally:
        engine.dispose()
    return True


def drop_database(admin: str, name: str) -> None:
    """Drops database ``name`` if it exists, closing its connections."""
    engine = create_engine(_driver_url(admin), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{_check(name)}" WITH (FORCE)'))
    finally:
        engine.dispose()


@contextmanager
def temporary_database(admin: str, name: str) -> Iterator[str]:
    """Creates an empty database for the block and drops it afterwards.

    Yields:
        Its SQLAlchemy URL (psycopg 3 driver).
    """
    ensure_database(admin, name)
    try:
        yield _driver_url(database_url(admin, name))
    finally:
        drop_database(admin, name)
