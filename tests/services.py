"""Access to the real PostgreSQL and Redis servers for tests.

Outside CI a test that needs a missing server is skipped; with CI=true it fails.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
PG_ADMIN_URL = os.environ.get(
    "TEST_PG_ADMIN_URL", f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/test"
)
CHROMIUM = os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium")
"""Debian's Chromium, which the browser tests drive (no browser is ever downloaded)."""
REDIS_HOST = os.environ.get("TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("TEST_REDIS_PORT", "6379"))


def in_ci() -> bool:
    """Whether this run is CI's, where missing services are failures."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def reachable(host: str, port: int) -> bool:
    """Whether something accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skips (or in CI fails) the test when the service does not answer."""
    if reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if in_ci():
        pytest.fail(message + " (CI=true: tests that need it must run)")
    pytest.skip(message)


def require_chromium() -> str:
    """Debian's Chromium; skips the test (or in CI fails it) when it is not installed."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"Debian's Chromium is missing ({CHROMIUM}): apt-get install chromium"
    if in_ci():
        pytest.fail(message + " (CI=true: browser tests must run)")
    pytest.skip(message)


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Creates an empty PostgreSQL database for one test and drops it afterwards.

    Yields:
        Its SQLAlchemy URL.
    """
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    from sqlalchemy import create_engine, text

    name = f"hotline_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        from hotline.db import dispose_engines

        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
