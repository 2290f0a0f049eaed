"""Handoff, logged consultations, out-of-scope requests, and the follow-up rating and comment."""

from __future__ import annotations

from typing import Any

from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from sqlalchemy import select

from actions.report import start_report
from actions.service import (
    ActionLogConsultation,
    ActionOutOfScope,
    ActionRateCase,
    ActionRequestHuman,
    ActionSaveRatingComment,
)
from hotline.channels import handoff
from hotline.db import transaction
from hotline.models import Conversation, User
from tests.actions.conftest import (
    LOOKUP_APOLOGY,
    NOW,
    OTHER_SENDER,
    RESET,
    SENDER,
    cases,
    events_of,
    make_case,
    move,
    outbox,
    rendered,
    utterance,
)

FAQ_FOLLOWUP = utterance("utter_faq_followup")


def conversation(db: str, sender: str = SENDER) -> tuple[str, int]:
    with transaction(db) as session:
        row = session.scalar(select(Conversation).where(Conversation.sender_id == sender))
        assert row is not None
        return row.mode, row.handoff_count


# --- action_request_human ------------------------------------------------------------------


async def test_request_human_queues_the_conversation(db, dispatcher, domain, make_tracker):
    tracker = make_tracker(text="转人工", intent="request_human")

    events = await ActionRequestHuman().run(dispatcher, tracker, domain)

    assert events == [ActiveLoop(None), SlotSet("requested_slot", None)]
    assert dispatcher.messages == [utterance("utter_handoff_queued", ahead=0)]
    assert conversation(db) == (handoff.WAITING, 1)


async def test_request_human_tells_the_place_in_the_queue(db, dispatcher, domain, make_tracker):
    first = make_tracker(sender_id=OTHER_SENDER, text="人工", intent="request_human")
    await ActionRequestHuman().run(dispatcher, first, domain)
    dispatcher.messages.clear()

    await ActionRequestHuman().run(
        dispatcher, make_tracker(text="转人工", intent="request_human"), domain
    )
    # Asking again keeps the place (and counts one handoff).
    await ActionRequestHuman().run(
        dispatcher, make_tracker(text="人呢", intent="request_human"), domain
    )

    assert dispatcher.messages == [utterance("utter_handoff_queued", ahead=1)] * 2
    assert conversation(db) == (handoff.WAITING, 1)


async def test_request_human_when_an_operator_has_it(db, dispatcher, domain, make_tracker):
    with transaction(db) as session:
        user = User(username="alice", display_name="小李", role="operator", password_hash="x")
        session.add(user)
        session.flush()
        handoff.take(session, SENDER, user)

    events = await ActionRequestHuman().run(
        dispatcher, make_tracker(text="转人工", intent="request_human"), domain
    )

    assert events == [ActiveLoop(None), SlotSet("requested_slot", None)]
    assert dispatcher.messages == [utterance("utter_with_operator")]


async def test_request_human_in_the_middle_of_a_report_stops_the_form(
    db, dispatcher, domain, make_tracker
):
    tracker = make_tracker(
        slots={"category": "city_management", "requested_slot": "phone"},
        text="电话一直不对，转人工吧",
        intent="request_human",
        active_loop="report_form",
    )

    events = await ActionRequestHuman().run(dispatcher, tracker, domain)

    assert events == [ActiveLoop(None), SlotSet("requested_slot", None), *RESET]
    assert dispatcher.messages == [utterance("utter_handoff_queued", ahead=0)]


async def test_request_human_with_the_database_down(outage, dispatcher, domain, make_tracker):
    tracker = make_tracker(text="转人工", intent="request_human", active_loop="report_form")

    events = await ActionRequestHuman().run(dispatcher, tracker, domain)

    assert events == [ActiveLoop(None), SlotSet("requested_slot", None)]
    assert dispatcher.messages == [LOOKUP_APOLOGY]


# --- action_log_consultation ---------------------------------------------------------------


def faq_answer(key: str, selector_key: str = "faq") -> dict[str, Any]:
    """The response_selector part of a parse result, as Rasa 3.6 writes it."""
    return {
        "all_retrieval_intents": ["faq"],
        selector_key: {
            "response": {
                "responses": [{"text": "（示例答复，以当地政策为准）"}],
                "confidence": 0.91,
                "intent_response_key": key,
                "utter_action": f"utter_{key}",
            },
            "ranking": [{"confidence": 0.91, "intent_response_key": key}],
        },
    }


