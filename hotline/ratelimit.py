"""Rate limits for the channels where systems, not residents, create cases.

Residents on Telegram and the web chat are limited per sender by :mod:`hotline.gateway`
(20 messages a minute). Partners on Open311 and integrations on the JSON API create cases
directly; each is limited per sender (the api_key's partner, the token's account) by counting
the cases it created in the last minute. The count is read from the audit log, so every
console process and machine sees the same number.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.actors import Actor
from hotline.errors import HotlineError
from hotline.models import CaseEvent, utcnow

WINDOW = timedelta(minutes=1)
DEFAULT_CASES_PER_MINUTE = 60


class RateLimitedError(HotlineError):
    """A sender created too many cases in the last minute (HTTP 429)."""

    http_status = 429

    def __init__(self, limit: int) -> None:
        super().__init__(f"提交过于频繁（每分钟最多 {limit} 件），请稍后再试")
        self.limit = limit


def cases_per_minute() -> int:
    """``HOTLINE_CASES_PER_MINUTE``: cases one partner or account may create a minute."""
    raw = os.environ.get("HOTLINE_CASES_PER_MINUTE", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_CASES_PER_MINUTE


def created_recently(session: Session, actor: Actor, now: datetime | None = None) -> int:
    """How many cases ``actor`` created in the last minute."""
    since = (now or utcnow()) - WINDOW
    count = session.scalar(
        select(func.count())
        .select_from(CaseEvent)
        .where(CaseEvent.action == "create")
        .where(CaseEvent.actor_kind == actor.kind.value)
        .where(CaseEvent.actor == actor.name)
        .where(CaseEvent.at >= since)
    )
    return int(count or 0)


def check_case_rate(session: Session, actor: Actor, now: datetime | None = None) -> None:
    """Refuses one more case from ``actor`` when it reached the limit.

    Raises:
        RateLimitedError: When ``actor`` created the limit's number of cases in the last minute.
    """
    limit = cases_per_minute()
    if created_recently(session, actor, now) >= limit:
        raise RateLimitedError(limit)
