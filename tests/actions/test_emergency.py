"""Emergencies: advice and numbers first, an emergency case, then the location asked last."""

from __future__ import annotations

import pytest
from rasa_sdk.events import ActiveLoop, SlotSet

from actions.emergency import ActionEmergency, ActionEmergencyLocation
from hotline.casework.spool import flush_spool, pending_reports
from tests.actions.conftest import (
    APOLOGY,
    LOOKUP_APOLOGY,
    NOW,
    PHONE,
    RESET,
    SENDER,
    cases,
    events_of,
    rendered,
    utterance,
)

FIRE = "楼下着火了，好多烟，怎么办"
FIRE_ADVICE = utterance(
    "utter_emergency_advice",
    advice="请立即拨打 119 火警电话！不要乘坐电梯，用湿毛巾捂住口鼻，弯腰沿安全通道撤离，"
    "到空旷处等待救援。",
)
STOP_FORMS = [ActiveLoop(None), SlotSet("requested_slot", None), *RESET]


def emergency(make_tracker, text=FIRE, **kwargs):
    return make_tracker(text=text, intent="emergency", confidence=0.97, message_id="m-42", **kwargs)


async def test_fire_gives_119_first_then_logs_an_emergency_case(
    db, dispatcher, domain, make_tracker
):
    events = await ActionEmergency().run(dispatcher, emergency(make_tracker), domain)

    number = "SQ20250609-0001"
    assert dispatcher.messages == [FIRE_ADVICE, utterance("utter_emergency_logged", number=number)]
    assert rendered(dispatcher.messages[0]).startswith("【紧急】请立即拨打 119 火警电话！")
    assert events == [
        *STOP_FORMS,
        SlotSet("emergency_case_number", number),
        SlotSet("location", None),
    ]
    [case] = cases(db)
    assert (
        case.number,
        case.category,
        case.urgency,
        case.case_type,
        case.description,
        case.location,
        case.channel,
        case.resident_ref,
        case.department,
        case.idempotency_key,
        case.due_at,
    ) == (
        number,
        "public_security",
        "emergency",
        "help",
        FIRE,
        "",
        "telegram",
        SENDER,
        "社区警务室",
        f"{SENDER}:emergency:m-42",
        NOW.replace(hour=4),  # two hours on the clock
    )


async def test_emergency_location_is_added_with_an_audit_event(
    db, dispatcher, domain, make_tracker
):
    await ActionEmergency().run(dispatcher, emergency(make_tracker), domain)
    dispatcher.messages.clear()
    answered = make_tracker(
        slots={
            "emergency_case_number": "SQ20250609-0001",
            "location": "幸福小区3栋2单元",
            "latitude": 30.58,
            "longitude": 114.27,
        },
        text="幸福小区3栋2单元",
        intent="inform",
    )

    events = await ActionEmergencyLocation().run(dispatcher, answered, domain)

    assert events == [SlotSet("location", None), SlotSet("emergency_case_number", None)]
    assert dispatcher.messages == [
        utterance("utter_emergency_location_recorded", place="幸福小区3栋2单元")
    ]
    [case] = cases(db)
    assert (case.location, case.latitude, case.longitude) == ("幸福小区3栋2单元", 30.58, 114.27)
    assert events_of(db, case.number) == [
        ("create", SENDER, "new", None),
        ("set_location", SENDER, None, "幸福小区3栋2单元"),
    ]


async def test_location_in_the_emergency_message_is_kept(db, dispatcher, domain, make_tracker):
    tracker = emergency(
        make_tracker,
        text="幸福小区3栋有人晕倒了",
        entities={"location": "幸福小区3栋"},
        slots={"location": "幸福小区3栋"},
    )

    events = await ActionEmergency().run(dispatcher, tracker, domain)

    assert events[-2:] == [
        SlotSet("emergency_case_number", "SQ20250609-0001"),
        SlotSet("location", "幸福小区3栋"),
    ]
    assert rendered(dispatcher.messages[0]).startswith("【紧急】请立即拨打 120 急救电话！")
    [case] = cases(db)
    assert (case.location, case.category) == ("幸福小区3栋", "public_health")


async def test_emergency_in_the_middle_of_a_report(db, dispatcher, domain, make_tracker):
    tracker = emergency(
        make_tracker,
        text="等一下，隔壁有人拿刀打人",
        active_loop="report_form",
        slots={"location": "幸福小区3栋", "phone": PHONE, "requested_slot": "contact_name"},
    )

    events = await ActionEmergency().run(dispatcher, tracker, domain)

    assert events[: len(STOP_FORMS)] == STOP_FORMS
    assert dispatcher.messages[0] == utterance(
        "utter_emergency_advice",
        advice="请立即拨打 110 报警！先远离危险，保护好自己和家人，在安全的地方等待民警。",
    )
    [case] = cases(db)
    # The report's location may describe another place; the emergency form asks again.
    assert (case.location, case.phone, case.category) == ("", PHONE, "public_security")


