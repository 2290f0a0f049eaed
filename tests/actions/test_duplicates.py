"""Asking whether a report is an open case's problem, and joining that case (issue 14).

The lookup itself is :mod:`hotline.similarity`'s (tested there); here the form asks at the
right moment, once, never about the resident's own case, takes the answer, and the submit
action joins the case or logs a new one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rasa_sdk.events import SlotSet

from actions.duplicates import (
    answer_value,
    same_problem_events,
    says_same,
)
from actions.emergency import ActionEmergency
from actions.report import ActionSubmitCase, ValidateReportForm
from hotline.casework.cases import NewCase, get_case
from hotline.casework.co_reporters import co_reporters, join_as_co_reporter
from hotline.casework.duplicate_wording import status_phrase
from hotline.casework.spool import pending_reports
from hotline.db import transaction
from hotline.similarity.matcher import Suggestion
from tests.actions.conftest import (
    APOLOGY,
    FORM_STARTED,
    OTHER_SENDER,
    PHONE,
    RESET,
    SENDER,
    cases,
    events_of,
    make_case,
    move,
    report_form_started,
)

DESCRIPTION = "幸福小区3栋2单元门口那盏路灯晚上不亮了"
FORM = {
    "category": "city_management",
    "category_candidates": ["city_management", "property_housing", "household_services"],
    "description": DESCRIPTION,
    "case_type": "help",
    "location": "幸福小区3栋2单元",
    "phone_failures": 0,
}
"""The form once the place is given: the lookup's moment."""
ASKED = "该问题已有居民反映（工单 {number}，{status}），是否为同一问题？"
JOINED = (
    "好的，已将您登记为工单 {number} 的共同反映人，不再重复立案。"
    "办理进展和办结后的满意度回访都会发给您。查询进度请发送「查询 {number}」。"
)


class Lookups:
    """A stand-in for the matcher that records the drafts it was asked about."""

    def __init__(self, answer: Suggestion | Exception | None) -> None:
        self.answer = answer
        self.drafts: list[Any] = []
        self.prepared: list[Any] = []

    def prepare(self, draft: Any) -> None:
        self.prepared.append(draft)

    def __call__(self, session: Any, draft: Any, *, now: Any = None) -> Suggestion | None:
        # The draft's problem is encoded (in a thread) before the lookup, never after.
        assert draft in self.prepared
        self.drafts.append(draft)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture()
def lookups(monkeypatch: pytest.MonkeyPatch):
    """Installs a stand-in matcher: ``lookups(answer)`` returns its record."""

    def install(answer: Suggestion | Exception | None) -> Lookups:
        fake = Lookups(answer)
        monkeypatch.setattr("actions.duplicates.likely_duplicate", fake)
        monkeypatch.setattr("actions.duplicates.prepare_draft", fake.prepare)
        return fake

    return install


def suggestion(number: str, status: str = "in_progress") -> Suggestion:
    return Suggestion(number=number, score=0.93, reason="同一地点 + 相似描述", status=status)


async def place_given(dispatcher, domain, make_tracker, slots=None, **kwargs):
    """The resident has just answered the place question."""
    tracker = make_tracker(
        slots=FORM | {"location": None, "requested_slot": "location"} | (slots or {}),
        active_loop="report_form",
        text="幸福小区3栋2单元",
        intent="inform",
        validating={"location": "幸福小区3栋2单元"},
        **kwargs,
    )
    return await ValidateReportForm().run(dispatcher, tracker, domain)


# --- when the form looks, and what it keeps -----------------------------------------------


async def test_a_match_is_kept_for_the_question_once_the_place_is_known(
    db, dispatcher, domain, make_tracker, lookups
):
    number = make_case(db, resident_ref=OTHER_SENDER)
    move(db, number, ("accept", None), ("dispatch", None), ("start", None))
    matcher = lookups(suggestion(number))

    events = await place_given(dispatcher, domain, make_tracker)

    assert events == [
        SlotSet("location", "幸福小区3栋2单元"),
        SlotSet("similar_case_number", number),
        SlotSet("similar_case_status", "正在办理"),
    ]
    assert dispatcher.messages == []
    [draft] = matcher.drafts
    assert (draft.category, draft.description, draft.location, draft.resident_ref) == (
        "city_management",
        DESCRIPTION,
        "幸福小区3栋2单元",
        SENDER,
    )


