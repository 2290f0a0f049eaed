"""End to end through the REST channel: the real Rasa server, action server and case database."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hotline.channels.rasa_auth import rasa_jwt
from hotline.db import transaction
from hotline.models import Case, CaseEvent
from tests.servers import TOKEN, Stack

pytestmark = pytest.mark.slow


def _texts(replies: list[dict[str, object]]) -> str:
    return "\n".join(str(r.get("text", "")) for r in replies)


def test_complete_report_conversation(rasa_stack: Stack) -> None:
    sender = f"web:{uuid.uuid4().hex[:8]}"
    description = "我家楼下的路灯坏了好几天了，晚上黑漆漆的"
    first = _texts(rasa_stack.say(sender, description))
    assert "城市管理" in first or "哪一类" in first
    if "哪一类" in first:
        first = _texts(rasa_stack.say(sender, '/choose_category{"category": "city_management"}'))
    assert "在哪里" in first
    assert "电话" in _texts(rasa_stack.say(sender, "幸福小区3栋门口"))
    rasa_stack.say(sender, "13812345678")
    summary = rasa_stack.say(sender, "王先生")
    summary_text = _texts(summary)
    assert "138****5678" in summary_text and "13812345678" not in summary_text
    assert any(b.get("payload") == "/affirm" for r in summary for b in r.get("buttons", []))  # type: ignore[union-attr]
    # City management is a public category: the summary offers publication, default no.
    assert any(
        b.get("payload") == '/affirm{"publish": "yes"}'
        for r in summary
        for b in r.get("buttons", [])  # type: ignore[union-attr]
    )
    done = _texts(rasa_stack.say(sender, '/affirm{"publish": "yes"}'))
    numbers = re.findall(r"SQ\d{8}-\d{4}", done)
    assert numbers, done
    assert "街道城管执法中队" in done and "办理时限" in done

    with transaction(rasa_stack.db_url) as session:
        case = session.scalars(select(Case).where(Case.number == numbers[0])).one()
        assert case.category == "city_management"
        assert case.phone == "+8613812345678"
        assert case.location == "幸福小区3栋门口"
        assert case.description == description
        assert case.contact_name == "王先生"
        assert case.publish_consent is True
        assert case.resident_ref == sender and case.channel == "web"
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
        assert [(e.action, e.actor) for e in events] == [("create", sender)]

    # Confirming again creates nothing more.
    rasa_stack.say(sender, "/affirm")
    with transaction(rasa_stack.db_url) as session:
        assert len(session.scalars(select(Case).where(Case.resident_ref == sender)).all()) == 1


def _parse(stack: Stack, text: str) -> dict[str, Any]:
    response = httpx.post(
        f"{stack.rasa_url}/model/parse",
        headers={"Authorization": f"Bearer {rasa_jwt(TOKEN)}"},
        json={"text": text},
        timeout=60,
    )
    response.raise_for_status()
    return dict(response.json())


def test_faq_retrieval_answers_questions_and_is_skipped_for_other_intents(
    rasa_stack: Stack,
) -> None:
    # nlu_components.faq answers only when the intent is `faq`.
    question = _parse(rasa_stack, "请问高龄津贴需要准备哪些材料")
    assert question["intent"]["name"] == "faq"
    selected = question["response_selector"]["faq"]["response"]["intent_response_key"]
    assert selected == "faq/gaoling_jintie"

    report = _parse(rasa_stack, "我家楼下的路灯坏了好几天了")
    assert report["intent"]["name"] == "report"
    assert report["category"]["name"] == "city_management"
    assert report["category_ranking"][0] == report["category"]
    assert "response_selector" not in report

    sender = f"web:{uuid.uuid4().hex[:8]}"
    answer = _texts(rasa_stack.say(sender, "请问高龄津贴需要准备哪些材料"))
    assert "高龄津贴" in answer


def test_a_fire_gets_advice_first_then_one_emergency_case_due_in_two_hours(
    rasa_stack: Stack,
) -> None:
    sender = f"web:{uuid.uuid4().hex[:8]}"
    replies = [str(r.get("text", "")) for r in rasa_stack.say(sender, "楼道着火了")]
    assert replies and replies[0].startswith("【紧急】") and "119" in replies[0]
    numbers = re.findall(r"SQ\d{8}-\d{4}", "\n".join(replies))
    assert len(set(numbers)) == 1, replies
    rasa_stack.say(sender, "幸福小区3栋2单元")

    with transaction(rasa_stack.db_url) as session:
        cases = session.scalars(select(Case).where(Case.resident_ref == sender)).all()
        assert [c.number for c in cases] == numbers[:1]
        case = cases[0]
        assert case.urgency == "emergency"
        assert case.category == "public_security"
        assert case.due_at is not None and case.created_at is not None
        assert abs((case.due_at - case.created_at).total_seconds() - 2 * 3600) < 60
        assert case.location == "幸福小区3栋2单元"
