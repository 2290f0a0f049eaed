"""Case numbers: prefix + local date + '-' + a daily sequence, e.g. SQ20261123-0007."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hotline.models import CaseSequence

# No \b: Chinese characters count as word characters, and residents write 查一下SQ…
CASE_NUMBER_PATTERN = re.compile(r"(?<![A-Z0-9])([A-Z]{2,4}\d{8}-\d{4,})(?!\d)")


def next_case_number(session: Session, prefix: str, local_now: datetime) -> str:
    """Allocates the next number of the day, atomically, inside the caller's transaction.

    One upsert statement increments the day's counter, so concurrent creators on SQLite and
    PostgreSQL always get distinct numbers. A rolled-back transaction may leave a gap.

    Args:
        session: The session of the transaction that creates the case.
        prefix: The case-number prefix (``HOTLINE_CASE_PREFIX``).
        local_now: The current time in the hotline's time zone.
    """
    day = local_now.strftime("%Y%m%d")
    key = f"{prefix}{day}"
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(CaseSequence)
        .values(key=key, last=1)
        .on_conflict_do_update(
            index_elements=[CaseSequence.key], set_={"last": CaseSequence.last + 1}
        )
        .returning(CaseSequence.last)
    )
    value = session.execute(stmt).scalar_one()
    return f"{key}-{value:04d}"


def find_case_numbers(text: str) -> list[str]:
    """Case numbers written in a message, upper-cased (residents type ``sq2026…`` too)."""
    return CASE_NUMBER_PATTERN.findall((text or "").upper())
