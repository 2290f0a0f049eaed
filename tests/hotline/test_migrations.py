"""Migrations: down to nothing and back up on both engines, and the models match them."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from hotline.db import alembic_config, dispose_engines, make_engine
from hotline.models import Base


def tables(url: str) -> set[str]:
    """The tables in the database, Alembic's own excepted."""
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def model_diffs(url: str) -> list[Any]:
    """What autogenerate would change to make the database match the models."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_downgrade_to_base_and_upgrade_to_head(engine: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("db_url" if engine == "sqlite" else "pg_url")
    dispose_engines()
    models = set(Base.metadata.tables)
    assert tables(url) == models
    command.downgrade(alembic_config(url), "base")
    assert tables(url) == set()
    command.upgrade(alembic_config(url), "head")
    assert tables(url) == models
    assert model_diffs(url) == []


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_models_match_the_migrations(engine: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("db_url" if engine == "sqlite" else "pg_url")
    assert model_diffs(url) == []


def test_a_model_change_without_a_migration_is_caught(db_url: str) -> None:
    from sqlalchemy import Column, Integer, MetaData, Table

    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    Table("cases", metadata, Column("new_column", Integer), extend_existing=True)
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert [d[0] for d in diffs] == ["add_column"] and diffs[0][2] == "cases"
