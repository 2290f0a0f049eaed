"""A resident's own cases: status lookup without leaking others', withdrawal, added information."""

from __future__ import annotations

from typing import Any

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cases import (
    ActionAddInfo,
    ActionAddInfoStart,
    ActionCheckStatus,
    ActionConfirmWithdraw,
    ActionVerifyLookup,
    ActionWithdrawCase,
)
from tests.actions.conftest import (
    LOOKUP_APOLOGY,
    OTHER_SENDER,
    SENDER,
    cases,
    events_of,
    make_case,
    move,
    outbox,
    utterance,
)

OTHER_PHONE = "+8613900001234"
OWN_CASE_TEXT = (
    "工单 SQ20250609-0001：待受理\n类别：城市管理\n问题：我家楼下的路灯坏了好几天了\n"
    "承办单位：街道城管执法中队\n办理时限：2025年6月16日前"
)
OTHERS_CASE_TEXT = (
    "工单 SQ20250609-0002：待受理\n类别：矛盾调解\n问题：三楼邻居家天天半夜装修\n"
    "承办单位：社区人民调解委员会\n办理时限：2025年6月30日前"
)
ASK_LAST4 = [
    SlotSet("lookup_pending", True),
    SlotSet("case_number", "SQ20250609-0002"),
    SlotSet("phone_last4", None),
]


def own_case(db: str) -> str:
    return make_case(db)


def others_case(db: str) -> str:
    return make_case(
        db,
        category="mediation",
        description="三楼邻居家天天半夜装修",
        phone=OTHER_PHONE,
        resident_ref=OTHER_SENDER,
        case_type="complaint",
    )


def asking(make_tracker, number: str | None, **kwargs):
    text = f"查询 {number}" if number else "我的工单办得怎么样了"
    return make_tracker(
        text=text,
        intent="check_status",
        entities={"case_number": number} if number else None,
        **kwargs,
    )


def verifying(make_tracker, number: str, last4: str):
    return make_tracker(
        slots={"case_number": number, "phone_last4": last4, "lookup_pending": True},
        text=last4,
        intent="inform",
    )


# --- action_check_status / action_verify_lookup --------------------------------------------


async def test_status_lists_own_open_cases(db, dispatcher, domain, make_tracker):
    own_case(db)
    others_case(db)

    events = await ActionCheckStatus().run(dispatcher, asking(make_tracker, None), domain)

    assert events == [SlotSet("lookup_pending", False)]
    assert [m["text"] for m in dispatcher.messages] == ["您正在办理的工单：\n\n" + OWN_CASE_TEXT]


async def test_status_without_open_cases(db, dispatcher, domain, make_tracker):
    others_case(db)

    events = await ActionCheckStatus().run(dispatcher, asking(make_tracker, None), domain)

    assert events == [SlotSet("lookup_pending", False)]
    assert dispatcher.messages == [utterance("utter_no_open_cases")]


async def test_status_of_own_case_by_number(db, dispatcher, domain, make_tracker):
    number = own_case(db)

    events = await ActionCheckStatus().run(dispatcher, asking(make_tracker, number), domain)

    assert events == [SlotSet("lookup_pending", False)]
    assert [m["text"] for m in dispatcher.messages] == [OWN_CASE_TEXT]


async def test_status_number_typed_in_lower_case(db, dispatcher, domain, make_tracker):
    own_case(db)
    tracker = make_tracker(text="帮我查下 sq20250609-0001 吧", intent="check_status")

    events = await ActionCheckStatus().run(dispatcher, tracker, domain)

    assert events == [SlotSet("lookup_pending", False)]
    assert [m["text"] for m in dispatcher.messages] == [OWN_CASE_TEXT]


async def test_status_number_written_right_after_chinese(db, dispatcher, domain, make_tracker):
    own_case(db)
    tracker = make_tracker(text="查一下SQ20250609-0001", intent="check_status")

    await ActionCheckStatus().run(dispatcher, tracker, domain)

    assert [m["text"] for m in dispatcher.messages] == [OWN_CASE_TEXT]


async def test_status_of_a_resolved_case_shows_the_result(db, dispatcher, domain, make_tracker):
    number = own_case(db)
    move(db, number, ("accept", None), ("dispatch", None), ("resolve", "路灯已修复"))

    await ActionCheckStatus().run(dispatcher, asking(make_tracker, number), domain)

    assert [m["text"] for m in dispatcher.messages] == [
        "工单 SQ20250609-0001：已办结\n类别：城市管理\n问题：我家楼下的路灯坏了好几天了\n"
        "承办单位：街道城管执法中队\n办理结果：路灯已修复"
    ]


