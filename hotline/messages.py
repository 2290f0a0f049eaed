"""Texts residents receive about their cases, in Simplified Chinese."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hotline.vocab import Satisfaction


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
