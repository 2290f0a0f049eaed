"""100 residents confirm their reports at the same moment: 100 distinct case numbers.

Through the real Rasa server and the real action server, with two action-server workers (two
processes allocating numbers) on a PostgreSQL case database. The conversations are brought to
the summary with bounded concurrency; then every confirmation is sent at once.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from hotline.db import transaction, upgrade
from hotline.models import Case, CaseSequence
from tests.faults.conftest import (
    CASE_NUMBER,
    DESCRIPTION,
    LOCATION,
    NAME,
    PHONE,
    new_sender,
    restart_actions,
)
from tests.servers import Stack
from tests.services import fresh_postgres_database

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]

RESIDENTS = int(os.environ.get("FAULT_CONCURRENT_RESIDENTS", "100"))
SETUP_CONCURRENCY = 8


@pytest.fixture()
def pg_workers(stack: Stack) -> Iterator[tuple[Stack, str]]:
    """The stack with two action-server workers on a fresh PostgreSQL case database."""
    with fresh_postgres_database() as url:
        upgrade(url)
        restart_actions(stack, HOTLINE_DATABASE_URL=url, ACTION_SERVER_SANIC_WORKERS="2")
        yield stack, url
        stack.stop("actions")


def _sanic_workers(pid: int) -> list[int]:
    """The ids of a process's child processes that are Sanic workers (from /proc: Sanic names
    each worker in its environment; the other children are multiprocessing's helpers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != pid:
                continue
            environ = (stat.parent / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(entry.startswith(b"SANIC_WORKER_NAME=Sanic-Server-") for entry in environ):
            found.append(int(stat.parent.name))
    return found


async def _post(client: httpx.AsyncClient, stack: Stack, sender: str, text: str) -> str:
    response = await client.post(
        f"{stack.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
    )
    response.raise_for_status()
    return "\n".join(str(r.get("text", "")) for r in response.json())


async def _to_summary(
    client: httpx.AsyncClient, stack: Stack, sender: str, gate: asyncio.Semaphore
) -> None:
    async with gate:
        reply = await _post(client, stack, sender, DESCRIPTION)
        if "哪一类" in reply:
            await _post(client, stack, sender, '/choose_category{"category": "city_management"}')
        for text in (LOCATION, PHONE):
            await _post(client, stack, sender, text)
        summary = await _post(client, stack, sender, NAME)
        assert "请核对登记信息" in summary, (sender, summary)


async def test_hundred_residents_confirm_at_once(pg_workers: tuple[Stack, str]) -> None:
    stack, url = pg_workers
    assert len(_sanic_workers(stack.procs["actions"].pid)) == 2  # two action-server workers
    senders = [new_sender(f"crowd{i:03d}") for i in range(RESIDENTS)]
    limits = httpx.Limits(max_connections=RESIDENTS + 10)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)
        await asyncio.gather(*(_to_summary(client, stack, s, gate) for s in senders))

        start = asyncio.Event()

        async def confirm(sender: str) -> str:
            await start.wait()
            return await _post(client, stack, sender, "/affirm")

        tasks = [asyncio.create_task(confirm(s)) for s in senders]
        await asyncio.sleep(0.2)
        start.set()
        replies = await asyncio.gather(*tasks)

    told = {}
    for sender, reply in zip(senders, replies, strict=True):
        found = CASE_NUMBER.findall(reply)
        assert found, (sender, reply)
        told[sender] = found[0]
    assert len(set(told.values())) == RESIDENTS

    with transaction(url) as session:
        stored = {c.resident_ref: c.number for c in session.scalars(select(Case))}
        assert session.scalar(select(func.count()).select_from(Case)) == RESIDENTS
        # No number was handed out twice or skipped: the daily counters add up to RESIDENTS.
        assert session.scalar(select(func.sum(CaseSequence.last))) == RESIDENTS
    assert stored == told
