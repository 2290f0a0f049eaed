"""Fixtures of the similar-case tests: a deterministic stand-in encoder, a session on each
database engine, and a helper that logs cases."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session

from hotline.casework import case_vectors as vectors
from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, NewCase, apply_action, create_case
from hotline.db import transaction
from hotline.models import Case
from hotline.text_encoder import DIM

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
OPERATOR = Actor.operator("alice")


class FakeEncoder:
    """Texts as vectors the way e5 spreads Chinese reports: a large common direction (so that
    unrelated reports land near cosine 0.8) plus a hashed bag of character pairs (so that
    reports sharing words land higher, identical ones at 1)."""

    def __init__(self) -> None:
        self.encoded = 0
        self.fail = False
        common = np.random.default_rng(0).standard_normal(DIM).astype(np.float32)
        self._common = common / np.linalg.norm(common)

    def encode_one(self, text: str) -> np.ndarray:
        if self.fail:
            raise RuntimeError("encoder broken")
        self.encoded += 1
        words = np.zeros(DIM, dtype=np.float32)
        for i in range(len(text) - 1):
            digest = hashlib.sha1(text[i : i + 2].encode()).digest()
            words[int.from_bytes(digest[:4], "little") % DIM] += 1.0
        if words.any():
            words /= np.linalg.norm(words)
        vector = np.sqrt(0.8) * self._common + np.sqrt(0.2) * words
        return (vector / np.linalg.norm(vector)).astype(np.float32)

    def encode_many(self, texts: Sequence[str], *, keep: bool = False) -> np.ndarray:
        return np.stack([self.encode_one(t) for t in texts]) if texts else np.zeros((0, DIM))


@pytest.fixture()
def fake_encoder() -> Iterator[FakeEncoder]:
    """The stand-in encoder, for every vector computed during the test."""
    encoder = FakeEncoder()
    previous = vectors.set_encoder_factory(lambda: encoder)  # type: ignore[arg-type,return-value]
    yield encoder
    vectors.set_encoder_factory(previous)


@pytest.fixture()
def db(any_db_url: str, fake_encoder: FakeEncoder) -> Iterator[Session]:
    """A session on SQLite, then on PostgreSQL, committed at the end of the test."""
    with transaction(any_db_url) as session:
        yield session


@pytest.fixture()
def sqlite_db(db_url: str, fake_encoder: FakeEncoder) -> Iterator[Session]:
    """A session on SQLite only (tests of behaviour no engine changes)."""
    with transaction(db_url) as session:
        yield session


def log(
    session: Session,
    description: str,
    location: str = "",
    *,
    category: str = "city_management",
    resident: str | None = "tg:1001",
    at: datetime = NOW,
    **fields: Any,
) -> Case:
    """Logs a case reported at ``at``."""
    new = NewCase(
        category=category,
        description=description,
        location=location,
        channel="telegram",
        resident_ref=resident,
        phone=fields.pop("phone", "13812345678"),
        **fields,
    )
    case, created = create_case(session, new, Actor.resident(resident), now=at)
    assert created
    return case


def act(session: Session, case: Case, *actions: str, at: datetime = NOW, **params: Any) -> Case:
    """Performs operator actions on a case, in order."""
    for action in actions:
        note = params.get("note") or ("已处理" if action in ("resolve", "reply") else None)
        apply_action(
            session,
            case,
            action,
            OPERATOR,
            ActionInput(note=note, target=params.get("target")),
            now=at,
        )
    return case


def days(n: float) -> timedelta:
    """``n`` days."""
    return timedelta(days=n)
