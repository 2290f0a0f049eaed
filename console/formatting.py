"""How the console writes times, durations and audit actions, in Chinese."""

from __future__ import annotations

from datetime import datetime

from hotline.casework.workflow import TRANSITIONS
from hotline.config import load_settings
from hotline.models import utcnow

EXTRA_ACTION_LABELS = {
    "create": "登记",
    "reveal_phone": "查看完整电话",
    "merged_from": "合并来源",
    "rate": "回访评价",
    "add_info": "补充情况",
    "co_reported": "共同反映",
    "co_reporter_rate": "共同反映人评价",
    "co_reporter_comment": "共同反映人意见",
}


def local_time(value: datetime | None, with_year: bool = False) -> str:
    """A timestamp in the hotline's time zone: ``11-23 15:51`` (or with the year)."""
    if value is None:
        return ""
    local = value.astimezone(load_settings().timezone)
    return local.strftime("%Y-%m-%d %H:%M" if with_year else "%m-%d %H:%M")


def duration(seconds: float) -> str:
    """A duration the way operators say it: ``2天3小时``, ``5小时12分``, ``8分钟``."""
    total = int(abs(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    if minutes:
        return f"{minutes}分钟"
    return "不到1分钟"


def time_left(due: datetime, now: datetime | None = None) -> str:
    """``剩余 …`` before a deadline, ``超时 …`` after it."""
    delta = (due - (now or utcnow())).total_seconds()
    return f"剩余 {duration(delta)}" if delta >= 0 else f"超时 {duration(delta)}"


def waited(since: datetime | None, now: datetime | None = None) -> str:
    """How long ago something started: ``已等待 5分钟``."""
    if since is None:
        return ""
    return duration(((now or utcnow()) - since).total_seconds())


def action_label(action: str) -> str:
    """The Chinese label of an audit action."""
    transition = TRANSITIONS.get(action)
    if transition is not None:
        return transition.label
    return EXTRA_ACTION_LABELS.get(action, action)
