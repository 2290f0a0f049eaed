"""Every text of the similar-case features that operators or residents read, in one place
(the assistant's question to a resident is the domain response ``utter_ask_same_problem``,
filled with :func:`status_phrase`)."""

from __future__ import annotations

from hotline.casework.vocab import Satisfaction
from hotline.casework.workflow import CaseStatus

SAME_PLACE = "同一地点"
NEARBY_PLACE = "附近地点"
SIMILAR_DESCRIPTION = "相似描述"
RELATED_CATEGORY = "相关类别"
"""The reason when neither place nor description is strong on its own (a weak match)."""
JOIN = " + "

CO_REPORTED_NOTE = "居民反映同一问题，已作为共同反映人加入"
CO_REPORTER_CANCELLED = (
    "您一同反映的工单 {number} 已由首位反映人撤回。如问题仍未解决，请重新向我们反映。"
)
"""What co-reporters are told when the case's reporter withdraws it."""


def reason(*, same_place: bool, nearby_place: bool, similar_description: bool) -> str:
    """The reason shown with a suggestion, from the signals that fired, e.g. 「同一地点 +
    相似描述」."""
    parts = []
    if same_place:
        parts.append(SAME_PLACE)
    elif nearby_place:
        parts.append(NEARBY_PLACE)
    if similar_description:
        parts.append(SIMILAR_DESCRIPTION)
    return JOIN.join(parts) or RELATED_CATEGORY


def status_phrase(status: str) -> str:
    """How a case's state reads in the duplicate question (「正在办理」, 「已办结」 …); a text
    that is no state code is returned as it is."""
    try:
        value = CaseStatus(status)
    except ValueError:
        return status
    if value in (CaseStatus.NEW, CaseStatus.ACCEPTED, CaseStatus.RETURNED):
        return "已受理，等待派单"
    if value in (CaseStatus.DISPATCHED, CaseStatus.IN_PROGRESS):
        return "正在办理"
    return value.label


def co_reporter_rated(number: str, rating: Satisfaction) -> str:
    """What a co-reporter is told after rating (their rating does not close or reopen the
    case; a dissatisfied one is asked what is wrong)."""
    if rating is Satisfaction.DISSATISFIED:
        return (
            f"已记录您对工单 {number} 的评价（{rating.label}）。"
            "请告诉我哪里还没有解决，工作人员会看到您的意见。"
        )
    return f"感谢您的评价（{rating.label}），已记录到工单 {number}。"
