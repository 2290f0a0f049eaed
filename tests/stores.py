"""Planting a resident's unique phone, name and words in every store, and searching every
store for them byte for byte (tests/supervisor/test_retention_stores.py,
tests/console/test_chat_forget.py)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, create_engine, event, inspect, text

import hotline.db
from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, NewCase, apply_action, create_case
from hotline.casework.outbox import enqueue
from hotline.channels.attachments import save_photo
from hotline.channels.handoff import IN, OUT, record_message
from hotline.config import PROJECT_ROOT
from hotline.db import dispose_engines, transaction
from hotline.residents.self_service import request_deletion
from hotline.text_encoder import DIM, share_vector
from rasa_runtime.command import RASA_PYTHON
from tests.services import fresh_postgres_database

# The tracker store endpoints*.yml name (Rasa's SQL store, WAL mode on SQLite), with the
# production patches, writes a report conversation (two sessions: the slots are carried over into
# the second), prints "saved" and keeps its connections open until told on stdin to read the
# tracker again.
RASA_WRITER = textwrap.dedent(
    """
    import asyncio, json, sys
    from rasa_runtime.patches import apply
    apply()
    from rasa_runtime.tracker_store import HotlineSQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import (
        ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered)
    from rasa.shared.core.trackers import DialogueStateTracker

    spec = json.loads(sys.argv[1])
    store = HotlineSQLTrackerStore(Domain.empty(), **spec["store"])
    t0, phone, name, words = spec["t0"], spec["phone"], spec["name"], spec["words"]

    async def write():
        first = [ActionExecuted("action_session_start", timestamp=t0),
                 SessionStarted(timestamp=t0), ActionExecuted("action_listen", timestamp=t0 + 1),
                 UserUttered(words, intent={"name": "report"}, timestamp=t0 + 2,
                             parse_data={"text": words, "intent": {"name": "report"},
                                         "text_vector": spec["vector"]}),
                 BotUttered("请留下您的手机号", timestamp=t0 + 3),
                 UserUttered(phone, intent={"name": "inform"}, timestamp=t0 + 4),
                 SlotSet("phone", phone, timestamp=t0 + 5),
                 UserUttered("我叫" + name, intent={"name": "inform"}, timestamp=t0 + 6),
                 SlotSet("contact_name", name, timestamp=t0 + 7),
                 SlotSet("description", words, timestamp=t0 + 8)]
        await store.save(DialogueStateTracker.from_events(spec["sender"], first))
        second = [*first, ActionExecuted("action_session_start", timestamp=t0 + 9000),
                  SessionStarted(timestamp=t0 + 9000),
                  SlotSet("phone", phone, timestamp=t0 + 9000),
                  SlotSet("contact_name", name, timestamp=t0 + 9000),
                  ActionExecuted("action_listen", timestamp=t0 + 9001),
                  UserUttered("查询进度", timestamp=t0 + 9002)]
        await store.save(DialogueStateTracker.from_events(spec["sender"], second))
        other = [UserUttered("你好", timestamp=spec["now"])]
        await store.save(DialogueStateTracker.from_events(spec["bystander"], other))

    asyncio.run(write())
    print("saved", flush=True)
    sys.stdin.readline()
    mine = asyncio.run(store.retrieve(spec["sender"]))
    theirs = asyncio.run(store.retrieve(spec["bystander"]))
    print(json.dumps({"mine": None if mine is None else len(mine.events),
                      "theirs": None if theirs is None else len(theirs.events)}), flush=True)
    """
)


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "浩宇子涵欣怡梓轩雨桐嘉懿晨曦思远俊熙若汐一诺明杰文博"


def _unique_name() -> str:
    """A plausible name (the assistant must take it for one) that no other test data holds."""
    return random.choice(SURNAMES) + "".join(random.sample(GIVEN, 2))


@dataclass
class Resident:
    """The unique personal data one test plants, and where."""

    sender: str
    phone: str
    name: str
    words: str
    vector: np.ndarray
    """The embedding of the words Rasa puts on the report (``ReportVectorSharer``)."""

    @property
    def secrets(self) -> dict[str, bytes]:
        """What must not survive, as the bytes a store would hold (UTF-8, and JSON-escaped)."""
        found = {
            "phone": self.phone.encode(),
            "name": self.name.encode(),
            "words": self.words.encode(),
        }
        # Rasa stores events as JSON with ASCII escapes (\\uXXXX) for Chinese text.
        found["name (json)"] = json.dumps(self.name).strip('"').encode()
        found["words (json)"] = json.dumps(self.words).strip('"').encode()
        found["words (vector)"] = share_vector(self.vector)["vector"].encode()
        return found


def new_resident() -> Resident:
    """A resident with a phone, name and words that occur nowhere else."""
    return Resident(
        sender=f"tg:{random.randint(10**9, 10**10)}",
        phone=f"139{random.randint(0, 10**8 - 1):08d}",
        name=_unique_name(),
        words=f"紫藤{uuid.uuid4().hex[:10]}小区楼道灯坏了",
        vector=np.random.default_rng().standard_normal(DIM).astype(np.float32),
    )


class RasaWriter:
    """A Rasa process that wrote a tracker and keeps its store open."""

    def __init__(self, store: dict[str, object], resident: Resident, t0: float) -> None:
        """Starts it and waits until the conversation is saved."""
        if not RASA_PYTHON.exists():
            pytest.fail("no .venv-rasa: run `make setup`")
        spec = {
            "store": store,
            "sender": resident.sender,
            "bystander": "tg:1",
            "phone": resident.phone,
            "name": resident.name,
            "words": resident.words,
            "vector": share_vector(resident.vector),
            "t0": t0,
            "now": time.time(),
        }
        self.proc = subprocess.Popen(
            [str(RASA_PYTHON), "-c", RASA_WRITER, json.dumps(spec)],
            cwd=PROJECT_ROOT,
            env={
                "PYTHONPATH": str(PROJECT_ROOT),
                "TF_CPP_MIN_LOG_LEVEL": "3",
                "PATH": "/usr/bin:/bin",
                "RASA_TELEMETRY_ENABLED": "false",
            },
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "saved":
            self.proc.kill()
            pytest.fail("Rasa writer failed: " + line + self.proc.stderr.read()[-3000:])  # type: ignore[union-attr]

    def read_back(self) -> dict[str, int | None]:
        """Has Rasa read both conversations again; returns their event counts (None: gone)."""
        out, err = self.proc.communicate("\n", timeout=120)
        assert self.proc.returncode == 0, err[-3000:]
        return dict(json.loads(out.strip().splitlines()[-1]))

    def stop(self) -> None:
        """Kills it if still running."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def plant(
    resident: Resident, var_dir: Path, when: datetime, *, close: bool = True
) -> tuple[str, int]:
    """The resident's closed case (resolved only when not ``close``), their messages, an
    unlinked photo, a message about no case and a spooled report set aside; returns the case
    number and the deletion request id."""
    with transaction() as session:
        case, _ = create_case(
            session,
            NewCase(
                category="city_management",
                description=resident.words,
                phone=resident.phone,
                contact_name=resident.name,
                location="武昌区幸福小区3栋",
                channel="telegram",
                resident_ref=resident.sender,
            ),
            Actor.resident(resident.sender),
            now=when,
        )
        for step, action in enumerate(("accept", "dispatch", "resolve"), start=1):
            apply_action(
                session,
                case,
                action,
                Actor.operator("wang"),
                ActionInput(note=f"已联系{resident.name}，电话 {resident.phone}"),
                now=when + timedelta(hours=step),
            )
        if close:
            # The resident's rating closes the case; the comment is theirs too.
            apply_action(
                session,
                case,
                "rate",
                Actor.resident(resident.sender),
                ActionInput(rating="satisfied", note=f"{resident.words}修好了，谢谢"),
                now=when + timedelta(hours=5),
            )
            assert case.status == "closed"
        record_message(session, resident.sender, IN, "resident", resident.words, now=when)
        record_message(session, resident.sender, IN, "resident", f"电话 {resident.phone}", now=when)
        record_message(session, resident.sender, OUT, "bot", f"好的，{resident.name}", now=when)
        enqueue(session, resident.sender, f"{resident.name}您好，回电 {resident.phone}", "chat")
        # A photo sent with no case open stays unlinked; its bytes carry the phone.
        jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 16 + resident.phone.encode() + b"\xff\xd9"
        save_photo(session, resident.sender, jpeg, now=when)
        number = case.number
    spool_dir = var_dir / "spool"
    spool_dir.mkdir(exist_ok=True)
    (spool_dir / f"{uuid.uuid4().hex}.bad").write_text(
        json.dumps(
            {"resident_ref": resident.sender, "phone": resident.phone, "description": "x"},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    old = when.timestamp()
    for path in spool_dir.glob("*.bad"):
        os.utime(path, (old, old))
    with transaction() as session:
        request, _ = request_deletion(session, resident.sender)
        request_id = request.id
    return number, request_id


def files_holding(var_dir: Path, resident: Resident) -> list[str]:
    """Every file under the var directory that holds one of the resident's secrets."""
    found = []
    for path in sorted(var_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [
                f"{path.relative_to(var_dir)}: {what}"
                for what, secret in resident.secrets.items()
                if secret in data
            ]
    return found


def rows_holding(url: str, resident: Resident) -> list[str]:
    """Every table of a PostgreSQL database with a row holding one of the secrets."""
    engine = create_engine(url)
    found = []
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for column in inspect(conn).get_columns(table):
                    for what, secret in resident.secrets.items():
                        hits = conn.execute(
                            text(
                                f'SELECT count(*) FROM "{table}" '
                                f'WHERE strpos(CAST("{column["name"]}" AS text), :needle) > 0'
                            ),
                            {"needle": secret.decode()},
                        ).scalar()
                        if hits:
                            found.append(f"{table}.{column['name']}: {what}")
    finally:
        engine.dispose()
    return found


@pytest.fixture()
def insecure_sqlite_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections start with ``secure_delete`` off, as on SQLite builds without
    SQLITE_SECURE_DELETE (Debian's has it on by default, which would hide a missing pragma)."""
    original = hotline.db.make_engine

    def make_engine(url: str) -> Engine:
        engine = original(url)
        if url.startswith("sqlite"):

            def insecure(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.execute("PRAGMA secure_delete=OFF")

            event.listen(engine, "connect", insecure, insert=True)
        return engine

    monkeypatch.setattr(hotline.db, "make_engine", make_engine)
    dispose_engines()


@pytest.fixture()
def sqlite_tracker(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch, insecure_sqlite_build: None
) -> dict[str, object]:
    """Rasa's SQLite tracker store in the var directory, as endpoints.yml has it."""
    path = var_dir / "rasa_tracker.db"
    monkeypatch.setenv("HOTLINE_TRACKER_STORE_URL", f"sqlite:///{path}")
    return {"dialect": "sqlite", "db": str(path)}


@pytest.fixture()
def pg_tracker(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[dict[str, object], str]]:
    """Rasa's PostgreSQL tracker store, as endpoints.scaled.yml has it, in a fresh database."""
    with fresh_postgres_database() as url:
        monkeypatch.setenv("HOTLINE_TRACKER_STORE_URL", url)
        name = url.rsplit("/", 1)[1]
        from tests.services import PG_HOST, PG_PORT

        store = {
            "dialect": "postgresql",
            "host": PG_HOST,
            "port": PG_PORT,
            "db": name,
            "username": "postgres",
        }
        yield store, url
