"""The scaled configuration (endpoints.scaled.yml, `make run-scaled`) against real services.

Rasa with two Sanic workers and the Redis lock store, the tracker store and the case database
on PostgreSQL, the action server with two Sanic workers; concurrent residents each end with
exactly one case.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, func, select, text

from bench.conversation import endpoints_from
from bench.load import hotline_report, run_phase
from bench.stack import Servers, process_tree
from hotline import pgadmin
from hotline.config import PROJECT_ROOT
from hotline.db import dispose_engines, transaction, upgrade
from hotline.models import Case
from tests.services import PG_ADMIN_URL, PG_HOST, PG_PORT, REDIS_HOST, REDIS_PORT, require_service

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

MODEL = PROJECT_ROOT / "models" / "hotline.tar.gz"
RESIDENTS = 6


@pytest.fixture()
def scaled(tmp_path: Path) -> Iterator[tuple[Servers, str, str]]:
    """The scaled stack on fresh databases; yields the servers and both database URLs."""
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` (make test does)")
    suffix = uuid.uuid4().hex[:10]
    tracker_db = f"scale_tracker_{suffix}"
    with (
        pgadmin.temporary_database(PG_ADMIN_URL, f"scale_cases_{suffix}") as db_url,
        pgadmin.temporary_database(PG_ADMIN_URL, tracker_db) as tracker_url,
    ):
        upgrade(db_url)
        env = {"HOTLINE_DATABASE_URL": db_url, "HOTLINE_VAR_DIR": str(tmp_path / "var")}
        with Servers(tmp_path, env=env) as servers:
            actions = servers.start_actions(workers=2)
            endpoints = tmp_path / "endpoints.yml"
            config = endpoints_from(
                PROJECT_ROOT / "endpoints.scaled.yml",
                endpoints,
                f"http://127.0.0.1:{actions.port}/webhook",
                db=tracker_db,
                url=PG_HOST,
                port=PG_PORT,
                lock_prefix=f"scale{suffix}",
            )
            config["lock_store"].update(url=REDIS_HOST, port=REDIS_PORT)
            endpoints.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
            servers.start_rasa(MODEL, endpoints, workers=2)
            yield servers, db_url, tracker_url
        dispose_engines()


def test_concurrent_residents_get_one_case_each(scaled: tuple[Servers, str, str]) -> None:
    servers, db_url, tracker_url = scaled
    # Two Sanic workers each: the parent plus two worker processes.
    assert len(process_tree(servers.servers["rasa"].proc.pid)) >= 3
    assert len(process_tree(servers.servers["actions"].proc.pid)) >= 3

    prefix = f"rest:scale-{uuid.uuid4().hex[:6]}"
    result = asyncio.run(
        run_phase("scaled", servers.url("rasa"), hotline_report, prefix, RESIDENTS, 1, 300)
    )
    assert result.errors == 0 and result.failed_conversations == 0, result.first_error
    assert len(set(result.case_numbers)) == RESIDENTS

    # Confirming again creates nothing more.
    for i in range(RESIDENTS):
        httpx.post(
            f"{servers.url('rasa')}/webhooks/rest/webhook",
            json={"sender": f"{prefix}-{i}-0", "message": "/affirm"},
            timeout=60,
        ).raise_for_status()

    with transaction(db_url) as session:
        refs = session.scalars(
            select(Case.resident_ref).where(Case.resident_ref.like(f"{prefix}-%"))
        ).all()
        numbers = set(
            session.scalars(select(Case.number).where(Case.resident_ref.like(f"{prefix}-%")))
        )
    assert sorted(str(r) for r in refs) == sorted(f"{prefix}-{i}-0" for i in range(RESIDENTS))
    assert numbers == set(result.case_numbers)

    # The conversations live in the PostgreSQL tracker store.
    engine = create_engine(tracker_url)
    try:
        with engine.connect() as conn:
            senders = conn.execute(
                select(func.count(func.distinct(text("sender_id"))))
                .select_from(text("events"))
                .where(text("sender_id LIKE :p"))
                .params(p=f"{prefix}-%")
            ).scalar()
    finally:
        engine.dispose()
    assert senders == RESIDENTS
