"""Alembic environment: runs migrations with the hotline engine settings."""

from __future__ import annotations

from alembic import context

from hotline.config import load_settings
from hotline.db import make_engine
from hotline.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    """Writes the SQL instead of running it."""
    url = config.get_main_option("sqlalchemy.url") or load_settings().database_url
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Runs the migrations against the configured database."""
    url = config.get_main_option("sqlalchemy.url") or load_settings().database_url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
