"""Short references for button payloads that do not fit a channel's button data.

A Telegram inline button carries at most 64 bytes of callback data, while Rasa payloads such as
``/rate_case{"case_number": "...", "rating": "..."}`` are longer. Such a payload is stored once
under a reference derived from its own hash, so the same payload always gets the same
reference, storing it again is harmless, and a button keeps working after a restart.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.models import ButtonPayload

REF_LENGTH = 20
"""Hex characters of the SHA-256 digest kept as the reference (80 bits)."""


def ref_of(payload: str) -> str:
    """The reference a payload is stored under."""
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:REF_LENGTH]


def store(session: Session, payload: str) -> str:
    """Stores a payload (if it is not stored yet) and returns its reference."""
    ref = ref_of(payload)
    if session.get(ButtonPayload, ref) is None:
        try:
            with session.begin_nested():
                session.add(ButtonPayload(ref=ref, payload=payload))
                session.flush()
        except IntegrityError:
            pass  # stored meanwhile by another process: same ref, same payload
    return ref


def lookup(session: Session, ref: str) -> str | None:
    """The payload stored under a reference, or None for an unknown one."""
    row = session.get(ButtonPayload, ref.strip().lower())
    return row.payload if row is not None else None
