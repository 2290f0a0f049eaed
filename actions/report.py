"""Reporting a problem: routing, the report form, and logging the case exactly once."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import apologise, as_value, latest_text, sender_of, with_db
from actions.duplicates import (
    ANSWER_SLOT,
    MATCH_SLOT,
    STATUS_SLOT,
    answer_value,
    form_slots,
    join,
    matched_number,
    same_problem_events,
)
from actions.shared_vectors import remember_shared_vectors
from hotline.casework.cases import NewCase
from hotline.casework.catalogue import get_catalogue
from hotline.casework.messages import case_logged
from hotline.casework.phone import mask_phone, normalise_phone
from hotline.casework.routing import (
    CONFIDENT_ROUTE,
    category_from_text,
    category_ranking,
    infer_case_type,
    intent_confidence,
    intent_name,
    is_vague_location,
    plausible_place,
    unclear_message_is_report,
)
from hotline.casework.spool import spool_report
from hotline.casework.vocab import channel_of_sender
from hotline.channels.open311 import asks_publish_consent
from hotline.config import load_settings
from hotline.errors import HotlineError, StorageUnavailableError, ValidationError
from hotline.residents.resident import submit_report

log = logging.getLogger(__name__)

REPORT_SLOTS = (
    "category",
    "category_candidates",
    "description",
    "case_type",
    "location",
    "latitude",
    "longitude",
    "confirmed",
    "phone_failures",
    "publish_consent",
    MATCH_SLOT,
    STATUS_SLOT,
    ANSWER_SLOT,
)
MAX_PHONE_FAILURES = 2
NO_PHONE = "未留"
"""The phone slot's value when the resident chose not to leave a number."""
_DECLINE_WORDS = (
    "不想留",
    "不留",
    "不方便留",
    "不方便给",
    "不方便提供",
    "不便留",
    "不便提供",
    "不愿留",
    "不愿意留",
    "不愿提供",
    "不提供",
    "不想给",
    "不给电话",
    "没有电话",
    "没电话",
    "不想说",
    "保密",
)


def _asking(tracker: Tracker, slot: str) -> bool:
    """Whether the form's current question is for ``slot``: only then may its check speak.

    One reply asks one question: a slot filled in passing (a place named while the form asks
    for the category) is dropped silently when it does not pass.
    """
    return tracker.get_slot("requested_slot") == slot


def _shown_phone(phone: str | None) -> str:
    return NO_PHONE if phone == NO_PHONE else mask_phone(phone)


def declines_phone(text: str) -> bool:
    """Whether an answer to the phone question declines to give a number."""
    compact = text.replace(" ", "")
    return not any(ch.isdigit() for ch in compact) and any(w in compact for w in _DECLINE_WORDS)


_STATED_SURNAME = re.compile(r"(?:^|[，,。\s])(?:我|本人|免贵)姓([\u4e00-\u9fff])")
_NAME_PREFIXES = ("免贵姓", "本人姓", "称呼我", "我叫", "我姓", "叫我", "姓")
"""What residents say before their name, longest first (免贵姓孙 → 孙)."""

_SMALL_TALK = {
    "bot_challenge": "utter_iamabot",
    "chitchat": "utter_chitchat",
    "greet": "utter_continue_report",
    "thank": "utter_continue_report",
    "goodbye": "utter_continue_report",
}
"""Remarks to the assistant, and what it says to them before asking its question again."""
SMALL_TALK_CONFIDENCE = 0.8
_PLACE = re.compile(
    r"\d|[一二三四五六七八九十]+[号栋幢楼层单]|小区|社区|花园|大厦|广场|市场|学校|医院|公园|"
    r"车库|[区村路街巷弄栋幢苑庭府院湾镇乡站桥]"
)
_QUESTION = re.compile(r"[吗呢？?]|什么|怎么|为什么|谁")


def _answers(slot: str, text: str) -> bool:
    """Whether ``text`` can be an answer to the question for ``slot``."""
    if slot == "location":
        return bool(_PLACE.search(text)) and not _QUESTION.search(text)
    if slot == "phone":
        return any(ch.isdigit() for ch in text) or declines_phone(text)
    if slot == "contact_name":
        return text.startswith(_NAME_PREFIXES) or "匿名" in text
    if slot == "category":
        return category_from_text(text) is not None
    return True