@pytest.mark.parametrize(
    ("text", "number", "category"),
    [
        ("厨房里煤气味很重", "119", "property_housing"),
        ("我爸摔倒了起不来", "120", "public_health"),
        ("孩子走丢了找了半小时", "110", "minors"),
        ("有人持刀在小区里", "110", "public_security"),
        ("快来人啊出大事了", "110", "public_security"),
    ],
)
async def test_each_kind_of_emergency(db, dispatcher, domain, make_tracker, text, number, category):
    await ActionEmergency().run(dispatcher, emergency(make_tracker, text=text), domain)

    assert dispatcher.messages[0]["response"] == "utter_emergency_advice"
    assert number in dispatcher.messages[0]["advice"]
    assert [(c.category, c.urgency) for c in cases(db)] == [(category, "emergency")]


async def test_an_emergency_of_no_known_kind_goes_to_the_category_the_nlu_is_sure_of(
    db, dispatcher, domain, make_tracker
):
    ranking = [{"name": "city_management", "confidence": 0.86}]
    tracker = emergency(make_tracker, text="清水湖边有人往湖里倒废油", category_ranking=ranking)

    await ActionEmergency().run(dispatcher, tracker, domain)

    assert "110" in dispatcher.messages[0]["advice"]
    assert [(c.category, c.urgency) for c in cases(db)] == [("city_management", "emergency")]


async def test_rasa_retrying_the_emergency_logs_one_case(db, dispatcher, domain, make_tracker):
    tracker = emergency(make_tracker)

    first = await ActionEmergency().run(dispatcher, tracker, domain)
    second = await ActionEmergency().run(dispatcher, tracker, domain)

    assert first == second
    assert len(cases(db)) == 1


async def test_emergency_with_the_database_down_still_advises_and_spools(
    outage, db, dispatcher, domain, make_tracker
):
    events = await ActionEmergency().run(dispatcher, emergency(make_tracker), domain)

    assert dispatcher.messages == [FIRE_ADVICE, APOLOGY]
    assert events == STOP_FORMS
    assert len(pending_reports()) == 1

    outage.end()
    assert flush_spool() == ["SQ20250609-0001"]
    [case] = cases(db)
    assert (case.urgency, case.idempotency_key) == ("emergency", f"{SENDER}:emergency:m-42")


async def test_location_after_a_spooled_emergency_reaches_the_case(
    outage, db, dispatcher, domain, make_tracker
):
    await ActionEmergency().run(dispatcher, emergency(make_tracker), domain)
    answered = make_tracker(slots={"location": "幸福小区3栋"}, text="幸福小区3栋")
    events = await ActionEmergencyLocation().run(dispatcher, answered, domain)

    assert dispatcher.messages[-1] == utterance(
        "utter_emergency_location_recorded", place="幸福小区3栋"
    )
    assert events == [SlotSet("location", None), SlotSet("emergency_case_number", None)]
    outage.end()
    flush_spool()
    [case] = cases(db)
    assert case.location == "幸福小区3栋"
    assert [e[0] for e in events_of(db, case.number)] == ["create"]


async def test_location_after_the_spool_was_flushed_reaches_the_case(
    outage, db, dispatcher, domain, make_tracker
):
    await ActionEmergency().run(dispatcher, emergency(make_tracker), domain)
    outage.end()
    flush_spool()
    answered = make_tracker(slots={"location": "幸福小区3栋"}, text="幸福小区3栋")

    await ActionEmergencyLocation().run(dispatcher, answered, domain)

    [case] = cases(db)
    assert case.location == "幸福小区3栋"
    assert [e[0] for e in events_of(db, case.number)] == ["create", "set_location"]
    assert dispatcher.messages[-1] == utterance(
        "utter_emergency_location_recorded", place="幸福小区3栋"
    )


async def test_location_with_no_case_anywhere_is_not_claimed_recorded(
    outage, db, dispatcher, domain, make_tracker
):
    answered = make_tracker(slots={"location": "幸福小区3栋"}, text="幸福小区3栋")

    events = await ActionEmergencyLocation().run(dispatcher, answered, domain)

    assert events == []
    assert dispatcher.messages == [LOOKUP_APOLOGY]


async def test_emergency_location_with_the_database_down(
    db, outage, dispatcher, domain, make_tracker
):
    answered = make_tracker(
        slots={"emergency_case_number": "SQ20250609-0001", "location": "幸福小区3栋"}
    )

    events = await ActionEmergencyLocation().run(dispatcher, answered, domain)

    assert events == []
    assert dispatcher.messages == [LOOKUP_APOLOGY]
