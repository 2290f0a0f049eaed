"""Concurrent creation gives distinct numbers with nothing lost, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from hotline.casework.actors import Actor
from hotline.casework.cases import NewCase, create_case
from hotline.db import transaction
from hotline.models import Case, CaseEvent

N = 50


def _create(url: str, i: int) -> str:
    new = NewCase(
        category="city_management",
        description=f"第{i}位居民：路灯不亮",
        phone="13812345678",
        location=f"幸福路{i}号",
        channel="rest",
        resident_ref=f"rest:{i}",
    )
    with transaction(url) as session:
        case, _ = create_case(session, new, Actor.resident(f"rest:{i}"))
        return case.number


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_fifty_concurrent_creations(engine: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("db_url" if engine == "sqlite" else "pg_url")
    with ThreadPoolExecutor(max_workers=16) as pool:
        numbers = list(pool.map(lambda i: _create(url, i), range(N)))
    assert len(set(numbers)) == N
    assert all(re.fullmatch(r"SQ\d{8}-\d{4}", n) for n in numbers)
    with transaction(url) as session:
        assert session.scalar(select(func.count()).select_from(Case)) == N
        assert session.scalar(select(func.count()).select_from(CaseEvent)) == N
        stored = set(session.scalars(select(Case.location)))
    assert stored == {f"幸福路{i}号" for i in range(N)}


def test_idempotent_creation_under_concurrency_on_postgres(pg_url: str) -> None:
    new = NewCase(
        category="employment",
        description="欠薪",
        phone="13912345678",
        location="A",
        idempotency_key="tg:9:confirm:1",
    )

    def once(_: int) -> str:
        with transaction(pg_url) as session:
            return create_case(session, new, Actor.resident("tg:9"))[0].number

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = set(pool.map(once, range(8)))
    assert len(numbers) == 1
    with transaction(pg_url) as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
