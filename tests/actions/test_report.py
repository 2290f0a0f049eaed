"""The report flow: routing, the category question, the form's validation, and logging once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet

from actions.report import (
    ActionAskCategory,
    ActionAskConfirmed,
    ActionCancelReport,
    ActionSubmitCase,
    ActionUnclearMessage,
    ValidateReportForm,
    start_report,
)
from hotline.casework.routing import CONFIDENT_ROUTE
from hotline.casework.spool import flush_spool, pending_reports
from tests.actions.conftest import (
    APOLOGY,
    FORM_STARTED,
    PHONE,
    RESET,
    SENDER,
    cases,
    events_of,
    outbox,
    report_form_completed,
    report_form_started,
    report_submitted,
    utterance,
)
from tests.parses import entity_at, ranking

DESCRIPTION = "我家楼下的路灯坏了好几天了"
COLLECTED = {
    "category": "city_management",
    "category_candidates": ["city_management", "property_housing", "household_services"],
    "description": DESCRIPTION,
    "case_type": "help",
    "location": "幸福小区3栋2单元",
    "phone": PHONE,
    "contact_name": "张三",
    "confirmed": "yes",
    "phone_failures": 0,
    # No open case matched when the place was given, so the form did not ask.
    "same_problem": "not_asked",
}
SUBMITTED = (
    "已为您登记，工单编号：{number}\n承办单位：街道城管执法中队\n"
    "办理时限：2025年6月16日前\n"
    "查询进度请发送「查询 {number}」。处理有进展时我们会通知您。"
)


def button(title: str, code: str) -> dict[str, str]:
    return {"title": title, "payload": f'/choose_category{{"category": "{code}"}}'}


# --- start_report --------------------------------------------------------------------------

ROUTED = {
    "text": DESCRIPTION,
    "intent": "report",
    "confidence": 0.93,
    "category_ranking": ranking(
        ("city_management", 0.93),
        ("property_housing", 0.02),
        ("household_services", 0.01),
        ("mediation", 0.01),
    ),
}
"""A report the NLU routes with confidence."""
STARTED = [
    *RESET,
    SlotSet("description", DESCRIPTION),
    SlotSet("case_type", "help"),
    SlotSet("category_candidates", ["city_management", "property_housing", "household_services"]),
    SlotSet("category", "city_management"),
]
"""What starting the ROUTED report sets."""


async def test_start_report_routes_a_confident_intent(dispatcher, domain, make_tracker):
    tracker = make_tracker(**ROUTED)

    events = start_report(dispatcher, tracker)

    assert events == STARTED
    assert dispatcher.messages == [
        {
            "text": None,
            "buttons": [],
            "elements": [],
            "custom": {},
            "template": "utter_routed",
            "response": "utter_routed",
            "image": None,
            "attachment": None,
            "category_name": "城市管理",
            "department": "街道城管执法中队",
        }
    ]


async def test_start_report_keeps_a_surname_the_resident_gave(dispatcher, domain, make_tracker):
    said = "你好，我姓孙，住滨湖花园5栋，单元门门禁坏了半个月了"
    tracker = make_tracker(
        text=said, intent="report", category_ranking=ranking(("property_housing", 0.9))
    )

    events = start_report(dispatcher, tracker)

    assert SlotSet("contact_name", "孙") in events


async def test_start_report_takes_no_name_from_other_words(dispatcher, domain, make_tracker):
    said = "百姓反映小区门禁坏了，他姓什么不知道"
    tracker = make_tracker(
        text=said, intent="report", category_ranking=ranking(("property_housing", 0.9))
    )

    events = start_report(dispatcher, tracker)

    assert not [e for e in events if e.get("name") == "contact_name"]


async def test_a_long_description_taken_for_an_answer_starts_the_report(
    dispatcher, domain, make_tracker
):
    said = "我姓孙，住滨湖花园5栋，单元门门禁坏了半个月了，电话13512345678"
    tracker = make_tracker(
        text=said,
        intent="inform",
        confidence=0.77,
        category_ranking=ranking(("household_services", 0.31), ("property_housing", 0.22)),
        entities=[
            entity_at(said, "location", "滨湖花园5栋"),
            entity_at(said, "phone", "13512345678"),
        ],
    )

    events = await ActionUnclearMessage().run(dispatcher, tracker, domain)

    assert events == [FollowupAction("report_form")]
    # The form's activation starts the report from the same message.
    started = start_report(dispatcher, tracker)
    assert SlotSet("description", said) in started
    assert SlotSet("location", "滨湖花园5栋") in started
    assert SlotSet("contact_name", "孙") in started
    assert dispatcher.messages == []  # not confident: the form asks for the category


@pytest.mark.parametrize(
    ("said", "intent", "categories"),
    [
        ("幸福小区3栋", "inform", [("property_housing", 0.31)]),
        # Long, but the NLU could not place it and its category is unclear.
        ("我想问问那个事情你们到底怎么样了", "nlu_fallback", [("other", 0.3)]),
    ],
)
async def test_an_unclear_message_gets_the_default_reply(
    dispatcher, domain, make_tracker, said, intent, categories
):
    tracker = make_tracker(text=said, intent=intent, category_ranking=ranking(*categories))

    events = await ActionUnclearMessage().run(dispatcher, tracker, domain)

    assert events == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_default"]


async def test_a_fallback_description_with_a_clear_category_starts_the_report(
    dispatcher, domain, make_tracker
):
    said = "小区有人把电动车推进电梯里充电，说了也不听"
    tracker = make_tracker(
        text=said, intent="nlu_fallback", category_ranking=ranking(("property_housing", 0.7))
    )

    events = await ActionUnclearMessage().run(dispatcher, tracker, domain)

    assert events == [FollowupAction("report_form")]
    assert SlotSet("category", "property_housing") in start_report(dispatcher, tracker)


async def test_start_report_keeps_the_type_the_resident_stated(dispatcher, domain, make_tracker):
    tracker = make_tracker(
        text="小区门口天天有人占道摆摊",
        intent="report",
        category_ranking=ranking(("city_management", 0.88)),
        confidence=0.88,
        entities={"case_type": "投诉"},
    )

    events = start_report(dispatcher, tracker)

    assert SlotSet("case_type", "complaint") in events
    assert SlotSet("description", "小区门口天天有人占道摆摊") in events


async def test_start_report_infers_the_type_from_the_words(dispatcher, domain, make_tracker):
    tracker = make_tracker(
        text="建议小区多装几个路灯",
        intent="report",
        category_ranking=ranking(("city_management", 0.8)),
        confidence=0.8,
    )

    events = start_report(dispatcher, tracker)

    assert SlotSet("case_type", "suggestion") in events


async def test_start_report_names_the_other_hotlines_for_other(dispatcher, domain, make_tracker):
    tracker = make_tracker(
        text="家里又停电了", intent="report", category_ranking=ranking(("other", 0.9))
    )

    events = start_report(dispatcher, tracker)

    assert events[-1] == SlotSet("category", "other")
    assert dispatcher.messages == [
        utterance("utter_routed", category_name="其他事项", department="热线综合受理组"),
        utterance(
            "utter_other_hotlines",
            referrals="12345（一般政务服务）、12315（消费和市场投诉）、12333（劳动和社会保障）、"
            "12348（法律援助）、12369（生态环境）、12338（妇女儿童权益）、95598（电力）、"
            "12328（公交、出租车和客运）",
        ),
    ]


async def test_low_confidence_leaves_the_category_to_the_resident(dispatcher, domain, make_tracker):
    confidence = CONFIDENT_ROUTE - 0.14
    tracker = make_tracker(
        text="楼下晚上特别吵，还有人乱摆摊",
        intent="report",
        confidence=confidence,
        category_ranking=ranking(
            ("city_management", confidence),
            ("mediation", 0.30),
            ("property_housing", 0.12),
            ("public_security", 0.07),
        ),
    )

    events = start_report(dispatcher, tracker)

    assert events == [
        *RESET,
        SlotSet("description", "楼下晚上特别吵，还有人乱摆摊"),
        SlotSet("case_type", "help"),
        SlotSet("category_candidates", ["city_management", "mediation", "property_housing"]),
    ]
    assert all(e["name"] != "category" or e["value"] is None for e in events)
    assert dispatcher.messages == []

    # The form then asks for the category: the three candidates, then 其他.
    asked = make_tracker(
        slots={"category_candidates": events[-1]["value"]}, active_loop="report_form"
    )
    assert await ActionAskCategory().run(dispatcher, asked, domain) == []
    assert dispatcher.messages == [
        utterance(
            "utter_choose_category",
            buttons=[
                button("城市管理", "city_management"),
                button("矛盾调解", "mediation"),
                button("物业住房", "property_housing"),
                button("其他事项", "other"),
            ],
        )
    ]


async def test_exactly_at_the_threshold_routes(dispatcher, domain, make_tracker):
    tracker = make_tracker(
        text=DESCRIPTION,
        intent="report",
        category_ranking=ranking(("city_management", CONFIDENT_ROUTE)),
        confidence=CONFIDENT_ROUTE,
    )

    events = start_report(dispatcher, tracker)

    assert events[-1] == SlotSet("category", "city_management")


async def test_low_confidence_candidates_skip_other_to_offer_three(
    dispatcher, domain, make_tracker
):
    tracker = make_tracker(
        text="这个事情不知道该找谁",
        intent="report",
        confidence=0.35,
        category_ranking=ranking(
            ("other", 0.35),
            ("legal_aid", 0.25),
            ("mediation", 0.2),
            ("employment", 0.1),
        ),
    )

    events = start_report(dispatcher, tracker)

    assert events[-1] == SlotSet("category_candidates", ["legal_aid", "mediation", "employment"])
    asked = make_tracker(slots={"category_candidates": events[-1]["value"]})
    await ActionAskCategory().run(dispatcher, asked, domain)
    assert dispatcher.messages[0]["buttons"] == [
        button("法律服务", "legal_aid"),
        button("矛盾调解", "mediation"),
        button("劳动就业", "employment"),
        button("其他事项", "other"),
    ]


async def test_no_category_intent_in_the_ranking_offers_the_first_three(
    dispatcher, domain, make_tracker
):
    tracker = make_tracker(text="我要反映个问题", intent="report_start", confidence=0.9)

    events = start_report(dispatcher, tracker)

    assert events[-1] == SlotSet(
        "category_candidates", ["elderly_care", "employment", "social_security"]
    )
    assert dispatcher.messages == []


# --- the report starts when the form activates ---------------------------------------------


def activation(make_tracker, offered: dict[str, Any], **message: Any):
    """What Rasa sends validate_report_form when the form activates: the loop marked active
    after the message, the form's execution, then the form's slots that were filled before
    (``offered``)."""
    return make_tracker(
        slots={**offered, "requested_slot": None},
        active_loop="report_form",
        then=[
            {"event": "active_loop", "name": "report_form"},
            {"event": "slot", "name": "requested_slot", "value": None},
            {"event": "action", "name": "report_form"},
            *({"event": "slot", "name": k, "value": v} for k, v in offered.items()),
        ],
        **message,
    )


async def test_the_form_starts_the_report_when_it_activates(dispatcher, domain, make_tracker):
    tracker = activation(make_tracker, {"phone": PHONE, "contact_name": "张三"}, **ROUTED)

    events = await ValidateReportForm().run(dispatcher, tracker, domain)

    assert events == [
        *STARTED,
        # The slots filled now, validated: the routed category, the kept phone and name.
        SlotSet("category", "city_management"),
        SlotSet("phone", PHONE),
        SlotSet("contact_name", "张三"),
        SlotSet("phone_failures", 0),
    ]
    assert [m["response"] for m in dispatcher.messages] == ["utter_routed"]


async def test_a_category_left_from_before_does_not_replace_the_routing(
    dispatcher, domain, make_tracker
):
    tracker = activation(make_tracker, {"category": "employment"}, **ROUTED)

    events = await ValidateReportForm().run(dispatcher, tracker, domain)

    assert [e["value"] for e in events if e["name"] == "category"][-1] == "city_management"


async def test_an_unsure_routing_at_activation_asks_the_category(dispatcher, domain, make_tracker):
    tracker = activation(
        make_tracker,
        {"category": "employment"},
        text="这个事情不知道该找谁",
        intent="report",
        category_ranking=ranking(("legal_aid", 0.3), ("mediation", 0.2)),
    )

    events = await ValidateReportForm().run(dispatcher, tracker, domain)

    assert SlotSet("description", "这个事情不知道该找谁") in events
    assert not [e for e in events if e["name"] == "category" and e["value"]]
    assert dispatcher.messages == []


async def test_an_active_form_does_not_start_the_report_again(dispatcher, domain, make_tracker):
    tracker = make_tracker(
        text="幸福小区3栋",
        intent="inform",
        slots={"description": DESCRIPTION, "category": "city_management"},
        active_loop="report_form",
        validating={"location": "幸福小区3栋"},
    )

    events = await ValidateReportForm().run(dispatcher, tracker, domain)

    assert not [e for e in events if e["name"] == "description"]
    assert SlotSet("location", "幸福小区3栋") in events


async def test_ask_category_without_candidates_offers_other(dispatcher, domain, make_tracker):
    tracker = make_tracker(slots={"category_candidates": None}, active_loop="report_form")

    assert await ActionAskCategory().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == [
        utterance("utter_choose_category", buttons=[button("其他事项", "other")])
    ]


# --- action_ask_confirmed ------------------------------------------------------------------


CONFIRM_BUTTONS = [
    {"title": "确认提交", "payload": "/affirm"},
    {"title": "修改类别", "payload": '/change_field{"field": "category"}'},
    {"title": "修改地点", "payload": '/change_field{"field": "location"}'},
    {"title": "修改电话", "payload": '/change_field{"field": "phone"}'},
    {"title": "修改称呼", "payload": '/change_field{"field": "contact_name"}'},
    {"title": "取消", "payload": "/cancel_case"},
]


async def test_ask_confirmed_shows_the_summary_with_the_phone_masked(
    dispatcher, domain, make_tracker
):
    tracker = make_tracker(slots=COLLECTED | {"confirmed": None}, active_loop="report_form")

    assert await ActionAskConfirmed().run(dispatcher, tracker, domain) == []

    assert dispatcher.messages[0]["text"] == (
        "请核对登记信息：\n类别：城市管理\n问题：我家楼下的路灯坏了好几天了\n"
        "地点：幸福小区3栋2单元\n电话：138****5678\n称呼：张三\n"
        "这类问题的办理进度可以在城市公开平台公示，方便其他居民了解；公示内容不含您的"
        "电话、姓名和详细地址。默认不公示，同意请点「确认并同意公示」。"
    )
    assert dispatcher.messages[0]["buttons"] == [
        CONFIRM_BUTTONS[0],
        {"title": "确认并同意公示", "payload": '/affirm{"publish": "yes"}'},
        *CONFIRM_BUTTONS[1:],
    ]


async def test_ask_confirmed_without_category_or_name(dispatcher, domain, make_tracker):
    tracker = make_tracker(
        slots=COLLECTED | {"category": None, "contact_name": None, "phone": "+862785671234"},
        active_loop="report_form",
    )

    await ActionAskConfirmed().run(dispatcher, tracker, domain)

    assert dispatcher.messages[0]["text"] == (
        "请核对登记信息：\n类别：未选择\n问题：我家楼下的路灯坏了好几天了\n"
        "地点：幸福小区3栋2单元\n电话：027****1234\n称呼：匿名"
    )


# --- validate_report_form ------------------------------------------------------------------


async def validate(dispatcher, domain, make_tracker, slots=None, **kwargs):
    tracker = make_tracker(
        slots=COLLECTED | {"confirmed": None} | (slots or {}),
        active_loop="report_form",
        **kwargs,
    )
    return await ValidateReportForm().run(dispatcher, tracker, domain)


async def test_category_by_code_from_a_button(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        text='/choose_category{"category": "property_housing"}',
        intent="choose_category",
        entities={"category": "property_housing"},
        validating={"category": "property_housing"},
    )

    assert events == [SlotSet("category", "property_housing")]
    assert dispatcher.messages == []


async def test_category_by_name(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher, domain, make_tracker, text="城市管理", validating={"category": "城市管理"}
    )

    assert events == [SlotSet("category", "city_management")]
    assert dispatcher.messages == [utterance("utter_category_chosen", category_name="城市管理")]


async def test_category_by_keyword(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher, domain, make_tracker, text="家里漏水了", validating={"category": "家里漏水了"}
    )

    assert events == [SlotSet("category", "property_housing")]
    assert dispatcher.messages == [utterance("utter_category_chosen", category_name="物业住房")]


async def test_unknown_category_is_asked_again(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher, domain, make_tracker, text="我也不知道", validating={"category": "我也不知道"}
    )

    assert events == [SlotSet("category", None)]
    assert dispatcher.messages == [utterance("utter_category_not_found")]


@pytest.mark.parametrize("said", [" 楼 ", "小区", "在楼下", "我家"])
async def test_location_too_vague(dispatcher, domain, make_tracker, said):
    events = await validate(
        dispatcher, domain, make_tracker, text=said, validating={"location": said}
    )

    assert events == [SlotSet("location", None)]
    assert dispatcher.messages == [utterance("utter_location_too_vague")]


async def test_location_accepted_and_trimmed(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        text=" 幸福小区3栋 ",
        validating={"location": " 幸福小区3栋 "},
    )

    assert events == [SlotSet("location", "幸福小区3栋")]
    assert dispatcher.messages == []


async def test_location_keeps_the_residents_traditional_characters(
    dispatcher, domain, make_tracker
):
    # The NLU reads 幸福小区3栋门口 and extracts 幸福小区3栋; the case keeps what was written.
    tracker = make_tracker(
        slots=COLLECTED | {"confirmed": None, "location": None},
        active_loop="report_form",
        text="幸福小区3栋门口",
        validating={"location": "幸福小区3栋"},
    )
    tracker.latest_message["original_text"] = "幸福小區3棟門口"

    events = await ValidateReportForm().run(dispatcher, tracker, domain)

    assert events == [SlotSet("location", "幸福小區3棟門口")]
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("slot", "said", "intent", "confidence", "kept"),
    [
        # Answers the NLU took for something else fill the slot (issue 11).
        ("location", "滨湖社区", "out_of_scope", 0.9, "滨湖社区"),
        ("location", "锦绣华庭小区地下车库B区", "report", 0.62, "锦绣华庭小区地下车库B区"),
        ("location", "就在锦绣华庭那边", "chitchat", 0.9, "就在锦绣华庭那边"),
        ("contact_name", "孙", "affirm", 0.53, "孙"),
        ("contact_name", "本人姓李", "thank", 0.9, "李"),
        ("contact_name", "王先生", "greet", 0.5, "王先生"),
        # The phone is the entity in the answer.
        ("phone", "谢谢，13812345678", "thank", 0.95, PHONE),
    ],
)
async def test_an_answer_fills_the_slot_whatever_the_intent(
    dispatcher, domain, make_tracker, slot, said, intent, confidence, kept
):
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        slots={slot: None, "requested_slot": slot},
        text=said,
        intent=intent,
        confidence=confidence,
        validating={slot: "13812345678" if slot == "phone" else said},
    )

    assert events[0] == SlotSet(slot, kept)
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("slot", "said", "intent", "response"),
    [
        ("location", "你是机器人吗", "bot_challenge", "utter_iamabot"),
        ("location", "你叫什么名字", "chitchat", "utter_chitchat"),
        ("phone", "谢谢", "thank", "utter_continue_report"),
        ("contact_name", "你好", "greet", "utter_continue_report"),
        ("contact_name", "你是机器人吗", "bot_challenge", "utter_iamabot"),
        ("category", "你好", "greet", "utter_continue_report"),
    ],
)
async def test_a_remark_instead_of_an_answer_is_answered_and_the_question_asked_again(
    dispatcher, domain, make_tracker, slot, said, intent, response
):
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        slots={slot: None, "requested_slot": slot, "phone_failures": 0},
        text=said,
        intent=intent,
        confidence=0.97,
        validating={slot: said},
    )

    assert events == [SlotSet(slot, None)]
    assert [m["response"] for m in dispatcher.messages] == [response]


@pytest.mark.parametrize("passing", ["滨湖", "楼下"])
async def test_a_place_in_passing_does_not_replace_the_place_given(
    dispatcher, domain, make_tracker, passing
):
    # Asked for the phone, the resident says 滨湖社区活动中心附近; the NLU extracts 滨湖.
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        slots={"requested_slot": "phone", "phone": None},
        events=[{"event": "slot", "name": "location", "value": "滨湖社区", "timestamp": 1.0}],
        text="滨湖社区活动中心附近",
        intent="report",
        validating={"location": passing},
    )

    assert events == [SlotSet("location", "滨湖社区")]
    assert dispatcher.messages == []


async def test_phone_valid_mobile_is_normalised(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        slots={"phone": None, "phone_failures": 1},
        text="138 1234 5678",
        validating={"phone": "138 1234 5678"},
    )

    assert events == [SlotSet("phone", PHONE), SlotSet("phone_failures", 0)]
    assert dispatcher.messages == []


async def test_phone_valid_landline(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher, domain, make_tracker, text="027-85671234", validating={"phone": "027-85671234"}
    )

    assert events == [SlotSet("phone", "+862785671234"), SlotSet("phone_failures", 0)]


async def test_phone_invalid_once(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        slots={"phone": None},
        text="12345",
        validating={"phone": "12345"},
    )

    assert events == [SlotSet("phone", None), SlotSet("phone_failures", 1)]
    assert dispatcher.messages == [
        utterance("utter_phone_invalid", problem="「12345」不是有效的手机号或固定电话")
    ]


async def test_phone_invalid_twice_offers_a_human(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        slots={"phone": None, "phone_failures": 1.0},
        text="电话abc",
        validating={"phone": "电话abc"},
    )

    assert events == [SlotSet("phone", None), SlotSet("phone_failures", 2)]
    assert dispatcher.messages == [
        utterance("utter_phone_invalid", problem="电话号码「电话abc」含有非数字字符"),
        utterance(
            "utter_phone_keeps_failing",
            buttons=[
                {"title": "转人工", "payload": "/request_human"},
                {"title": "继续填写", "payload": "/inform"},
            ],
        ),
    ]


async def test_contact_name_strips_wo_jiao(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher, domain, make_tracker, text="我叫张三", validating={"contact_name": "我叫张三"}
    )

    assert events == [SlotSet("contact_name", "张三")]
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("said", "name"),
    [("免贵姓孙", "孙"), ("本人姓李", "李"), ("姓王", "王"), ("我姓孙。", "孙"), ("孙", "孙")],
)
async def test_contact_name_strips_what_residents_say_before_a_surname(
    dispatcher, domain, make_tracker, said, name
):
    events = await validate(
        dispatcher, domain, make_tracker, text=said, validating={"contact_name": said}
    )

    assert events == [SlotSet("contact_name", name)]
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    "said", ["我不想留电话", "本人不便留下联系方式", "电话不方便提供", "不提供电话"]
)
async def test_declining_the_phone_explains_and_goes_on(dispatcher, domain, make_tracker, said):
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        slots={"phone": None, "phone_failures": 1, "requested_slot": "phone"},
        text=said,
        intent="deny",
        validating={"phone": said},
    )

    assert events == [SlotSet("phone", "未留"), SlotSet("phone_failures", 0)]
    assert [m["response"] for m in dispatcher.messages] == ["utter_phone_declined"]


async def test_contact_name_plain(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher, domain, make_tracker, text="王阿姨", validating={"contact_name": " 王阿姨 "}
    )

    assert events == [SlotSet("contact_name", "王阿姨")]


async def test_contact_name_anonymous(dispatcher, domain, make_tracker):
    too_long = "这个名字实在是太长了所以一定超过了二十个字的限制吧"
    for said in ("匿名", "我要匿名", "不方便透露", too_long):
        events = await validate(
            dispatcher, domain, make_tracker, text=said, validating={"contact_name": said}
        )
        assert events == [SlotSet("contact_name", "匿名")], said


async def test_confirmed_yes(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        text="是的",
        intent="affirm",
        validating={"confirmed": "yes"},
    )

    assert events == [SlotSet("confirmed", "yes")]
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("said", "intent"),
    [("确认无误", "confirm_withdraw"), ("核对无误，提交", "report"), ("信息都对，确定", "inform")],
)
async def test_confirmed_by_words_whatever_the_intent(
    dispatcher, domain, make_tracker, said, intent
):
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        text=said,
        intent=intent,
        validating={"confirmed": said},
    )

    assert events == [SlotSet("confirmed", "yes")]
    assert dispatcher.messages == []


@pytest.mark.parametrize("said", ["地址不对", "确认撤回", "电话有误，要修改"])
async def test_words_that_do_not_confirm_ask_what_to_change(dispatcher, domain, make_tracker, said):
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        text=said,
        intent="inform",
        validating={"confirmed": said},
    )

    assert events == [SlotSet("confirmed", None)]
    assert dispatcher.messages == [utterance("utter_which_field")]


async def test_change_field_with_field_clears_it(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        text='/change_field{"field": "location"}',
        intent="change_field",
        entities={"field": "location"},
        validating={"confirmed": "change"},
    )

    assert events == [SlotSet("confirmed", None), SlotSet("location", None)]
    assert dispatcher.messages == [utterance("utter_field_again", field_label="地点")]


async def test_change_field_without_field_asks_which(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        text="我要改一下",
        intent="change_field",
        validating={"confirmed": "change"},
    )

    assert events == [SlotSet("confirmed", None)]
    assert dispatcher.messages == [utterance("utter_which_field")]


async def test_change_field_with_an_unknown_field_asks_which(dispatcher, domain, make_tracker):
    events = await validate(
        dispatcher,
        domain,
        make_tracker,
        text="改描述",
        intent="change_field",
        entities={"field": "description"},
        validating={"confirmed": "change"},
    )

    assert events == [SlotSet("confirmed", None)]
    assert dispatcher.messages == [utterance("utter_which_field")]


# --- action_submit_case --------------------------------------------------------------------


def confirmed(make_tracker, started: float = FORM_STARTED, earlier=(), **slots: Any):
    """The resident has just confirmed the report form that activated at ``started``."""
    return make_tracker(
        slots=COLLECTED | slots,
        text="是",
        intent="affirm",
        events=[e for t in earlier for e in report_submitted(t)] + report_form_started(started),
        then=report_form_completed(started + 61),
    )


async def test_submit_logs_the_case_and_tells_the_number(db, dispatcher, domain, make_tracker):
    events = await ActionSubmitCase().run(dispatcher, confirmed(make_tracker), domain)

    number = "SQ20250609-0001"
    assert events == [*RESET, SlotSet("case_number", number)]
    assert [m["text"] for m in dispatcher.messages] == [SUBMITTED.format(number=number)]
    [case] = cases(db)
    assert (
        case.number,
        case.category,
        case.description,
        case.case_type,
        case.urgency,
        case.status,
        case.location,
        case.phone,
        case.contact_name,
        case.channel,
        case.resident_ref,
        case.department,
        case.idempotency_key,
    ) == (
        number,
        "city_management",
        DESCRIPTION,
        "help",
        "normal",
        "new",
        "幸福小区3栋2单元",
        PHONE,
        "张三",
        "telegram",
        SENDER,
        "街道城管执法中队",
        f"{SENDER}:report:{FORM_STARTED}",
    )
    assert events_of(db, number) == [("create", SENDER, "new", None)]


async def test_rasa_retrying_submit_logs_one_case(db, dispatcher, domain, make_tracker):
    tracker = confirmed(make_tracker)

    first = await ActionSubmitCase().run(dispatcher, tracker, domain)
    second = await ActionSubmitCase().run(dispatcher, tracker, domain)

    assert first == second == [*RESET, SlotSet("case_number", "SQ20250609-0001")]
    assert [m["text"] for m in dispatcher.messages] == [
        SUBMITTED.format(number="SQ20250609-0001")
    ] * 2
    assert [c.number for c in cases(db)] == ["SQ20250609-0001"]


async def test_a_new_report_form_gives_a_second_case(db, dispatcher, domain, make_tracker):
    await ActionSubmitCase().run(dispatcher, confirmed(make_tracker), domain)
    later = FORM_STARTED + 600
    second = confirmed(make_tracker, started=later, earlier=[FORM_STARTED])
    events = await ActionSubmitCase().run(dispatcher, second, domain)

    assert events[-1] == SlotSet("case_number", "SQ20250609-0002")
    assert [(c.number, c.idempotency_key) for c in cases(db)] == [
        ("SQ20250609-0001", f"{SENDER}:report:{FORM_STARTED}"),
        ("SQ20250609-0002", f"{SENDER}:report:{later}"),
    ]


async def test_the_same_form_for_another_resident_is_another_case(
    db, dispatcher, domain, make_tracker
):
    await ActionSubmitCase().run(dispatcher, confirmed(make_tracker), domain)
    other = make_tracker(
        sender_id="web:abc",
        slots=COLLECTED,
        events=report_form_started(FORM_STARTED),
        then=report_form_completed(FORM_STARTED + 61),
    )
    await ActionSubmitCase().run(dispatcher, other, domain)

    assert [(c.resident_ref, c.channel) for c in cases(db)] == [
        (SENDER, "telegram"),
        ("web:abc", "web"),
    ]


async def test_submit_with_invalid_data_asks_again(db, dispatcher, domain, make_tracker):
    events = await ActionSubmitCase().run(
        dispatcher, confirmed(make_tracker, latitude=123.0), domain
    )

    assert events == RESET
    assert dispatcher.messages == [
        utterance("utter_report_invalid", problem="超出范围 -90.0～90.0")
    ]
    assert cases(db) == []


async def test_database_down_spools_and_flush_logs_once(
    outage, db, var_dir, dispatcher, domain, make_tracker
):
    tracker = confirmed(make_tracker)

    events = await ActionSubmitCase().run(dispatcher, tracker, domain)
    retried = await ActionSubmitCase().run(dispatcher, tracker, domain)

    assert events == retried == RESET
    assert dispatcher.messages == [APOLOGY, APOLOGY]
    [spooled] = pending_reports()
    assert spooled.parent == var_dir / "spool"
    report = json.loads(spooled.read_text(encoding="utf-8"))
    assert report["idempotency_key"] == f"{SENDER}:report:{FORM_STARTED}"
    assert (report["category"], report["description"], report["phone"]) == (
        "city_management",
        DESCRIPTION,
        PHONE,
    )

    outage.end()
    assert cases(db) == []
    assert flush_spool() == ["SQ20250609-0001"]

    [case] = cases(db)
    assert (case.number, case.resident_ref, case.contact_name) == (
        "SQ20250609-0001",
        SENDER,
        "张三",
    )
    assert events_of(db, case.number) == [("create", "spool", "new", None)]
    assert outbox(db) == [
        (
            SENDER,
            "status",
            "系统已恢复，您之前反映的问题已登记。\n工单编号：SQ20250609-0001\n"
            "承办单位：街道城管执法中队\n办理时限：2025年6月16日前\n"
            "查询进度请发送「查询 SQ20250609-0001」。处理有进展时我们会通知您。",
        )
    ]
    assert pending_reports() == []

    assert flush_spool() == []
    assert len(cases(db)) == 1
    assert len(outbox(db)) == 1


async def test_rasa_retry_after_the_flush_finds_the_spooled_case(
    outage, db, dispatcher, domain, make_tracker
):
    tracker = confirmed(make_tracker)
    await ActionSubmitCase().run(dispatcher, tracker, domain)
    outage.end()
    flush_spool()

    events = await ActionSubmitCase().run(dispatcher, tracker, domain)

    assert events[-1] == SlotSet("case_number", "SQ20250609-0001")
    assert len(cases(db)) == 1


# --- action_cancel_report ------------------------------------------------------------------


async def test_cancel_report_stops_the_form_and_clears_it(dispatcher, domain, make_tracker):
    tracker = make_tracker(
        slots=COLLECTED | {"requested_slot": "phone"},
        text="不报了",
        intent="cancel_case",
        active_loop="report_form",
    )

    events = await ActionCancelReport().run(dispatcher, tracker, domain)

    assert events == [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        *RESET,
        SlotSet("info_case_number", None),
        SlotSet("info_text", None),
        SlotSet("awaiting_description", False),
    ]
    assert dispatcher.messages == [utterance("utter_report_cancelled")]


@pytest.mark.parametrize(
    ("slot", "consent"),
    [(None, False), ("yes", True), ("no", False), (True, False), ("true", False)],
)
def test_the_case_carries_the_publication_consent_the_form_asked(
    make_tracker, slot: Any, consent: bool
) -> None:
    """Only the 确认并同意公示 button (``publish_consent`` = ``yes``) makes a case publishable."""
    from actions.report import new_case_from

    slots = dict(COLLECTED) | ({} if slot is None else {"publish_consent": slot})
    assert new_case_from(make_tracker(slots=slots)).publish_consent is consent


async def test_the_summary_offers_publication_only_where_a_case_could_be_published(
    dispatcher, domain, make_tracker
):
    from actions.report import PUBLISH_PAYLOAD, ActionAskConfirmed

    public = make_tracker(slots=dict(COLLECTED), active_loop="report_form")
    await ActionAskConfirmed().run(dispatcher, public, domain)
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert payloads[:2] == ["/affirm", PUBLISH_PAYLOAD]
    assert "默认不公示" in dispatcher.messages[0]["text"]

    dispatcher.messages.clear()
    private = make_tracker(
        slots=dict(COLLECTED) | {"category": "mediation"}, active_loop="report_form"
    )
    await ActionAskConfirmed().run(dispatcher, private, domain)
    assert PUBLISH_PAYLOAD not in [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert "公示" not in dispatcher.messages[0]["text"]

    dispatcher.messages.clear()
    consultation = make_tracker(
        slots=dict(COLLECTED) | {"case_type": "consultation"}, active_loop="report_form"
    )
    await ActionAskConfirmed().run(dispatcher, consultation, domain)
    assert PUBLISH_PAYLOAD not in [b["payload"] for b in dispatcher.messages[0]["buttons"]]


def test_the_most_specific_place_wins_when_several_are_tagged() -> None:
    from actions.report import named_place

    message = {
        "entities": [
            {"entity": "phone", "value": "13512345678"},
            {"entity": "location", "value": "滨湖花园5栋"},
            {"entity": "location", "value": "单元"},
        ]
    }
    assert named_place(message) == "滨湖花园5栋"
    assert named_place({"entities": []}) is None
