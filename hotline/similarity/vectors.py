"""Each case's description embedding and place key, stored with the case (``case_vectors``).

Vectors are computed once, when the case is created, by the process's one encoder
(:func:`hotline.text_encoder.shared_encoder`, loaded on first use), and stored as float16
(768 bytes a case). A failure to encode never loses a case: the row is written without a
vector and ``hotline similar backfill`` fills it in later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import Case, CaseVector, utcnow
from hotline.similarity.places import place_key
from hotline.text_encoder import DIM, MODEL_NAME, SentenceEncoder, shared_encoder

log = logging.getLogger(__name__)
STORED_DTYPE = np.dtype("<f2")

_encoder_factory: Callable[[], SentenceEncoder] = shared_encoder


def encoder() -> SentenceEncoder:
    """The process's encoder (loaded on first use, then reused)."""
    return _encoder_factory()


def set_encoder_factory(factory: Callable[[], SentenceEncoder]) -> Callable[[], SentenceEncoder]:
    """Replaces where the encoder comes from (tests, benchmarks); returns the previous one."""
    global _encoder_factory
    previous, _encoder_factory = _encoder_factory, factory
    return previous


def encode(text: str) -> np.ndarray:
    """The L2-normalised embedding of a description (float32; zeros for a text too short to
    mean anything). The encoder caches recent texts, so a draft's description encoded during
    the conversation is not encoded again when the case is created."""
    return encoder().encode_one(text)


def pack(vector: np.ndarray) -> bytes:
    """A vector as stored: float16, little-endian."""
    return np.asarray(vector, dtype=np.float32).astype(STORED_DTYPE).tobytes()


def unpack(blob: bytes) -> np.ndarray:
    """A stored vector as float32."""
    return np.frombuffer(blob, dtype=STORED_DTYPE).astype(np.float32)


def unpack_many(blobs: Sequence[bytes]) -> np.ndarray:
    """Stored vectors as one float32 matrix, a row each (in one copy, for speed)."""
    if not blobs:
        return np.zeros((0, DIM), dtype=np.float32)
    joined = b"".join(blobs)
    return np.frombuffer(joined, dtype=STORED_DTYPE).reshape(len(blobs), DIM).astype(np.float32)


def try_encode(text: str) -> np.ndarray | None:
    """:func:`encode`, or None (logged) when the encoder fails: a case is never lost for it."""
    try:
        return encode(text)
    except Exception:  # any failure of the model (missing, broken) must not cost the case
        log.exception("could not encode a case description; `hotline similar backfill` retries")
        return None


def store_case_vector(session: Session, case: Case, vector: np.ndarray | None = None) -> CaseVector:
    """Writes (or rewrites) a case's vector row: its description's embedding and its place key.

    Args:
        vector: The embedding when the caller has it; else the description is encoded. If
            encoding fails, the row is written without a vector (logged).
    """
    if vector is None:
        vector = try_encode(case.description)
    row = session.get(CaseVector, case.id)
    if row is None:
        row = CaseVector(case_id=case.id, created_at=utcnow())
        session.add(row)
    row.model = MODEL_NAME
    row.vector = pack(vector) if vector is not None else None
    row.place_key = place_key(case.location)[:255]
    session.flush()
    return row


def save_new_case_vector(session: Session, case: Case, vector: np.ndarray | None) -> None:
    """Stores the vector of a case just created (None: encoding failed, the row records the
    place only). Never raises: a case is never lost for its vector."""
    try:
        with session.begin_nested():
            row = CaseVector(
                case_id=case.id,
                model=MODEL_NAME,
                vector=pack(vector) if vector is not None else None,
                place_key=place_key(case.location)[:255],
                created_at=case.created_at,
            )
            session.add(row)
            session.flush()
    except Exception:
        log.exception("could not store the vector of case %s", case.number)


def refresh_place(session: Session, case: Case) -> None:
    """Updates a case's stored place key after its location changed."""
    row = session.get(CaseVector, case.id)
    if row is not None:
        row.place_key = place_key(case.location)[:255]


def forget_vector(session: Session, case: Case) -> None:
    """Deletes a case's vector (it is derived from the resident's words: anonymisation)."""
    row = session.get(CaseVector, case.id)
    if row is not None:
        session.delete(row)


@dataclass
class BackfillReport:
    """What a backfill did."""

    encoded: int = 0
    failed: int = 0


def missing_vectors(session: Session, limit: int | None = None) -> list[Case]:
    """Cases that need a vector: none stored, or stored without one (encoding failed), and
    not anonymised or answered by the assistant."""
    stmt = (
        select(Case)
        .outerjoin(CaseVector, CaseVector.case_id == Case.id)
        .where(
            (CaseVector.case_id.is_(None)) | (CaseVector.vector.is_(None)),
            Case.anonymised_at.is_(None),
            Case.faq_topic.is_(None),
        )
        .order_by(Case.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def backfill(session: Session, *, batch: int = 64) -> BackfillReport:
    """Encodes and stores the vectors of every case that lacks one, in batches. A batch the
    encoder fails on is counted and skipped (logged), so one bad text cannot stop the rest."""
    report = BackfillReport()
    failed: set[int] = set()
    while True:
        pending = missing_vectors(session, limit=batch + len(failed))
        cases = [c for c in pending if c.id not in failed][:batch]
        if not cases:
            return report
        try:
            vectors = encoder().encode_many([c.description for c in cases])
        except Exception:
            log.exception("could not encode %d cases", len(cases))
            failed.update(c.id for c in cases)
            report.failed += len(cases)
            continue
        for case, vector in zip(cases, vectors, strict=True):
            store_case_vector(session, case, vector)
        report.encoded += len(cases)