async def test_others_case_and_unknown_number_look_the_same(db, domain, dispatcher, make_tracker):
    own_case(db)
    number = "SQ20250609-0002"

    # Before the number exists...
    unknown_events = await ActionCheckStatus().run(dispatcher, asking(make_tracker, number), domain)
    unknown_messages = list(dispatcher.messages)
    unknown_verified = await ActionVerifyLookup().run(
        dispatcher, verifying(make_tracker, number, "1234"), domain
    )
    unknown_all = list(dispatcher.messages)
    dispatcher.messages.clear()

    # ...and once it is another resident's case.
    assert others_case(db) == number
    others_events = await ActionCheckStatus().run(dispatcher, asking(make_tracker, number), domain)
    others_messages = list(dispatcher.messages)
    wrong_last4 = await ActionVerifyLookup().run(
        dispatcher, verifying(make_tracker, number, "5678"), domain
    )

    assert unknown_events == others_events == ASK_LAST4
    assert unknown_messages == others_messages == []
    assert (
        unknown_verified
        == wrong_last4
        == [
            SlotSet("lookup_pending", False),
            SlotSet("phone_last4", None),
        ]
    )
    assert unknown_all == dispatcher.messages
    assert dispatcher.messages == [utterance("utter_case_not_found", number=number)]


async def test_right_last4_shows_the_case(db, dispatcher, domain, make_tracker):
    own_case(db)
    number = others_case(db)

    events = await ActionVerifyLookup().run(
        dispatcher, verifying(make_tracker, number, "尾号是 1234"), domain
    )

    assert events == [SlotSet("lookup_pending", False), SlotSet("phone_last4", None)]
    assert [m["text"] for m in dispatcher.messages] == [OTHERS_CASE_TEXT]


async def test_full_phone_number_counts_as_its_last4(db, dispatcher, domain, make_tracker):
    own_case(db)
    number = others_case(db)
    tracker = verifying(make_tracker, number, "13900001234")

    await ActionVerifyLookup().run(dispatcher, tracker, domain)

    assert [m["text"] for m in dispatcher.messages] == [OTHERS_CASE_TEXT]


async def test_status_with_the_database_down(outage, dispatcher, domain, make_tracker):
    events = await ActionCheckStatus().run(
        dispatcher, asking(make_tracker, "SQ20250609-0001"), domain
    )
    listing = await ActionCheckStatus().run(dispatcher, asking(make_tracker, None), domain)
    verified = await ActionVerifyLookup().run(
        dispatcher, verifying(make_tracker, "SQ20250609-0001", "1234"), domain
    )

    assert events == listing == [SlotSet("lookup_pending", False)]
    assert verified == [SlotSet("lookup_pending", False), SlotSet("phone_last4", None)]
    assert dispatcher.messages == [LOOKUP_APOLOGY] * 3


async def test_wrong_last4_guesses_are_limited_per_address_and_per_case(
    db, domain, make_tracker, monkeypatch
):
    """A new cookie is a new sender: guesses count per client address and per case number."""
    monkeypatch.setenv("HOTLINE_LOOKUP_LIMIT_PER_IP", "3/hour")
    monkeypatch.setenv("HOTLINE_LOOKUP_LIMIT_PER_CASE", "5/hour")
    own_case(db)
    number = others_case(db)  # the phone ends in 1234
    refused = utterance("utter_too_many_lookups", hotline_phone="12343")
    not_found = utterance("utter_case_not_found", number=number)

    async def guess(last4: str, sender: str, client: str | None) -> dict[str, Any]:
        tracker = make_tracker(
            sender_id=sender,
            slots={"case_number": number, "phone_last4": last4, "lookup_pending": True},
            text=last4,
            intent="inform",
        )
        tracker.latest_message["metadata"] = {"channel": "web", "client": client} if client else {}
        dispatcher = CollectingDispatcher()
        events = await ActionVerifyLookup().run(dispatcher, tracker, domain)
        assert events == [SlotSet("lookup_pending", False), SlotSet("phone_last4", None)]
        [message] = dispatcher.messages
        return message

    for i in range(3):  # three fresh cookies behind one address
        assert await guess(f"000{i}", f"web:fresh{i}", "address-a") == not_found
    assert await guess("1234", "web:fresh9", "address-a") == refused  # even the right digits
    shown = await guess("1234", "web:elsewhere", "address-b")  # not counted
    assert shown["text"] == OTHERS_CASE_TEXT
    assert await guess("0004", "web:c", "address-c") != refused
    assert await guess("0005", "tg:777", None) != refused  # Telegram: counted per sender
    assert await guess("1234", "web:e", "address-e") == refused  # five wrong for this case