def asked(make_tracker, key: str | None, text: str = "高龄津贴怎么申请？", **kwargs):
    return make_tracker(
        text=text,
        intent="faq",
        response_selector=faq_answer(key, **kwargs) if key else None,
    )


async def test_consultation_is_logged_as_a_closed_case(db, dispatcher, domain, make_tracker):
    events = await ActionLogConsultation().run(
        dispatcher, asked(make_tracker, "faq/gaoling_jintie"), domain
    )

    assert events == []
    assert dispatcher.messages == [FAQ_FOLLOWUP]
    [case] = cases(db)
    assert (
        case.category,
        case.faq_topic,
        case.case_type,
        case.status,
        case.description,
        case.resident_ref,
        case.channel,
        case.resolution,
        case.resolved_at,
        case.closed_at,
    ) == (
        "elderly_care",
        "gaoling_jintie",
        "consultation",
        "closed",
        "高龄津贴怎么申请？",
        SENDER,
        "telegram",
        "智能助手已答复：高龄津贴申请",
        NOW,
        NOW,
    )
    assert events_of(db, case.number) == [
        ("create", SENDER, "new", None),
        ("resolve", "assistant", "resolved", "智能助手已答复：高龄津贴申请"),
        ("close", "assistant", "closed", None),
    ]
    assert outbox(db) == []


async def test_consultation_from_the_default_selector(db, dispatcher, domain, make_tracker):
    tracker = asked(
        make_tracker, "faq/dibao_tiaojian", text="低保要什么条件", selector_key="default"
    )

    await ActionLogConsultation().run(dispatcher, tracker, domain)

    assert [(c.category, c.faq_topic) for c in cases(db)] == [
        ("social_assistance", "dibao_tiaojian")
    ]


async def test_unknown_topic_or_no_selector_logs_nothing(db, dispatcher, domain, make_tracker):
    for tracker in (asked(make_tracker, "faq/no_such_topic"), asked(make_tracker, None)):
        assert await ActionLogConsultation().run(dispatcher, tracker, domain) == []

    assert cases(db) == []
    assert dispatcher.messages == [FAQ_FOLLOWUP] * 2


async def test_consultation_with_the_database_down_is_silent(
    outage, db, dispatcher, domain, make_tracker
):
    events = await ActionLogConsultation().run(
        dispatcher, asked(make_tracker, "faq/gaoling_jintie"), domain
    )

    assert events == []
    assert dispatcher.messages == [FAQ_FOLLOWUP]
    outage.end()
    assert cases(db) == []


# --- action_out_of_scope -------------------------------------------------------------------


async def test_an_unsure_out_of_scope_with_a_clear_category_starts_the_report(
    dispatcher, domain, make_tracker
):
    said = "城北大排档的油烟能把人熏死，天天这样"
    tracker = make_tracker(
        text=said,
        intent="out_of_scope",
        confidence=0.45,
        category_ranking=[{"name": "city_management", "confidence": 0.72}],
    )

    events = await ActionOutOfScope().run(dispatcher, tracker, domain)

    assert events == [FollowupAction("report_form")]
    # The form's activation starts the report from the same message.
    started = start_report(dispatcher, tracker)
    assert SlotSet("description", said) in started
    assert SlotSet("category", "city_management") in started
    assert [(m["response"], m["department"]) for m in dispatcher.messages] == [
        ("utter_routed", "街道城管执法中队")
    ]


async def test_out_of_scope_names_the_services_and_other_hotlines(dispatcher, domain, make_tracker):
    tracker = make_tracker(text="帮我订一张去北京的机票", intent="out_of_scope")

    assert await ActionOutOfScope().run(dispatcher, tracker, domain) == []

    services = (
        "养老服务、劳动就业、社会保障、社会救助、矛盾调解、法律服务、社会治安、城市管理、物业住房、"
        "医疗卫生、计划生育、残疾人服务、未成年人与托育、流动人口服务、家政便民、文化教育"
    )
    referrals = (
        "· 12345 政务服务便民热线（一般政务服务）\n"
        "· 12315 消费者投诉举报热线（消费和市场投诉）\n"
        "· 12333 人力资源和社会保障热线（劳动和社会保障）\n"
        "· 12348 公共法律服务热线（法律援助）\n"
        "· 12369 环保举报热线（生态环境）\n"
        "· 12338 妇女儿童维权热线（妇女儿童权益）\n"
        "· 95598 供电服务热线（电力）\n"
        "· 12328 交通运输服务监督电话（公交、出租车和客运）"
    )
    assert dispatcher.messages == [
        utterance("utter_out_of_scope", services=services, referrals=referrals)
    ]
    assert rendered(dispatcher.messages[0]) == (
        f"抱歉，这个问题不在社区服务热线的服务范围内。我们受理：{services}等事项。\n"
        f"其他事项可以联系：\n{referrals}"
    )


