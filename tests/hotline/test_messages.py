"""The resident's case wording, from its one home (hotline/casework/messages.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hotline.casework.messages import (
    LOGGED_DESPITE_AN_ERROR,
    RECOVERED,
    case_logged,
    case_summary,
)
from hotline.casework.vocab import LabelledEnum, Urgency
from hotline.casework.workflow import CaseStatus
from hotline.models import Case

TZ = ZoneInfo("Asia/Shanghai")
DUE = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai


def a_case(**fields: object) -> Case:
    values: dict[str, object] = {
        "number": "SQ20261123-0007",
        "status": "accepted",
        "category": "city_management",
        "description": "小区门口的路灯一到晚上就不亮，已经一个星期了",
        "department": "街道城管执法中队",
        "due_at": DUE,
        "urgency": "normal",
        "resolution": None,
        "merged_into": None,
    }
    values.update(fields)
    return Case(**values)


def test_case_logged_names_number_office_deadline_and_how_to_ask() -> None:
    assert case_logged(a_case(), TZ) == (
        "已为您登记，工单编号：SQ20261123-0007\n承办单位：街道城管执法中队\n"
        "办理时限：2026年11月30日前\n"
        "查询进度请发送「查询 SQ20261123-0007」。处理有进展时我们会通知您。"
    )


def test_an_urgent_case_gets_the_hour_and_each_sender_its_own_lead() -> None:
    urgent = a_case(urgency=Urgency.URGENT.value)
    assert "办理时限：2026年11月30日 18:00前" in case_logged(urgent, TZ)
    after_error = case_logged(a_case(), TZ, LOGGED_DESPITE_AN_ERROR)
    assert after_error.startswith("系统刚才出了点问题，但您反映的问题已经登记成功")
    assert after_error.endswith(case_logged(a_case(), TZ).split("，", 1)[1])
    assert case_logged(a_case(), TZ, f"{RECOVERED}。\n").startswith(RECOVERED)


def test_case_summary_of_an_open_case() -> None:
    assert case_summary(a_case(), TZ) == (
        "工单 SQ20261123-0007：已受理\n类别：城市管理\n"
        "问题：小区门口的路灯一到晚上就不亮，已经一个星期了\n"
        "承办单位：街道城管执法中队\n办理时限：2026年11月30日前"
    )


def test_case_summary_of_a_finished_case_shows_the_result_not_a_deadline() -> None:
    resolved = case_summary(a_case(status="resolved", resolution="灯具已更换"), TZ)
    assert resolved.endswith("承办单位：街道城管执法中队\n办理结果：灯具已更换")
    merged = case_summary(a_case(status="closed", merged_into="SQ20261123-0003"), TZ)
    assert "办理时限" not in merged and merged.endswith("已合并到工单 SQ20261123-0003")
    unknown = case_summary(a_case(category="retired_code"), TZ)
    assert "类别" not in unknown


def test_label_of_a_stored_code() -> None:
    assert CaseStatus.label_of("in_progress") == "办理中"
    assert CaseStatus.label_of(None) == CaseStatus.label_of("") == ""
    assert Urgency.label_of("someday") == "someday"
    assert issubclass(CaseStatus, LabelledEnum)
