"""The queue's filters, read from query parameters; shared by the pages and the JSON API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.casework.cases import CaseFilter
from hotline.casework.catalogue import get_catalogue
from hotline.casework.vocab import Urgency
from hotline.casework.workflow import OPEN_STATUSES, CaseStatus
from hotline.errors import ValidationError
from hotline.models import User

VIEWS = {
    "open": "待处理",
    "mine": "我的",
    "unassigned": "未分配",
    "followup": "待回访",
    "all": "全部",
}
"""The queue's views: the open cases, mine, unassigned, waiting for follow-up, everything."""
OPEN = [s.value for s in CaseStatus if s in OPEN_STATUSES]
MAX_LIMIT = 500
MAX_TEXT = 100


@dataclass
class QueueQuery:
    """A parsed queue query: the view, the filter to run, and the values to show in the form."""

    view: str
    filter: CaseFilter
    base: CaseFilter
    values: dict[str, str] = field(default_factory=dict)


def _one_of(value: str, allowed: list[str], name: str, message: str) -> str:
    if value and value not in allowed:
        raise ValidationError(name, message)
    return value


def parse_queue(
    session: Session,
    params: Mapping[str, str],
    user_id: int | None,
    *,
    limit: int = 200,
    offset: int = 0,
) -> QueueQuery:
    """Reads the queue filters.

    Args:
        params: ``view``, ``status``, ``category``, ``urgency``, ``department``, ``assignee``
            (a username, ``me`` or ``none``), ``overdue`` (``1``) and ``q`` (number,
            description or the phone's last 4 digits).
        user_id: The asking user, for ``view=mine`` and ``assignee=me``.

    Returns:
        The query; ``base`` is the filter without the status, for the counts per status.

    Raises:
        ValidationError: For an unknown view, status, category, urgency or assignee.
    """
    get = {k: (params.get(k) or "").strip() for k in VALID_PARAMS}
    view = _one_of(get["view"] or "open", list(VIEWS), "view", "未知的视图")
    status = _one_of(get["status"], [s.value for s in CaseStatus], "status", "未知的状态")
    category = _one_of(get["category"], get_catalogue().codes, "category", "未知的服务类别")
    urgency = _one_of(get["urgency"], [u.value for u in Urgency], "urgency", "未知的紧急程度")
    overdue = get["overdue"] in ("1", "true", "on", "yes")
    if get["overdue"] and get["overdue"] not in (
        "0",
        "1",
        "true",
        "false",
        "on",
        "off",
        "yes",
        "no",
    ):
        raise ValidationError("overdue", "取值须为 1 或 0")
    text = get["q"]
    if len(text) > MAX_TEXT:
        raise ValidationError("q", f"搜索内容最多 {MAX_TEXT} 字")
    department = get["department"][:64]
    base = CaseFilter(
        category=category or None,
        urgency=urgency or None,
        department=department or None,
        overdue=overdue,
        text=text or None,
        limit=max(1, min(limit, MAX_LIMIT)),
        offset=max(0, offset),
    )
    assignee = get["assignee"]
    if assignee == "none":
        base.unassigned = True
    elif assignee == "me":
        base.assignee_id = user_id if user_id is not None else -1
    elif assignee:
        found = session.scalar(select(User.id).where(User.username == assignee))
        if found is None:
            raise ValidationError("assignee", f"没有名为「{assignee}」的账号")
        base.assignee_id = found
    statuses: list[str] = []
    if view == "mine":
        base.assignee_id = user_id if user_id is not None else -1
        statuses = OPEN
    elif view == "unassigned":
        base.unassigned = True
        statuses = OPEN
    elif view == "followup":
        statuses = [CaseStatus.RESOLVED.value]
    elif view == "open":
        statuses = OPEN
    flt = CaseFilter(**{**base.__dict__, "statuses": [status] if status else statuses})
    base_view = CaseFilter(**{**base.__dict__, "statuses": statuses})
    values = {k: v for k, v in get.items() if v}
    values["view"] = view
    return QueueQuery(view=view, filter=flt, base=base_view, values=values)


VALID_PARAMS = (
    "view",
    "status",
    "category",
    "urgency",
    "department",
    "assignee",
    "overdue",
    "q",
)


def queue_url(values: Mapping[str, str], **changes: str | None) -> str:
    """The queue's URL with some filter values changed (None or '' removes one)."""
    from urllib.parse import urlencode

    merged = {k: v for k, v in values.items() if v}
    for key, value in changes.items():
        if value:
            merged[key] = value
        else:
            merged.pop(key, None)
    ordered = [(k, merged[k]) for k in VALID_PARAMS if k in merged]
    return "/cases" + (f"?{urlencode(ordered)}" if ordered else "")