# --- action_rate_case / action_save_rating_comment ------------------------------------------


def resolved_case(db: str, **fields: Any) -> str:
    number = make_case(db, **fields)
    move(db, number, ("accept", None), ("dispatch", None), ("resolve", "路灯已修复"))
    return number


def rating(make_tracker, number: str | None, value: str | None, **kwargs):
    """The resident pressing a rating button of the survey message."""
    entities = {}
    if number:
        entities["case_number"] = number
    if value:
        entities["rating"] = value
    return make_tracker(
        text=f'/rate_case{{"case_number": "{number}", "rating": "{value}"}}',
        intent="rate_case",
        entities=entities,
        **kwargs,
    )


async def test_satisfied_rating_closes_the_case(db, dispatcher, domain, make_tracker):
    number = resolved_case(db)
    tracker = rating(make_tracker, number, "satisfied", slots={"rating": "satisfied"})

    events = await ActionRateCase().run(dispatcher, tracker, domain)

    assert events == [SlotSet("rating_needs_comment", False)]
    assert dispatcher.messages == [utterance("utter_rated", rating_label="满意", number=number)]
    [case] = cases(db)
    assert (case.status, case.satisfaction, case.flagged, case.closed_at) == (
        "closed",
        "satisfied",
        False,
        NOW,
    )
    assert events_of(db, number)[-1] == ("rate", SENDER, "closed", None)


async def test_rating_written_as_its_label(db, dispatcher, domain, make_tracker):
    number = resolved_case(db)
    tracker = make_tracker(
        text=f"{number} 非常满意",
        intent="rate_case",
        entities={"case_number": number, "rating": "非常满意"},
        slots={"rating": "非常满意"},
    )

    await ActionRateCase().run(dispatcher, tracker, domain)

    assert dispatcher.messages == [utterance("utter_rated", rating_label="非常满意", number=number)]


async def test_dissatisfied_reopens_and_asks_for_a_comment(db, dispatcher, domain, make_tracker):
    number = resolved_case(db)
    tracker = rating(make_tracker, number, "dissatisfied", slots={"rating": "dissatisfied"})

    events = await ActionRateCase().run(dispatcher, tracker, domain)

    assert events == [
        SlotSet("rating_needs_comment", True),
        SlotSet("case_number", number),
        SlotSet("rating_comment", None),
    ]
    assert dispatcher.messages == [utterance("utter_case_reopened", number=number)]
    [case] = cases(db)
    assert (case.status, case.satisfaction, case.flagged, case.reopen_count) == (
        "in_progress",
        "dissatisfied",
        True,
        1,
    )


async def test_comment_is_saved_on_the_reopened_case(db, dispatcher, domain, make_tracker):
    number = resolved_case(db)
    await ActionRateCase().run(dispatcher, rating(make_tracker, number, "dissatisfied"), domain)
    dispatcher.messages.clear()
    commented = make_tracker(
        slots={
            "case_number": number,
            "rating_needs_comment": True,
            "rating_comment": " 路灯还是不亮 ",
        },
        text=" 路灯还是不亮 ",
        active_loop=None,
    )

    events = await ActionSaveRatingComment().run(dispatcher, commented, domain)

    assert events == [SlotSet("rating_needs_comment", False), SlotSet("rating_comment", None)]
    assert dispatcher.messages == [utterance("utter_comment_saved")]
    [case] = cases(db)
    assert case.satisfaction_comment == "路灯还是不亮"
    assert events_of(db, number)[-1] == (
        "add_info",
        SENDER,
        "in_progress",
        "回访意见：路灯还是不亮",
    )