async def test_no_match_marks_the_question_not_asked(db, dispatcher, domain, make_tracker, lookups):
    lookups(None)

    events = await place_given(dispatcher, domain, make_tracker)

    assert events == [
        SlotSet("location", "幸福小区3栋2单元"),
        SlotSet("same_problem", "not_asked"),
    ]


async def test_the_residents_own_case_is_never_offered(
    db, dispatcher, domain, make_tracker, lookups
):
    number = make_case(db)  # reported by SENDER
    lookups(suggestion(number, "new"))

    events = await place_given(dispatcher, domain, make_tracker)

    assert events[-1] == SlotSet("same_problem", "not_asked")


async def test_a_case_the_resident_already_joined_is_never_offered(
    db, dispatcher, domain, make_tracker, lookups
):
    number = make_case(db, resident_ref=OTHER_SENDER)
    with transaction(db) as session:
        join_as_co_reporter(
            session,
            number,
            SENDER,
            "telegram",
            description="路灯坏了",
            phone=None,
            contact_name=None,
        )
    lookups(suggestion(number, "new"))

    events = await place_given(dispatcher, domain, make_tracker)

    assert events[-1] == SlotSet("same_problem", "not_asked")


async def test_the_real_matcher_finds_the_same_lamp_in_other_words(
    db, dispatcher, domain, make_tracker
):
    # No stand-in: hotline.similarity scores the draft against the stored case.
    number = make_case(
        db,
        resident_ref=OTHER_SENDER,
        description="幸福小区3栋2单元门口的路灯坏了好几天了，晚上一片漆黑",
        location="幸福小区3栋2单元门口",
    )
    unrelated = make_case(
        db,
        resident_ref="tg:3003",
        category="property_housing",
        description="幸福小区3栋2单元的电梯又停了，老人上不去楼",
        location="幸福小区3栋2单元",
    )

    events = await place_given(dispatcher, domain, make_tracker)

    assert events == [
        SlotSet("location", "幸福小区3栋2单元"),
        SlotSet("similar_case_number", number),
        SlotSet("similar_case_status", "已受理，等待派单"),
    ]
    assert unrelated != number


async def test_a_failed_lookup_lets_the_report_go_on(db, dispatcher, domain, make_tracker, lookups):
    lookups(RuntimeError("encoder unavailable"))

    events = await place_given(dispatcher, domain, make_tracker)

    assert events == [
        SlotSet("location", "幸福小区3栋2单元"),
        SlotSet("same_problem", "not_asked"),
    ]
    assert dispatcher.messages == []


async def test_no_lookup_before_the_category_is_known(
    db, dispatcher, domain, make_tracker, lookups
):
    matcher = lookups(suggestion("SQ20250609-0001"))

    events = await place_given(dispatcher, domain, make_tracker, slots={"category": None})

    assert events == [SlotSet("location", "幸福小区3栋2单元")]
    assert matcher.drafts == []


async def test_choosing_the_category_after_the_place_looks_then(
    db, dispatcher, domain, make_tracker, lookups
):
    number = make_case(db, resident_ref=OTHER_SENDER)
    matcher = lookups(suggestion(number, "new"))
    tracker = make_tracker(
        slots=FORM | {"category": None, "requested_slot": "category"},
        active_loop="report_form",
        text='/choose_category{"category": "city_management"}',
        intent="choose_category",
        entities={"category": "city_management"},
        validating={"category": "city_management"},
    )

    events = await ValidateReportForm().run(dispatcher, tracker, domain)

    assert events == [
        SlotSet("category", "city_management"),
        SlotSet("similar_case_number", number),
        SlotSet("similar_case_status", "已受理，等待派单"),
    ]
    assert len(matcher.drafts) == 1


@pytest.mark.parametrize("answered", ["no", "not_asked"])
async def test_the_question_is_looked_up_and_asked_once_per_report(
    db, dispatcher, domain, make_tracker, lookups, answered
):
    matcher = lookups(suggestion("SQ20250609-0001"))
    tracker = make_tracker(
        slots=FORM | {"same_problem": answered, "phone": None, "requested_slot": "phone"},
        active_loop="report_form",
        text="13812345678",
        intent="inform",
        entities={"phone": "13812345678"},
        validating={"phone": "13812345678"},
    )

    events = await ValidateReportForm().run(dispatcher, tracker, domain)

    assert matcher.drafts == []
    assert SlotSet("phone", PHONE) in events
    assert not [e for e in events if e["name"] in ("similar_case_number", "same_problem")]


