"""Shared fixtures: an isolated var/ directory and a migrated case database per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import fresh_postgres_database


@pytest.fixture()
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private var/ directory, with the database, spool and media inside it."""
    path = tmp_path / "var"
    path.mkdir()
    monkeypatch.setenv("HOTLINE_VAR_DIR", str(path))
    monkeypatch.setenv("HOTLINE_DATABASE_URL", f"sqlite:///{path / 'hotline.db'}")
    return path


@pytest.fixture()
def db_url(var_dir: Path) -> Iterator[str]:
    """A migrated SQLite case database."""
    from hotline.db import dispose_engines, upgrade

    url = f"sqlite:///{var_dir / 'hotline.db'}"
    upgrade(url)
    yield url
    dispose_engines()


@pytest.fixture()
def pg_url(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated, empty PostgreSQL case database (the real server on 127.0.0.1:5432)."""
    from hotline.db import upgrade

    with fresh_postgres_database() as url:
        monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
        upgrade(url)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest) -> str:
    """The case database on each engine in turn."""
    name = "db_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture()
def session(db_url: str) -> Iterator[object]:
    """A session on the SQLite case database, inside one transaction committed at the end."""
    from hotline.db import transaction

    with transaction(db_url) as s:
        yield s


from tests.servers import (  # noqa: E402,F401  (fixtures shared by the e2e tests)
    no_open_cases_from_earlier_tests,
    rasa_stack,
)
from tests.stores import insecure_sqlite_build, pg_tracker, sqlite_tracker  # noqa: E402,F401