# --- action_withdraw_case / action_confirm_withdraw -----------------------------------------


def withdraw_buttons(*numbers: str) -> list[dict[str, str]]:
    return [
        {"title": f"撤回 {n}", "payload": f'/confirm_withdraw{{"case_number": "{n}"}}'}
        for n in numbers
    ] + [{"title": "不撤回", "payload": "/deny"}]


async def test_withdraw_offers_cases_not_yet_dispatched(db, dispatcher, domain, make_tracker):
    first = own_case(db)
    dispatched = make_case(db, description="小区井盖丢了")
    move(db, dispatched, ("accept", None), ("dispatch", None))
    accepted = make_case(db, description="垃圾好几天没人清运")
    move(db, accepted, ("accept", None))
    others_case(db)
    tracker = make_tracker(text="我要撤回工单", intent="cancel_case")

    events = await ActionWithdrawCase().run(dispatcher, tracker, domain)

    assert events == []
    assert dispatcher.messages == [
        utterance("utter_choose_case_to_withdraw", buttons=withdraw_buttons(accepted, first))
    ]


async def test_withdraw_a_named_own_case(db, dispatcher, domain, make_tracker):
    number = own_case(db)
    tracker = make_tracker(
        text=f"撤销{number}", intent="cancel_case", entities={"case_number": number}
    )

    assert await ActionWithdrawCase().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == [
        utterance("utter_choose_case_to_withdraw", buttons=withdraw_buttons(number))
    ]


async def test_withdraw_someone_elses_case_is_not_found(db, dispatcher, domain, make_tracker):
    number = others_case(db)
    tracker = make_tracker(
        text=f"撤销{number}", intent="cancel_case", entities={"case_number": number}
    )

    assert await ActionWithdrawCase().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == [utterance("utter_case_not_found", number=number)]


async def test_withdraw_with_nothing_to_withdraw(db, dispatcher, domain, make_tracker):
    number = own_case(db)
    move(db, number, ("accept", None), ("dispatch", None))
    tracker = make_tracker(text="撤回", intent="cancel_case")

    assert await ActionWithdrawCase().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == [utterance("utter_nothing_to_withdraw")]


async def test_withdraw_with_the_database_down(outage, dispatcher, domain, make_tracker):
    tracker = make_tracker(text="撤回", intent="cancel_case")

    assert await ActionWithdrawCase().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == [LOOKUP_APOLOGY]


def confirming(make_tracker, number: str | None, **kwargs):
    return make_tracker(
        text=f'/confirm_withdraw{{"case_number": "{number}"}}' if number else "确认撤回",
        intent="confirm_withdraw",
        entities={"case_number": number} if number else None,
        **kwargs,
    )


async def test_confirm_withdraw_cancels_the_case(db, dispatcher, domain, make_tracker):
    number = own_case(db)

    events = await ActionConfirmWithdraw().run(dispatcher, confirming(make_tracker, number), domain)

    assert events == []
    assert dispatcher.messages == [utterance("utter_withdrawn", number=number)]
    [case] = cases(db)
    assert case.status == "cancelled"
    assert events_of(db, number)[-1] == ("cancel", SENDER, "cancelled", "居民撤回")
    # The assistant already told the resident; no second notice through the outbox.
    assert outbox(db) == []


async def test_confirm_withdraw_uses_the_case_number_slot(db, dispatcher, domain, make_tracker):
    number = own_case(db)

    await ActionConfirmWithdraw().run(
        dispatcher, confirming(make_tracker, None, slots={"case_number": number}), domain
    )

    assert dispatcher.messages == [utterance("utter_withdrawn", number=number)]


async def test_confirm_withdraw_of_a_dispatched_case(db, dispatcher, domain, make_tracker):
    number = own_case(db)
    move(db, number, ("accept", None), ("dispatch", None))

    await ActionConfirmWithdraw().run(dispatcher, confirming(make_tracker, number), domain)

    assert dispatcher.messages == [utterance("utter_withdraw_refused", number=number)]
    assert cases(db)[0].status == "dispatched"


async def test_confirm_withdraw_of_someone_elses_case(db, dispatcher, domain, make_tracker):
    number = others_case(db)

    await ActionConfirmWithdraw().run(dispatcher, confirming(make_tracker, number), domain)

    assert dispatcher.messages == [utterance("utter_case_not_found", number=number)]
    assert cases(db)[0].status == "new"


