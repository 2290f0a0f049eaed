"""Texts residents receive about their cases, in Simplified Chinese: the one home for them.

Every front end (the assistant's actions, the gateway, the spool, the bot's commands, the
console's handoff) takes a case's wording from here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from hotline.casework.catalogue import Catalogue, get_catalogue
from hotline.casework.vocab import Satisfaction, Urgency
from hotline.casework.workflow import OPEN_STATUSES, CaseStatus
from hotline.config import load_settings

if TYPE_CHECKING:
    from hotline.models import Case

LOGGED = "已为您登记，"
"""The lead of :func:`case_logged` when the resident has just confirmed a report."""
LOGGED_DESPITE_AN_ERROR = "系统刚才出了点问题，但您反映的问题已经登记成功，不需要重复提交。\n"
"""The lead when an answer was lost after the case was saved (the gateway tells the number)."""
RECOVERED = "系统已恢复，您之前反映的问题已登记"
"""How the notice for a report kept while the database was down starts (the spool finds the
notices it already queued by this)."""
LOGGED_BY_OPERATOR = "工作人员已为您登记，"
"""The lead when an operator registered the case from the resident's conversation."""


def format_local(dt: datetime, tz: ZoneInfo, with_time: bool = True) -> str:
    """Formats a deadline or timestamp the way residents read dates: 2026年10月13日 18:00."""
    local = dt.astimezone(tz)
    text = f"{local.year}年{local.month}月{local.day}日"
    return f"{text} {local:%H:%M}" if with_time else text


def status_message(
    action: str,
    number: str,
    *,
    department: str | None = None,
    due: str | None = None,
    note: str | None = None,
    target: str | None = None,
) -> str | None:
    """The resident's notice for an action on their case, or None when they need none."""
    texts = {
        "accept": f"您的工单 {number} 已受理，我们会尽快安排处理。",
        "dispatch": f"您的工单 {number} 已派送至「{department}」办理，预计 {due} 前办结。",
        "start": f"您的工单 {number} 正在由「{department}」办理中。",
        "reply": f"关于工单 {number}，热线工作人员回复您：\n{note}",
        "merge": (
            f"您反映的问题与工单 {target} 是同一件事，已合并办理。请以工单 {target} 查询后续进度。"
        ),
        "reopen": f"您的工单 {number} 已重新办理，我们会再次跟进。",
        "cancel": f"您的工单 {number} 已撤回。如还需要帮助，随时告诉我。",
    }
    return texts.get(action)


def survey_message(number: str, resolution: str) -> str:
    """The follow-up (回访) question sent when a case is resolved."""
    return f"您的工单 {number} 已办结。\n办理结果：{resolution}\n\n请您对本次办理进行评价："


def survey_buttons(number: str) -> list[dict[str, str]]:
    """Rating buttons; each payload is a Rasa intent the assistant handles on any channel."""
    return [
        {
            "title": rating.label,
            "payload": f'/rate_case{{"case_number": "{number}", "rating": "{rating.value}"}}',
        }
        for rating in Satisfaction
    ]


def case_logged(case: Case, tz: ZoneInfo, lead: str = LOGGED) -> str:
    """The resident's confirmation that a case was logged: number, office, deadline, how to ask.

    Args:
        case: The case just logged.
        tz: Local time, for the deadline (with the hour when the case is urgent).
        lead: What comes before ``工单编号``, with its own punctuation.
    """
    due = format_local(case.due_at, tz, with_time=case.urgency != Urgency.NORMAL.value)
    return (
        f"{lead}工单编号：{case.number}\n承办单位：{case.department}\n办理时限：{due}前\n"
        f"查询进度请发送「查询 {case.number}」。处理有进展时我们会通知您。"
    )


def case_summary(case: Case, tz: ZoneInfo | None = None, catalogue: Catalogue | None = None) -> str:
    """One case as residents read it when they ask about its progress."""
    tz = tz or load_settings().timezone
    catalogue = catalogue or get_catalogue()
    status = CaseStatus(case.status)
    lines = [f"工单 {case.number}：{status.label}"]
    if catalogue.has(case.category):
        lines.append(f"类别：{catalogue.get(case.category).name}")
    lines.append(f"问题：{case.description[:60]}")
    if case.department:
        lines.append(f"承办单位：{case.department}")
    if status in OPEN_STATUSES:
        lines.append(f"办理时限：{format_local(case.due_at, tz, with_time=False)}前")
    if case.resolution:
        lines.append(f"办理结果：{case.resolution}")
    if case.merged_into:
        lines.append(f"已合并到工单 {case.merged_into}")
    return "\n".join(lines)