async def test_an_emergency_never_asks(db, dispatcher, domain, make_tracker, lookups):
    matcher = lookups(AssertionError("an emergency must not wait for a lookup"))
    tracker = make_tracker(
        text="楼道着火了，浓烟很大", intent="emergency", confidence=0.95, message_id="m-1"
    )

    await ActionEmergency().run(dispatcher, tracker, domain)

    assert matcher.drafts == []
    [case] = cases(db)
    assert case.urgency == "emergency"


async def test_an_emergency_draft_is_never_looked_up(lookups) -> None:
    matcher = lookups(suggestion("SQ20250609-0001"))
    draft = NewCase(
        category="public_security",
        description="楼道着火了",
        location="幸福小区3栋",
        urgency="emergency",
        resident_ref=SENDER,
    )

    events = await same_problem_events(FORM, lambda: draft)

    assert events == [SlotSet("same_problem", "not_asked")]
    assert matcher.drafts == []
    assert matcher.prepared == []


# --- the question and the answer ----------------------------------------------------------


def test_the_question_is_a_domain_response_filled_from_the_match_slots(domain) -> None:
    # Rasa asks it itself (no action server call): there must be no action of that name.
    assert "action_ask_same_problem" not in domain["actions"]
    [response] = domain["responses"]["utter_ask_same_problem"]
    filled = response["text"].format(
        similar_case_number="SQ20250609-0001", similar_case_status="正在办理"
    )
    assert filled == ASKED.format(number="SQ20250609-0001", status="正在办理")
    assert response["buttons"] == [
        {"title": "是，同一问题", "payload": "/affirm"},
        {"title": "不是，新问题", "payload": "/deny"},
    ]


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        ("new", "已受理，等待派单"),
        ("accepted", "已受理，等待派单"),
        ("in_progress", "正在办理"),
        ("dispatched", "正在办理"),
        ("正在办理", "正在办理"),
    ],
)
def test_the_question_names_the_state_as_residents_say_it(status: str, phrase: str) -> None:
    assert status_phrase(status) == phrase


@pytest.mark.parametrize(
    ("said", "same"),
    [
        ("是", True),
        ("是的", True),
        ("对，就是那盏路灯", True),
        ("同一个问题", True),
        ("没错", True),
        ("不是", False),
        ("不是同一个", False),
        ("不一样，我说的是另一盏", False),
        ("是新问题", False),
        ("我也不清楚", False),
        ("好的", False),
        ("13812345678", False),
    ],
)
def test_only_a_clear_yes_is_the_same_problem(said: str, same: bool) -> None:
    assert says_same(said) is same
    assert answer_value(said, said) == ("yes" if same else "no")


@pytest.mark.parametrize(
    ("text", "intent", "value", "kept"),
    [
        ("/affirm", "affirm", "yes", "yes"),
        ("/deny", "deny", "no", "no"),
        # A typed answer fills the slot whatever the NLU took it for (issue 11).
        ("对，就是那盏路灯", "report", "对，就是那盏路灯", "yes"),
        ("不是，是另一盏", "report", "不是，是另一盏", "no"),
        ("嗯嗯", "chitchat", "嗯嗯", "yes"),
        ("你们什么时候来修", "inform", "你们什么时候来修", "no"),
    ],
)
async def test_the_answer_is_a_form_answer(
    dispatcher, domain, make_tracker, text, intent, value, kept
):
    tracker = make_tracker(
        slots=FORM
        | {
            "similar_case_number": "SQ20250609-0001",
            "similar_case_status": "正在办理",
            "requested_slot": "same_problem",
        },
        active_loop="report_form",
        text=text,
        intent=intent,
        validating={"same_problem": value},
    )

    events = await ValidateReportForm().run(dispatcher, tracker, domain)

    if kept == "yes":
        # Yes ends the form: the resident joins the case, nothing more is asked.
        assert events == [SlotSet("same_problem", "yes"), SlotSet("requested_slot", None)]
    else:
        # No goes on with the next question (Rasa's form asks for the phone).
        assert events == [SlotSet("same_problem", "no")]
    assert dispatcher.messages == []


