"""The follow-up (回访) after a case is resolved: closing cases whose survey got no answer."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, apply_action
from hotline.casework.workflow import CaseStatus
from hotline.models import Case, utcnow

ANSWER_DAYS = 3
"""Days a resident has to answer the survey before the case is closed without a rating."""

SYSTEM_ACTOR = Actor.system("followup")


def unanswered(
    session: Session, now: datetime | None = None, days: int = ANSWER_DAYS
) -> list[Case]:
    """Resolved cases whose survey has gone unanswered for ``days`` days, oldest first."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    return list(
        session.scalars(
            select(Case)
            .where(Case.status == CaseStatus.RESOLVED.value)
            .where(Case.satisfaction.is_(None))
            .where(Case.resolved_at.is_not(None))
            .where(Case.resolved_at <= cutoff)
            .order_by(Case.resolved_at, Case.id)
        )
    )


def close_unanswered(
    session: Session, now: datetime | None = None, days: int = ANSWER_DAYS
) -> list[str]:
    """Closes resolved cases without a survey answer after ``days`` days.

    Each close is an audit event by the system actor ``followup``, with the reason as its note.

    Returns:
        The numbers of the closed cases.
    """
    now = now or utcnow()
    closed = []
    for case in unanswered(session, now, days):
        apply_action(
            session,
            case,
            "close",
            SYSTEM_ACTOR,
            ActionInput(note=f"回访 {days} 天未获答复，系统自动归档"),
            now=now,
        )
        closed.append(case.number)
    return closed