async def test_comment_never_lands_on_someone_elses_case(db, dispatcher, domain, make_tracker):
    own = resolved_case(db)
    await ActionRateCase().run(dispatcher, rating(make_tracker, own, "dissatisfied"), domain)
    others = make_case(db, resident_ref=OTHER_SENDER, description="楼道堆满杂物")
    dispatcher.messages.clear()
    # The comment names another number; the NLU fills case_number from it.
    commented = make_tracker(
        slots={"case_number": others, "rating_comment": f"和{others}一样没人管"},
        text=f"和{others}一样没人管",
        entities={"case_number": others},
    )

    events = await ActionSaveRatingComment().run(dispatcher, commented, domain)

    assert events == [SlotSet("rating_needs_comment", False), SlotSet("rating_comment", None)]
    assert dispatcher.messages == [utterance("utter_case_not_found", number=others)]
    assert [(c.number, c.satisfaction_comment) for c in cases(db)] == [(own, None), (others, None)]
    assert [e[0] for e in events_of(db, others)] == ["create"]


async def test_comment_with_the_database_down(outage, dispatcher, domain, make_tracker):
    commented = make_tracker(
        slots={"case_number": "SQ20250609-0001", "rating_comment": "还是不亮"}, text="还是不亮"
    )

    events = await ActionSaveRatingComment().run(dispatcher, commented, domain)

    assert events == [SlotSet("rating_needs_comment", False), SlotSet("rating_comment", None)]
    assert dispatcher.messages == [LOOKUP_APOLOGY]


async def test_invalid_rating_asks_for_the_buttons(db, dispatcher, domain, make_tracker):
    number = resolved_case(db)

    events = await ActionRateCase().run(dispatcher, rating(make_tracker, number, "还行吧"), domain)

    assert events == [SlotSet("rating_needs_comment", False)]
    assert dispatcher.messages == [utterance("utter_rate_with_buttons")]
    assert cases(db)[0].status == "resolved"


async def test_a_stale_rating_slot_is_not_applied_to_another_case(
    db, dispatcher, domain, make_tracker
):
    number = resolved_case(db)
    # An earlier survey left the rating slot at 满意; this message names no rating.
    tracker = make_tracker(
        text=f"{number}的评价",
        intent="rate_case",
        entities={"case_number": number},
        slots={"rating": "satisfied"},
    )

    events = await ActionRateCase().run(dispatcher, tracker, domain)

    assert events == [SlotSet("rating_needs_comment", False)]
    assert dispatcher.messages == [utterance("utter_rate_with_buttons")]
    assert cases(db)[0].status == "resolved"


async def test_rating_without_a_number(db, dispatcher, domain, make_tracker):
    events = await ActionRateCase().run(dispatcher, rating(make_tracker, None, "满意"), domain)

    assert events == [SlotSet("rating_needs_comment", False)]
    assert dispatcher.messages == [utterance("utter_rating_without_case")]


async def test_rating_someone_elses_case(db, dispatcher, domain, make_tracker):
    number = resolved_case(db, resident_ref=OTHER_SENDER)

    events = await ActionRateCase().run(
        dispatcher, rating(make_tracker, number, "dissatisfied"), domain
    )

    assert events == [SlotSet("rating_needs_comment", False)]
    assert dispatcher.messages == [utterance("utter_case_not_found", number=number)]
    assert cases(db)[0].status == "resolved"


async def test_rating_twice(db, dispatcher, domain, make_tracker):
    number = resolved_case(db)
    await ActionRateCase().run(dispatcher, rating(make_tracker, number, "satisfied"), domain)
    dispatcher.messages.clear()

    events = await ActionRateCase().run(
        dispatcher, rating(make_tracker, number, "dissatisfied"), domain
    )

    assert events == [SlotSet("rating_needs_comment", False)]
    assert dispatcher.messages == [utterance("utter_already_rated", number=number)]
    assert (cases(db)[0].status, cases(db)[0].satisfaction) == ("closed", "satisfied")


async def test_rating_with_the_database_down(outage, dispatcher, domain, make_tracker):
    events = await ActionRateCase().run(
        dispatcher, rating(make_tracker, "SQ20250609-0001", "satisfied"), domain
    )

    assert events == [SlotSet("rating_needs_comment", False)]
    assert dispatcher.messages == [LOOKUP_APOLOGY]
