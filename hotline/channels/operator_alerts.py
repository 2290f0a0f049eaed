"""Alerts to an operators' channel (e.g. a Telegram group) about new urgent and emergency cases,
and the wording of hotspot alerts (clusters found by :mod:`hotline.similarity`).

Alerts are delivered at least once: a row per case and channel is queued, sent, and marked sent.
A sender that stops between sending and marking posts that alert again after a restart, which
is harmless for operators (the case can only be accepted once). Only active console accounts
linked to the channel's user id may accept a case from an alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import apply_action, get_case
from hotline.casework.catalogue import get_catalogue
from hotline.casework.messages import format_local
from hotline.casework.vocab import Urgency
from hotline.casework.workflow import CaseStatus
from hotline.config import load_settings
from hotline.errors import ValidationError
from hotline.models import Case, CaseAlert, User, utcnow
from hotline.similarity.hotspots import ALERT_WINDOW_DAYS, Hotspot

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
ALERT_URGENCIES = (Urgency.URGENT.value, Urgency.EMERGENCY.value)
LOOKBACK = timedelta(hours=24)
"""Cases older than this are not alerted (e.g. on the first start): the queue shows them."""
STAFF_ROLES = ("operator", "supervisor", "admin")
MAX_DESCRIPTION = 200
HOTSPOT_LISTED_CASES = 5


def queue_new(
    session: Session, channel: str, *, now: datetime | None = None, lookback: timedelta = LOOKBACK
) -> int:
    """Queues an alert for each new urgent or emergency case not yet alerted on the channel.

    Returns:
        How many alerts were queued.
    """
    now = now or utcnow()
    alerted = select(CaseAlert.case_id).where(CaseAlert.channel == channel)
    cases = session.scalars(
        select(Case)
        .where(Case.urgency.in_(ALERT_URGENCIES))
        .where(Case.status == CaseStatus.NEW.value)
        .where(Case.created_at >= now - lookback)
        .where(Case.id.not_in(alerted))
        .order_by(Case.id)
    )
    queued = 0
    for case in cases:
        try:
            with session.begin_nested():
                session.add(CaseAlert(case_id=case.id, channel=channel, created_at=now))
                session.flush()
            queued += 1
        except IntegrityError:
            pass  # queued meanwhile by another process
    return queued


def due(session: Session, channel: str, *, limit: int = 20) -> list[tuple[CaseAlert, Case]]:
    """Pending alerts of a channel with their cases, oldest first."""
    rows = session.execute(
        select(CaseAlert, Case)
        .join(Case, Case.id == CaseAlert.case_id)
        .where(CaseAlert.channel == channel)
        .where(CaseAlert.status == PENDING)
        .order_by(CaseAlert.id)
        .limit(limit)
    )
    return [(alert, case) for alert, case in rows]


def mark_sent(
    session: Session, alert_id: int, message_ref: str, now: datetime | None = None
) -> None:
    """Records a posted alert and the channel's id of the message."""
    alert = session.get(CaseAlert, alert_id)
    if alert is not None:
        alert.status = SENT
        alert.attempts += 1
        alert.message_ref = message_ref
        alert.sent_at = now or utcnow()


def mark_attempt_failed(session: Session, alert_id: int, error: str, max_attempts: int) -> str:
    """Records a failed post; the alert is failed after ``max_attempts``.

    Returns:
        The alert's new status.
    """
    alert = session.get(CaseAlert, alert_id)
    if alert is None:
        return FAILED
    alert.attempts += 1
    alert.last_error = error[:500]
    if alert.attempts >= max_attempts:
        alert.status = FAILED
    return alert.status


def alert_text(case: Case) -> str:
    """The operators' alert for a case, in Chinese. It names no phone number."""
    catalogue = get_catalogue()
    name = catalogue.get(case.category).name if catalogue.has(case.category) else case.category
    description = case.description
    if len(description) > MAX_DESCRIPTION:
        description = description[:MAX_DESCRIPTION] + "…"
    lines = [
        f"【{Urgency(case.urgency).label}工单】{case.number}",
        f"类别：{name}",
        f"地点：{case.location or '未提供'}",
        f"内容：{description}",
        f"时限：{format_local(case.due_at, load_settings().timezone)} 前",
    ]
    return "\n".join(lines)


def hotspot_title(hotspot: Hotspot) -> str:
    """A hotspot's one-line name: place and topic (the category's name if both are empty)."""
    parts = [p for p in (hotspot.place, hotspot.topic) if p]
    if parts:
        return " · ".join(parts)
    catalogue = get_catalogue()
    return (
        catalogue.get(hotspot.category).name
        if catalogue.has(hotspot.category)
        else hotspot.category
    )


def hotspot_alert_text(hotspot: Hotspot, console_url: str) -> str:
    """The operators' alert for a hotspot that grew past the alert size, in Chinese.

    It names the place, the topic, how many cases and the newest ones, and links to the
    hotspots page; it names no resident.
    """
    catalogue = get_catalogue()
    name = (
        catalogue.get(hotspot.category).name
        if catalogue.has(hotspot.category)
        else hotspot.category
    )
    numbers = list(hotspot.case_numbers)
    listed = "、".join(numbers[:HOTSPOT_LISTED_CASES])
    if len(numbers) > HOTSPOT_LISTED_CASES:
        listed += f" 等 {len(numbers)} 件"
    tz = load_settings().timezone
    lines = [
        f"🔥 热点预警：{hotspot_title(hotspot)}（{hotspot.count} 件）",
        f"类别：{name}",
        f"地点：{hotspot.place or '未提供'}",
        f"最近一件：{format_local(hotspot.latest_at, tz)}",
        f"工单：{listed}",
        "请核对是否同一问题，合并办理、统一回复。",
        f"查看：{console_url.rstrip('/')}/hotspots?days={ALERT_WINDOW_DAYS}#hotspot-{hotspot.key}",
    ]
    return "\n".join(lines)


def accepted_text(case: Case, user: User) -> str:
    """The line added to an alert once an operator accepted the case."""
    return f"✅ 已由 {user.display_name or user.username} 受理"


def staff_for_channel_user(session: Session, telegram_user_id: int) -> User | None:
    """The active console account linked to a Telegram user, if any."""
    user = session.scalar(select(User).where(User.telegram_user_id == telegram_user_id))
    if user is None or not user.active or user.role not in STAFF_ROLES:
        return None
    return user


def link_telegram(session: Session, username: str, telegram_user_id: int | None) -> User:
    """Links a console account to a Telegram user (None unlinks), so they may press 受理.

    Raises:
        ValidationError: When there is no such account, or the Telegram user is linked to
            another account.
    """
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise ValidationError("user", f"没有名为「{username}」的账号")
    if telegram_user_id is not None:
        other = session.scalar(select(User).where(User.telegram_user_id == telegram_user_id))
        if other is not None and other.id != user.id:
            raise ValidationError(
                "telegram_user_id", f"该 Telegram 用户已绑定账号「{other.username}」"
            )
    user.telegram_user_id = telegram_user_id
    session.flush()
    return user


def accept(session: Session, number: str, user: User, now: datetime | None = None) -> Case:
    """An operator accepts (受理) a case from an alert.

    Raises:
        NotFoundError: When the case does not exist.
        InvalidTransitionError: When it was accepted (or otherwise moved on) already.
    """
    case = get_case(session, number)
    return apply_action(session, case, "accept", Actor.operator(user.username, user.id), now=now)