async def test_confirm_withdraw_without_a_number(db, dispatcher, domain, make_tracker):
    events = await ActionConfirmWithdraw().run(dispatcher, confirming(make_tracker, None), domain)

    assert events == []
    assert dispatcher.messages == [utterance("utter_withdraw_which_case")]


async def test_confirm_withdraw_with_the_database_down(outage, dispatcher, domain, make_tracker):
    events = await ActionConfirmWithdraw().run(
        dispatcher, confirming(make_tracker, "SQ20250609-0001"), domain
    )

    assert events == []
    assert dispatcher.messages == [LOOKUP_APOLOGY]


# --- action_add_info_start / action_add_info ------------------------------------------------


def adding(make_tracker, number: str | None = None):
    return make_tracker(
        text=f"给{number}补充点情况" if number else "我要补充情况",
        intent="add_info",
        entities={"case_number": number} if number else None,
    )


async def test_add_info_starts_on_the_newest_open_case(db, dispatcher, domain, make_tracker):
    own_case(db)
    newest = make_case(db, description="小区井盖丢了")

    events = await ActionAddInfoStart().run(dispatcher, adding(make_tracker), domain)

    assert events == [SlotSet("info_case_number", newest), SlotSet("info_text", None)]
    assert dispatcher.messages == [utterance("utter_adding_to_case", number=newest)]


async def test_add_info_starts_on_the_named_case(db, dispatcher, domain, make_tracker):
    number = own_case(db)
    make_case(db, description="小区井盖丢了")

    events = await ActionAddInfoStart().run(dispatcher, adding(make_tracker, number), domain)

    assert events == [SlotSet("info_case_number", number), SlotSet("info_text", None)]
    assert dispatcher.messages == [utterance("utter_adding_to_case", number=number)]


async def test_add_info_to_someone_elses_case_is_not_found(db, dispatcher, domain, make_tracker):
    own_case(db)
    number = others_case(db)

    events = await ActionAddInfoStart().run(dispatcher, adding(make_tracker, number), domain)

    assert events == [SlotSet("info_case_number", None)]
    assert dispatcher.messages == [utterance("utter_case_not_found", number=number)]


async def test_add_info_without_open_cases(db, dispatcher, domain, make_tracker):
    others_case(db)

    events = await ActionAddInfoStart().run(dispatcher, adding(make_tracker), domain)

    assert events == [SlotSet("info_case_number", None)]
    assert dispatcher.messages == [utterance("utter_nothing_to_add_to")]


async def test_add_info_start_with_the_database_down(outage, dispatcher, domain, make_tracker):
    events = await ActionAddInfoStart().run(dispatcher, adding(make_tracker), domain)

    assert events == [SlotSet("info_case_number", None)]
    assert dispatcher.messages == [LOOKUP_APOLOGY]


def info(make_tracker, number: str, text: str = " 晚上九点以后最暗，已经有老人摔倒 "):
    return make_tracker(
        slots={"info_case_number": number, "info_text": text},
        text=text,
        intent="inform",
    )


async def test_add_info_records_an_event(db, dispatcher, domain, make_tracker):
    number = own_case(db)

    events = await ActionAddInfo().run(dispatcher, info(make_tracker, number), domain)

    assert events == [SlotSet("info_case_number", None), SlotSet("info_text", None)]
    assert dispatcher.messages == [utterance("utter_info_added", number=number)]
    assert events_of(db, number)[-1] == (
        "add_info",
        SENDER,
        "new",
        "晚上九点以后最暗，已经有老人摔倒",
    )


async def test_add_info_to_a_finished_case(db, dispatcher, domain, make_tracker):
    number = own_case(db)
    move(db, number, ("cancel", "居民撤回"))

    events = await ActionAddInfo().run(dispatcher, info(make_tracker, number), domain)

    assert events == [SlotSet("info_case_number", None), SlotSet("info_text", None)]
    assert dispatcher.messages == [utterance("utter_case_closed_for_info", number=number)]
    assert [e[0] for e in events_of(db, number)] == ["create", "cancel"]


async def test_add_info_with_the_database_down(outage, dispatcher, domain, make_tracker):
    events = await ActionAddInfo().run(dispatcher, info(make_tracker, "SQ20250609-0001"), domain)

    assert events == [SlotSet("info_case_number", None), SlotSet("info_text", None)]
    assert dispatcher.messages == [LOOKUP_APOLOGY]