async def test_a_yes_in_traditional_characters_is_read_as_normalised(
    dispatcher, domain, make_tracker
):
    tracker = make_tracker(
        slots=FORM
        | {
            "similar_case_number": "SQ20250609-0001",
            "similar_case_status": "正在办理",
            "requested_slot": "same_problem",
        },
        active_loop="report_form",
        text="对的",
        intent="inform",
        validating={"same_problem": "对的"},
    )
    tracker.latest_message["original_text"] = "對的"

    events = await ValidateReportForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("same_problem", "yes"), SlotSet("requested_slot", None)]


# --- submitting ---------------------------------------------------------------------------


def answered_yes(make_tracker, number: str, **slots: Any):
    """The resident has just said yes to the question about ``number``; the form is done."""
    at = FORM_STARTED + 61
    return make_tracker(
        slots=FORM
        | {
            "similar_case_number": number,
            "similar_case_status": "正在办理",
            "same_problem": "yes",
            "phone": None,
            "contact_name": None,
        }
        | slots,
        text="/affirm",
        intent="affirm",
        events=report_form_started(),
        then=[
            {"event": "action", "name": "report_form", "timestamp": at},
            {"event": "slot", "name": "same_problem", "value": "yes", "timestamp": at},
            {"event": "active_loop", "name": None, "timestamp": at},
            {"event": "slot", "name": "requested_slot", "value": None, "timestamp": at},
        ],
    )


async def test_yes_joins_the_case_instead_of_logging_one(db, dispatcher, domain, make_tracker):
    number = make_case(db, resident_ref=OTHER_SENDER)
    tracker = answered_yes(make_tracker, number)

    events = await ActionSubmitCase().run(dispatcher, tracker, domain)
    retried = await ActionSubmitCase().run(dispatcher, tracker, domain)

    assert events == retried == [*RESET, SlotSet("case_number", number)]
    assert [(m["response"], m["number"]) for m in dispatcher.messages] == [
        ("utter_joined_case", number)
    ] * 2
    assert [c.number for c in cases(db)] == [number]
    assert events_of(db, number) == [
        ("create", OTHER_SENDER, "new", None),
        ("co_reported", SENDER, None, DESCRIPTION),
    ]
    [response] = domain["responses"]["utter_joined_case"]
    assert response["text"].format(number=number) == JOINED.format(number=number)


async def test_yes_keeps_the_phone_and_name_the_conversation_has(
    db, dispatcher, domain, make_tracker
):
    number = make_case(db, resident_ref=OTHER_SENDER)
    tracker = answered_yes(make_tracker, number, phone=PHONE, contact_name="李")

    await ActionSubmitCase().run(dispatcher, tracker, domain)

    with transaction(db) as session:
        [row] = co_reporters(session, get_case(session, number))
        assert (row.resident_ref, row.channel, row.phone, row.contact_name) == (
            SENDER,
            "telegram",
            PHONE,
            "李",
        )


async def test_yes_to_a_case_closed_since_logs_a_new_case(db, dispatcher, domain, make_tracker):
    number = make_case(db, resident_ref=OTHER_SENDER)
    move(db, number, ("cancel", "居民撤回"))
    tracker = answered_yes(make_tracker, number, phone=PHONE)

    events = await ActionSubmitCase().run(dispatcher, tracker, domain)

    new = events[-1]["value"]
    assert new != number
    assert [c.number for c in cases(db)] == [number, new]
    assert [m["text"].split("\n")[0] for m in dispatcher.messages] == [
        f"已为您登记，工单编号：{new}"
    ]


async def test_yes_with_the_database_down_keeps_the_report(
    outage, db, dispatcher, domain, make_tracker
):
    tracker = answered_yes(make_tracker, "SQ20250609-0001")

    events = await ActionSubmitCase().run(dispatcher, tracker, domain)

    assert events == RESET
    assert dispatcher.messages == [APOLOGY]
    # Nothing the resident said is lost: the report waits in the spool.
    [spooled] = pending_reports()
    assert json.loads(spooled.read_text(encoding="utf-8"))["description"] == DESCRIPTION


async def test_no_logs_a_new_case_as_before(db, dispatcher, domain, make_tracker):
    number = make_case(db, resident_ref=OTHER_SENDER)
    tracker = answered_yes(make_tracker, number, same_problem="no", phone=PHONE)

    events = await ActionSubmitCase().run(dispatcher, tracker, domain)

    assert events[-1] == SlotSet("case_number", "SQ20250609-0002")
    assert len(cases(db)) == 2
    assert [e[0] for e in events_of(db, number)] == ["create"]
