"""One problem, two residents (issue 14), through the real Rasa server, action server and DB.

Two residents report the same broken street lamp at the same place in their own words. The
second is asked whether it is the problem an open case already has: yes makes them a
co-reporter (one case; both get the resolution notice and the survey), no logs a second case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, apply_action, get_case
from hotline.casework.co_reporters import co_reporters
from hotline.db import transaction
from hotline.models import Case, CaseEvent, OutboxMessage
from tests.dialogue.conversation import Conversation, Reply, texts
from tests.servers import Stack

pytestmark = pytest.mark.slow

ASKED_SAME = "是否为同一问题"
SUMMARY = "请核对登记信息"
NUMBER = re.compile(r"SQ\d{8}-\d{4}")


@dataclass
class Resident(Conversation):
    """One resident who reports a problem."""

    def report(self, first: str, answers: dict[str, str]) -> Reply:
        """Describes the problem and answers the form until the summary or the same-problem
        question, whichever comes first; returns that reply."""
        replies = self.say(first)
        for _ in range(8):
            text = texts(replies)
            if ASKED_SAME in text or SUMMARY in text:
                return replies
            if "哪一类" in text:
                replies = self.say('/choose_category{"category": "city_management"}')
            elif "在哪里" in text or "位置不够具体" in text:
                replies = self.say(answers["location"])
            elif "联系电话" in text:
                replies = self.say(answers["phone"])
            elif "怎么称呼" in text:
                replies = self.say(answers["contact_name"])
            else:
                pytest.fail(f"unexpected reply:\n{self.transcript()}")
        pytest.fail(f"the form never ended:\n{self.transcript()}")

    def cases(self, db_url: str) -> list[Case]:
        """The cases this resident logged."""
        return self.all_cases(db_url)


def _buttons(replies: Reply) -> list[tuple[str, str]]:
    return [(b["title"], b["payload"]) for r in replies for b in r.get("buttons") or []]


def first_report(stack: Stack, first: str, place: str) -> tuple[Resident, str]:
    """A resident reports the problem and confirms: the one case, never a question."""
    resident = Resident(stack)
    answers = {"location": place, "phone": "13812345678", "contact_name": "王先生"}
    summary = resident.report(first, answers)
    assert SUMMARY in texts(summary), resident.transcript()
    done = texts(resident.say("/affirm"))
    [number] = set(NUMBER.findall(done)) or {None}
    assert number, resident.transcript()
    return resident, number


def second_report(
    stack: Stack, place: str, first: str, second: str, name: str
) -> tuple[Resident, Resident, str]:
    """One resident reports at ``place`` and confirms; another then describes ``second`` at the
    same place and is asked, once, whether it is the first one's case. Returns both
    residents and the first case's number."""
    reporter, number = first_report(stack, first, place)
    resident = Resident(stack)
    replies = resident.report(
        second, {"location": place, "phone": "13912345678", "contact_name": name}
    )
    asked_about(resident, replies, number)
    return reporter, resident, number


def asked_about(resident: Resident, replies: Reply, number: str) -> None:
    """The reply asks once, naming the open case and its status, with the two buttons."""
    text = texts(replies)
    assert f"该问题已有居民反映（工单 {number}，已受理，等待派单），是否为同一问题？" in text, (
        resident.transcript()
    )
    assert _buttons(replies) == [("是，同一问题", "/affirm"), ("不是，新问题", "/deny")]
    # One question per reply: nothing else is asked beside it.
    assert not any(q in text for q in ("联系电话", "怎么称呼", SUMMARY, "在哪里")), text


def test_the_second_resident_joins_the_case_and_both_hear_the_resolution(
    rasa_stack: Stack,
) -> None:
    first, second, number = second_report(
        rasa_stack,
        "枫林湾小区7栋门口",
        "枫林湾小区7栋门口的路灯坏了好几天了，晚上一片漆黑",
        "我们楼前那盏路灯不亮三四天了，晚上走路看不清",
        "李女士",
    )
    joined = texts(second.say("/affirm"))
    assert f"已将您登记为工单 {number} 的共同反映人" in joined, second.transcript()
    assert "满意度回访" in joined

    # Exactly one case: the first resident's, with the second as its co-reporter.
    assert second.cases(rasa_stack.db_url) == []
    with transaction(rasa_stack.db_url) as session:
        case = get_case(session, number)
        assert case.resident_ref == first.sender
        [row] = co_reporters(session, case)
        assert (row.resident_ref, row.channel) == (second.sender, "web")
        assert row.description == "我们楼前那盏路灯不亮三四天了，晚上走路看不清"
        audit = session.scalars(
            select(CaseEvent.action).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        ).all()
        assert list(audit) == ["create", "co_reported"]

    # Asking again changes nothing: the button pressed twice is no new case or row.
    second.say("/affirm")
    assert second.cases(rasa_stack.db_url) == []

    # An operator takes the case through the workflow to its resolution.
    with transaction(rasa_stack.db_url) as session:
        case = get_case(session, number)
        operator = Actor.operator("alice")
        for action, note in [
            ("accept", None),
            ("dispatch", None),
            ("start", None),
            ("resolve", "已更换灯泡，路灯恢复照明"),
        ]:
            apply_action(session, case, action, operator, ActionInput(note=note))

    with transaction(rasa_stack.db_url) as session:
        surveys = session.execute(
            select(OutboxMessage.recipient, OutboxMessage.text)
            .where(OutboxMessage.kind == "survey", OutboxMessage.case_id == case.id)
            .order_by(OutboxMessage.id)
        ).all()
    assert [r for r, _ in surveys] == [first.sender, second.sender]
    assert all(number in text and "已更换灯泡" in text for _, text in surveys)

    # The co-reporter answers the survey through the assistant; the case stays resolved.
    rated = texts(second.say(f'/rate_case{{"case_number": "{number}", "rating": "satisfied"}}'))
    assert "感谢" in rated, second.transcript()
    with transaction(rasa_stack.db_url) as session:
        case = get_case(session, number)
        assert case.status == "resolved"
        [row] = co_reporters(session, case)
        assert row.satisfaction == "satisfied"


def test_no_logs_a_second_case_as_before(rasa_stack: Stack) -> None:
    place = "锦绣路88号公交站旁"
    _, second, number = second_report(
        rasa_stack,
        place,
        "锦绣路88号公交站旁的路灯坏了，晚上很黑",
        "公交站那边的路灯一直不亮",
        "赵先生",
    )
    summary = second.report("/deny", {"phone": "13912345678", "contact_name": "赵先生"})
    assert SUMMARY in texts(summary), second.transcript()
    done = texts(second.say("/affirm"))
    [new] = set(NUMBER.findall(done))
    assert new != number
    [case] = second.cases(rasa_stack.db_url)
    assert (case.number, case.location) == (new, place)
    with transaction(rasa_stack.db_url) as session:
        assert co_reporters(session, get_case(session, number)) == []


def test_a_no_in_the_first_message_is_no_answer_to_the_question(rasa_stack: Stack) -> None:
    """「不知道归谁管」 in the description is not the resident's answer to a question the
    assistant has not asked yet: when the place matches an open case, it still asks."""
    second_report(
        rasa_stack,
        "桂花巷12号门口",
        "桂花巷12号门口的路灯坏了，晚上很黑",
        "请求维修路灯，已经一个星期了，不知道归谁管",
        "钱女士",
    )
