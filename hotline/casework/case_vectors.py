"""Each case's description embedding and place key, stored with the case (``case_vectors``).

Vectors are computed once, when the case is created, by the process's one encoder
(:func:`hotline.text_encoder.shared_encoder`, loaded on first use), and stored as int8 (384
bytes a case, :func:`pack`). A failure to encode never loses a case: the row is written
without a vector and ``hotline similar backfill`` fills it in later.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.casework.places import place_key
from hotline.models import Case, CaseVector, utcnow
from hotline.text_encoder import DIM, MODEL_NAME, SentenceEncoder, shared_encoder

log = logging.getLogger(__name__)
STORED_DTYPE = np.dtype("i1")

_encoder_factory: Callable[[], SentenceEncoder] = shared_encoder


def encoder() -> SentenceEncoder:
    """The process's encoder (loaded on first use, then reused)."""
    return _encoder_factory()


def set_encoder_factory(factory: Callable[[], SentenceEncoder]) -> Callable[[], SentenceEncoder]:
    """Replaces where the encoder comes from (tests, benchmarks); returns the previous one."""
    global _encoder_factory
    previous, _encoder_factory = _encoder_factory, factory
    return previous


MIN_PLACE_CHARS = 3
"""Shared stretches of location and description this long are taken out of the description
(shorter ones are words like 小区, 门口 that say nothing about the place)."""
MAX_PLACE_CHARS = 60
MIN_PROBLEM_HANZI = 4
_HANZI = re.compile(r"[\u4e00-\u9fff]")


def problem_text(description: str, location: str | None) -> str:
    """The description without the place it names, which is what is encoded.

    Residents name the place in their description too (「关于滨湖花园北门外路灯长期不亮的问题」
    at 「滨湖花园北门」). Left in, the place dominates the embedding: two different problems at
    one place look alike, and one problem named with different wordings of its place does
    not. The place is compared on its own (:mod:`hotline.casework.places`), so every stretch
    of at least three characters the description shares with the location (as written, or
    normalised) is taken out. When too little would be left, the description is kept whole.
    """
    text = description.strip()
    for source in dict.fromkeys(((location or "").strip(), place_key(location))):
        size = min(len(source), MAX_PLACE_CHARS)
        for length in range(size, MIN_PLACE_CHARS - 1, -1):
            for start in range(size - length + 1):
                part = source[start : start + length]
                if part in text and _HANZI.search(part):
                    text = text.replace(part, "")
    return text if len(_HANZI.findall(text)) >= MIN_PROBLEM_HANZI else description.strip()


def encode(description: str, location: str | None = None) -> np.ndarray:
    """The L2-normalised embedding of a report's problem (:func:`problem_text`; float32, zeros
    for a text too short to mean anything). The encoder caches recent texts, so a draft
    encoded during the conversation is not encoded again when its case is created."""
    return encoder().encode_one(problem_text(description, location))


def pack(vector: np.ndarray) -> bytes:
    """A vector as stored: int8, scaled so that its largest component is ±127 (384 bytes).

    Only the direction matters (cosines), so no scale is kept: :func:`unpack` renormalises.
    Against float32, cosines move by at most 0.001 on the dev set's reports, and fetching
    the candidates takes half the time it takes with float16.
    """
    values = np.asarray(vector, dtype=np.float32)
    largest = float(np.abs(values).max()) if values.size else 0.0
    if largest == 0.0:
        return np.zeros(values.shape, dtype=STORED_DTYPE).tobytes()
    return np.round(values * (127.0 / largest)).astype(STORED_DTYPE).tobytes()


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))
    norms[norms == 0] = 1.0
    return matrix / norms[:, None]


def unpack(blob: bytes) -> np.ndarray:
    """A stored vector as a float32 unit vector (zeros stay zeros)."""
    return unpack_many([blob])[0]


def unpack_many(blobs: Sequence[bytes]) -> np.ndarray:
    """Stored vectors as one float32 matrix of unit rows (in one copy, for speed)."""
    if not blobs:
        return np.zeros((0, DIM), dtype=np.float32)
    joined = b"".join(blobs)
    raw = np.frombuffer(joined, dtype=STORED_DTYPE).reshape(len(blobs), DIM)
    return _normalised(raw.astype(np.float32))


def try_encode(description: str, location: str | None = None) -> np.ndarray | None:
    """:func:`encode`, or None (logged) when the encoder fails: a case is never lost for it."""
    try:
        return encode(description, location)
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
        vector = try_encode(case.description, case.location)
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
    """Updates a case's stored vector and place key after its location changed (the encoded
    text leaves the place out, so it may change too). Never raises."""
    try:
        with session.begin_nested():
            store_case_vector(session, case)
    except Exception:
        log.exception("could not update the vector of case %s", case.number)


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
            vectors = encoder().encode_many(
                [problem_text(c.description, c.location) for c in cases]
            )
        except Exception:
            log.exception("could not encode %d cases", len(cases))
            failed.update(c.id for c in cases)
            report.failed += len(cases)
            continue
        for case, vector in zip(cases, vectors, strict=True):
            store_case_vector(session, case, vector)
        report.encoded += len(cases)