def _value_before_message(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest message (the form sets candidates after it)."""
    events = list(tracker.events)
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=0)
    value = None
    for event in events[:last_user]:
        if event.get("event") == "slot" and event.get("name") == slot:
            value = event.get("value")
    return value


def small_talk(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> bool:
    """Answers a remark made instead of an answer (你是机器人吗, 谢谢, 你好) and says so.

    While the form asks, a message fills the slot whatever the NLU took it for; but a remark
    the NLU is sure of, which cannot be an answer to this question, is not kept as one: the
    assistant replies to it, and the form asks its question again.
    """
    if not _asking(tracker, slot):
        return False
    response = _SMALL_TALK.get(intent_name(tracker.latest_message))
    text = latest_text(tracker).strip()
    if (
        response is None
        or intent_confidence(tracker.latest_message) < SMALL_TALK_CONFIDENCE
        or text.startswith("/")
        or _answers(slot, str(tracker.latest_message.get("text") or text))
    ):
        return False
    dispatcher.utter_message(response=response)
    return True


_CONFIRM = re.compile(r"确认|确定|提交|无误|没问题|没错|正确|对的|是的|可以")
_NOT_CONFIRM = re.compile(r"不|别|修改|改一下|改成|错了|有误|取消|撤")


def confirms(text: str) -> bool:
    """Whether words typed at the summary confirm it (确认无误) rather than change it."""
    return bool(_CONFIRM.search(text)) and not _NOT_CONFIRM.search(text)


FIELD_LABELS = {"category": "类别", "location": "地点", "phone": "电话", "contact_name": "称呼"}


def reset_report() -> list[EventType]:
    """Clears what one report collected; the phone and name stay for the next report."""
    return [SlotSet(slot, None) for slot in REPORT_SLOTS]


def category_button(code: str) -> dict[str, str]:
    """A button that picks a category."""
    return {
        "title": get_catalogue().get(code).name,
        "payload": f'/choose_category{{"category": "{code}"}}',
    }


def start_report(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Starts a report from the message that opened it.

    Keeps the description verbatim, routes it, keeps what else it already says (the place,
    the resident's surname), and confirms the category when the routing is confident.
    """
    catalogue = get_catalogue()
    message = tracker.latest_message
    text = latest_text(tracker)
    ranked = category_ranking(message, catalogue)
    # 其他 is always offered as its own button, so it must not take a candidate's place.
    candidates = [r.code for r in ranked if r.code != "other"][:3]
    best = ranked[0] if ranked else None
    category = catalogue.get(best.code) if best else None
    stated_type = next(
        (e.get("value") for e in message.get("entities") or [] if e.get("entity") == "case_type"),
        None,
    )
    place = named_place(message)
    events: list[EventType] = [
        *reset_report(),
        SlotSet("description", text),
        SlotSet("case_type", infer_case_type(text, stated_type).value),
        SlotSet("category_candidates", candidates or [c.code for c in catalogue.categories[:3]]),
    ]
    if tracker.get_slot("awaiting_description"):
        events.append(SlotSet("awaiting_description", False))
    if place and not is_vague_location(place):
        # The first message named the place: keep it rather than ask again.
        events.append(SlotSet("location", place[:500]))
    surname = _STATED_SURNAME.search(str(message.get("text") or text))
    if surname:
        # 我姓孙，…: the resident gave their name too.
        events.append(SlotSet("contact_name", surname.group(1)))
    if category is not None and best is not None and best.confidence >= CONFIDENT_ROUTE:
        events.append(SlotSet("category", category.code))
        dispatcher.utter_message(
            response="utter_routed",
            category_name=category.name,
            department=category.department,
        )
        if category.code == "other":
            referrals = "、".join(f"{r.number}（{r.covers}）" for r in catalogue.referrals)
            dispatcher.utter_message(response="utter_other_hotlines", referrals=referrals)
    return events


def named_place(message: dict[str, Any]) -> str | None:
    """The most specific place a message names: its longest location entity.

    The entity extractor may also tag a fragment (单元 out of 单元门) beside the real place, or
    words that are no place at all (``plausible_place``).
    """
    places = [
        str(e.get("value"))
        for e in message.get("entities") or []
        if e.get("entity") == "location" and e.get("value") and plausible_place(str(e["value"]))
    ]
    return max(places, key=len) if places else None


class ActionUnclearMessage(Action):
    """A message outside any form that the NLU did not take for a report or a request.

    A long description that the NLU read as a form answer (inform), or could not place with
    any confidence but whose category is clear or whose intent was either a report or a
    policy question, starts the report (:func:`unclear_message_is_report`); anything else gets
    the 「没太明白」 reply.
    """

    def name(self) -> str:
        return "action_unclear_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if unclear_message_is_report(tracker.latest_message):
            # The form's activation starts the report from this message (ValidateReportForm).
            return [FollowupAction("report_form")]
        dispatcher.utter_message(response="utter_default")
        return []


class ActionAwaitDescription(Action):
    """After 我要登记: asks for the problem and treats the next message as its description."""

    def name(self) -> str:
        return "action_await_description"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_report_start")
        return [SlotSet("awaiting_description", True)]


class ActionAskCategory(Action):
    """Asks the resident to choose the category: the top three guesses plus 其他."""

    def name(self) -> str:
        return "action_ask_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        codes = [c for c in tracker.get_slot("category_candidates") or [] if c != "other"][:3]
        buttons = [category_button(code) for code in codes] + [category_button("other")]
        dispatcher.utter_message(response="utter_choose_category", buttons=buttons)
        return []


PUBLISH_PAYLOAD = '/affirm{"publish": "yes"}'
"""The summary button that confirms and agrees to publication (slot ``publish_consent``)."""


class ActionAskConfirmed(Action):
    """Shows the summary (phone masked) and asks to confirm or change a field."""

    def name(self) -> str:
        return "action_ask_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        catalogue = get_catalogue()
        code = tracker.get_slot("category")
        category = catalogue.get(code) if code and catalogue.has(code) else None
        summary = (
            "请核对登记信息：\n"
            f"类别：{category.name if category else '未选择'}\n"
            f"问题：{tracker.get_slot('description') or ''}\n"
            f"地点：{tracker.get_slot('location') or ''}\n"
            f"电话：{_shown_phone(tracker.get_slot('phone'))}\n"
            f"称呼：{tracker.get_slot('contact_name') or '匿名'}"
        )
        confirm = [{"title": "确认提交", "payload": "/affirm"}]
        if asks_publish_consent(catalogue, code, tracker.get_slot("case_type")):
            summary += (
                "\n这类问题的办理进度可以在城市公开平台公示，方便其他居民了解；公示内容不含您的"
                "电话、姓名和详细地址。默认不公示，同意请点「确认并同意公示」。"
            )
            confirm.append({"title": "确认并同意公示", "payload": PUBLISH_PAYLOAD})
        buttons = (
            confirm
            + [
                {"title": f"修改{label}", "payload": f'/change_field{{"field": "{field}"}}'}
                for field, label in FIELD_LABELS.items()
            ]
            + [{"title": "取消", "payload": "/cancel_case"}]
        )
        dispatcher.utter_message(text=summary, buttons=buttons)
        return []


class ValidateReportForm(FormValidationAction):
    """Validates the report form slot by slot."""

    def name(self) -> str:
        return "validate_report_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validates the answers; at the form's activation, first starts the report.

        Every activation of the form opens a report, and Rasa calls this action then anyway;
        starting the report here rather than in an action of its own saves the Rasa server
        one call to the action server on the turn that carries the most work (docs/nlu.md).
        """
        if not _activated_now(tracker, self.form_name()):
            return await super().run(dispatcher, tracker, domain)
        started = start_report(dispatcher, tracker)
        _offer_started_slots(tracker, started, self.domain_slots(domain))
        return [*started, *await super().run(dispatcher, tracker, domain)]

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """The domain's slots; a yes to the same-problem question ends the form there."""
        return form_slots(domain_slots, tracker.slots)

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validates the answers, then, once the category and place are known, looks for an
        open case with the same problem (once per report) before the next question."""
        events = await super().get_validation_events(dispatcher, tracker, domain)
        tracker.add_slots(events)
        remember_shared_vectors(tracker)
        lookup = await same_problem_events(tracker.slots, lambda: new_case_from(tracker))
        tracker.add_slots(lookup)
        return [*events, *lookup]

    def validate_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Accepts a catalogue code, a category name, or words that name one."""
        if small_talk(dispatcher, tracker, "category"):
            return {"category": None}
        catalogue = get_catalogue()
        if isinstance(value, str) and catalogue.has(value):
            return {"category": value}
        category = category_from_text(str(value or ""))
        if category is None:
            if _asking(tracker, "category"):
                dispatcher.utter_message(response="utter_category_not_found")
            return {"category": None}
        dispatcher.utter_message(response="utter_category_chosen", category_name=category.name)
        return {"category": category.code}

    def validate_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A findable location (not just 小区 or 楼下); the resident's whole answer is kept."""
        if small_talk(dispatcher, tracker, "location"):
            return {"location": None}
        asked = tracker.get_slot("requested_slot")
        accepted = _value_before_message(tracker, "location")
        if asked not in (None, "location") and accepted:
            # A place mentioned in passing while the form asks something else (滨湖 out of
            # 滨湖社区活动中心附近, or 楼下) does not replace the place the resident gave.
            return {"location": accepted}
        text = str(value or "").strip()
        if asked != "location":
            text = named_place(tracker.latest_message) or (text if plausible_place(text) else "")
        answer = latest_text(tracker).strip()
        # The NLU reads simplified characters: an entity from 幸福小區3棟 is 幸福小区3栋.
        read = str(tracker.latest_message.get("text") or "").strip()
        # An extracted entity may be shorter than what the resident wrote (幸福小区3栋门口).
        if (
            tracker.get_slot("requested_slot") == "location"
            and text
            and (text in answer or text in read)
            and not answer.startswith("/")
        ):
            text = answer
        if is_vague_location(text):
            if not _asking(tracker, "location"):
                return {"location": None}
            dispatcher.utter_message(response="utter_location_too_vague")
            return {"location": None}
        return {"location": text[:500]}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A Chinese mobile or landline; after two failures a human is offered.

        A resident who does not want to leave a number is told why it is asked and may go on
        without one: progress notices reach them in this conversation.
        """
        if small_talk(dispatcher, tracker, "phone"):
            return {"phone": None}
        if declines_phone(latest_text(tracker)):
            dispatcher.utter_message(response="utter_phone_declined")
            return {"phone": NO_PHONE, "phone_failures": 0}
        try:
            return {"phone": normalise_phone(str(value or "")), "phone_failures": 0}
        except ValidationError as exc:
            if not _asking(tracker, "phone"):
                return {"phone": None}
            failures = int(tracker.get_slot("phone_failures") or 0) + 1
            dispatcher.utter_message(response="utter_phone_invalid", problem=as_value(exc.message))
            if failures >= MAX_PHONE_FAILURES:
                dispatcher.utter_message(
                    response="utter_phone_keeps_failing",
                    buttons=[
                        {"title": "转人工", "payload": "/request_human"},
                        {"title": "继续填写", "payload": "/inform"},
                    ],
                )
            return {"phone": None, "phone_failures": failures}

    def validate_contact_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Any short name; 匿名 (or nothing useful) is accepted as anonymous."""
        if small_talk(dispatcher, tracker, "contact_name"):
            return {"contact_name": None}
        text = str(value or "").strip().strip("。，！,.!")
        for prefix in _NAME_PREFIXES:
            if text.startswith(prefix) and len(text) > len(prefix):
                text = text[len(prefix) :]
                break
        if not text or len(text) > 20 or "匿名" in text or "不方便" in text:
            text = "匿名"
        return {"contact_name": text}

    def validate_same_problem(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Only a clear yes (the button, 是的, 同一个) joins the open case; anything else is a
        new problem, so nothing the resident reports is lost."""
        # The words as the NLU read them: traditional characters (對) made simplified (对).
        read = str(tracker.latest_message.get("text") or latest_text(tracker))
        return {ANSWER_SLOT: answer_value(value, read)}

    def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes submits; a change clears that field so the form asks for it again.

        Typed words confirm too (确认无误, 核对无误，提交) whatever the NLU took them for.
        """
        if value == "yes" or (value not in ("no", "change") and confirms(str(value or ""))):
            return {"confirmed": "yes"}
        fields = [
            e.get("value")
            for e in tracker.latest_message.get("entities") or []
            if e.get("entity") == "field"
        ]
        field = next((f for f in fields if f in FIELD_LABELS), None)
        if field is None:
            if _asking(tracker, "confirmed"):
                dispatcher.utter_message(response="utter_which_field")
            return {"confirmed": None}
        dispatcher.utter_message(response="utter_field_again", field_label=FIELD_LABELS[field])
        return {"confirmed": None, field: None}


def _activated_now(tracker: Tracker, form: str) -> bool:
    """Whether the form was activated after the resident's latest message.

    Rasa marks the loop active before it calls the validation at activation, so the loop's
    name alone cannot tell; its activation event after the message can.
    """
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "active_loop" and event.get("name") == form:
            return True
    return False


def _offer_started_slots(tracker: Tracker, started: list[EventType], form_slots: list[str]) -> None:
    """Makes the started report's filled slots the candidates the validation checks.

    At activation Rasa offers the form's slots that were filled before the report started; the
    start has since cleared some and set others (the place and surname the message gave), so
    the slots filled now are offered instead, as Rasa would have after a start action.
    """
    while tracker.events and tracker.events[-1].get("event") == "slot":
        tracker.events.pop()
    tracker.slots.update({e["name"]: e["value"] for e in started if e.get("event") == "slot"})
    tracker.add_slots(
        [
            SlotSet(slot, tracker.slots[slot])
            for slot in form_slots
            if tracker.slots.get(slot) is not None
        ]
    )


def confirmation_key(tracker: Tracker) -> str:
    """An idempotency key: the conversation plus the confirming message.

    Rasa retrying the action, or the resident confirming twice within one form, maps to the
    same key, so exactly one case exists.
    """
    form_started = next(
        (
            e.get("timestamp")
            for e in reversed(tracker.events)
            if e.get("event") == "active_loop" and e.get("name") == "report_form"
        ),
        None,
    )
    return f"{sender_of(tracker)}:report:{form_started}"


def new_case_from(tracker: Tracker) -> NewCase:
    """The case the form collected."""
    sender = sender_of(tracker)
    return NewCase(
        category=tracker.get_slot("category") or "other",
        description=tracker.get_slot("description") or latest_text(tracker),
        phone=None if tracker.get_slot("phone") == NO_PHONE else tracker.get_slot("phone"),
        location=tracker.get_slot("location") or "",
        contact_name=tracker.get_slot("contact_name"),
        case_type=tracker.get_slot("case_type") or "help",
        channel=channel_of_sender(sender).value,
        resident_ref=sender,
        latitude=tracker.get_slot("latitude"),
        longitude=tracker.get_slot("longitude"),
        idempotency_key=confirmation_key(tracker),
        # Asked by the report form (yes/no, default no); only ``True`` itself is consent.
        publish_consent=tracker.get_slot("publish_consent") == "yes",
    )


class ActionSubmitCase(Action):
    """Logs the case once and tells the resident its number, office and deadline."""

    def name(self) -> str:
        return "action_submit_case"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        new = new_case_from(tracker)
        remember_shared_vectors(tracker)
        number = matched_number(tracker)
        if number is not None:
            joined = joined_case(dispatcher, number, new)
            if joined is not None:
                return joined
        settings = load_settings()
        try:
            case = with_db(lambda s: submit_report(s, new))
        except StorageUnavailableError:
            spool_report(new)
            apologise(dispatcher, "utter_storage_apology")
            return reset_report()
        except ValidationError as exc:
            dispatcher.utter_message(response="utter_report_invalid", problem=as_value(exc.message))
            return reset_report()
        dispatcher.utter_message(text=case_logged(case, settings.timezone))
        return [*reset_report(), SlotSet("case_number", case.number)]


def joined_case(
    dispatcher: CollectingDispatcher, number: str, new: NewCase
) -> list[EventType] | None:
    """Makes the resident a co-reporter of the case they said was their problem.

    Returns the action's events, or None when that case cannot take them any more (closed
    since the question): the report is then logged as a new case.
    """
    try:
        case = join(number, new)
    except StorageUnavailableError:
        spool_report(new)
        apologise(dispatcher, "utter_storage_apology")
        return reset_report()
    except HotlineError as exc:
        log.info("joining %s failed (%s); a new case is logged", number, type(exc).__name__)
        return None
    dispatcher.utter_message(response="utter_joined_case", number=case.number)
    return [*reset_report(), SlotSet("case_number", case.number)]


class ActionCancelReport(Action):
    """Stops the active form; nothing is saved."""

    def name(self) -> str:
        return "action_cancel_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_report_cancelled")
        return [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            *reset_report(),
            SlotSet("info_case_number", None),
            SlotSet("info_text", None),
            SlotSet("awaiting_description", False),
        ]
