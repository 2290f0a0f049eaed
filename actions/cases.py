"""A resident's own cases: status, withdrawal, and added information."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.common import apologise, sender_of, with_db
from hotline.access.ratelimit import shared_limiter
from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, apply_action
from hotline.casework.messages import case_summary
from hotline.casework.numbering import find_case_numbers
from hotline.config import load_settings
from hotline.errors import InvalidTransitionError, StorageUnavailableError
from hotline.residents.resident import (
    open_cases,
    owned_case,
    owns,
    reported_case,
    visible_case,
    withdrawable_cases,
)


def number_in(tracker: Tracker) -> str | None:
    """A case number the resident wrote or sent in a button payload."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "case_number" and entity.get("value"):
            return str(entity["value"]).upper()
    found = find_case_numbers(str(tracker.latest_message.get("text") or ""))
    return found[0] if found else None


class ActionCheckStatus(Action):
    """Lists the resident's open cases, or shows one case if they may see it."""

    def name(self) -> str:
        return "action_check_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        sender = sender_of(tracker)
        number = number_in(tracker)
        try:
            if number is None:
                texts = with_db(lambda s: [case_summary(c) for c in open_cases(s, sender)])
                if texts:
                    dispatcher.utter_message(text="您正在办理的工单：\n\n" + "\n\n".join(texts))
                else:
                    dispatcher.utter_message(response="utter_no_open_cases")
                return [SlotSet("lookup_pending", False)]
            text = with_db(
                lambda s: case_summary(c) if (c := visible_case(s, number, sender)) else None
            )
        except StorageUnavailableError:
            apologise(dispatcher)
            return [SlotSet("lookup_pending", False)]
        if text is not None:
            dispatcher.utter_message(text=text)
            return [SlotSet("lookup_pending", False)]
        # Unknown and someone else's numbers get the same question, so nothing leaks.
        return [
            SlotSet("lookup_pending", True),
            SlotSet("case_number", number),
            SlotSet("phone_last4", None),
        ]


def lookup_client(tracker: Tracker) -> str:
    """Who is guessing: the web chat's opaque client-address key, else the sender."""
    metadata = tracker.latest_message.get("metadata") or {}
    client = metadata.get("client") if isinstance(metadata, dict) else None
    return f"address:{client}" if isinstance(client, str) and client else sender_of(tracker)


def lookup_allowed(number: str, client: str) -> bool:
    """Whether another last-four-digits guess is allowed, per client and per case number."""
    settings = load_settings()
    limiter = shared_limiter(settings.rate_limit_storage)
    return limiter.allows(settings.lookup_limit_per_ip, "lookup", client) and limiter.allows(
        settings.lookup_limit_per_case, "lookup-case", number
    )


def count_failed_lookup(number: str, client: str) -> None:
    """Counts a wrong guess against the client and the case number."""
    settings = load_settings()
    limiter = shared_limiter(settings.rate_limit_storage)
    limiter.hit(settings.lookup_limit_per_ip, "lookup", client)
    limiter.hit(settings.lookup_limit_per_case, "lookup-case", number)


class ActionVerifyLookup(Action):
    """Shows the case when the last four digits match; otherwise the not-found answer.

    Wrong guesses are limited per client address (web chat) or sender, and per case number
    (``HOTLINE_LOOKUP_LIMIT_PER_IP``, ``HOTLINE_LOOKUP_LIMIT_PER_CASE``): four digits are
    10 000 guesses, and a new cookie is a new sender.
    """

    def name(self) -> str:
        return "action_verify_lookup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        number = tracker.get_slot("case_number") or ""
        digits = "".join(ch for ch in str(tracker.get_slot("phone_last4") or "") if ch.isdigit())
        client = lookup_client(tracker)
        if not lookup_allowed(number, client):
            dispatcher.utter_message(
                response="utter_too_many_lookups", hotline_phone=load_settings().hotline_phone
            )
            return [SlotSet("lookup_pending", False), SlotSet("phone_last4", None)]
        try:
            text = with_db(
                lambda s: (
                    case_summary(c)
                    if (c := visible_case(s, number, sender_of(tracker), digits[-4:]))
                    else None
                )
            )
        except StorageUnavailableError:
            apologise(dispatcher)
            text = None
        else:
            if text is None:
                count_failed_lookup(number, client)
                dispatcher.utter_message(response="utter_case_not_found", number=number)
            else:
                dispatcher.utter_message(text=text)
        return [SlotSet("lookup_pending", False), SlotSet("phone_last4", None)]


class ActionWithdrawCase(Action):
    """Asks to confirm withdrawing a case that has not been dispatched yet."""

    def name(self) -> str:
        return "action_withdraw_case"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        sender = sender_of(tracker)
        number = number_in(tracker)
        try:
            if number is not None:
                candidates = with_db(lambda s: [number] if owns(s, number, sender) else [])
                if not candidates:
                    dispatcher.utter_message(response="utter_case_not_found", number=number)
                    return []
            else:
                candidates = with_db(lambda s: [c.number for c in withdrawable_cases(s, sender)])
        except StorageUnavailableError:
            return apologise(dispatcher)
        if not candidates:
            dispatcher.utter_message(response="utter_nothing_to_withdraw")
            return []
        buttons = [
            {"title": f"撤回 {n}", "payload": f'/confirm_withdraw{{"case_number": "{n}"}}'}
            for n in candidates[:5]
        ] + [{"title": "不撤回", "payload": "/deny"}]
        dispatcher.utter_message(response="utter_choose_case_to_withdraw", buttons=buttons)
        return []


class ActionConfirmWithdraw(Action):
    """Withdraws the case the resident confirmed."""

    def name(self) -> str:
        return "action_confirm_withdraw"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        sender = sender_of(tracker)
        number = number_in(tracker) or tracker.get_slot("case_number")
        if not number:
            dispatcher.utter_message(response="utter_withdraw_which_case")
            return []

        def withdraw(session: Session) -> str:
            """Withdraws the case; returns the response that tells how it went."""
            case = owned_case(session, number, sender)
            if case is None:
                return "utter_case_not_found"
            try:
                apply_action(
                    session, case, "cancel", Actor.resident(sender), ActionInput(note="居民撤回")
                )
            except InvalidTransitionError:
                return "utter_withdraw_refused"
            return "utter_withdrawn"

        try:
            outcome = with_db(withdraw)
        except StorageUnavailableError:
            return apologise(dispatcher)
        dispatcher.utter_message(response=outcome, number=number)
        return []


class ActionAddInfoStart(Action):
    """Finds the open case the resident wants to add to."""

    def name(self) -> str:
        return "action_add_info_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        sender = sender_of(tracker)
        number = number_in(tracker)
        try:
            numbers = with_db(lambda s: [c.number for c in open_cases(s, sender)])
        except StorageUnavailableError:
            apologise(dispatcher)
            return [SlotSet("info_case_number", None)]
        if number is not None and number not in numbers:
            dispatcher.utter_message(response="utter_case_not_found", number=number)
            return [SlotSet("info_case_number", None)]
        if not numbers:
            dispatcher.utter_message(response="utter_nothing_to_add_to")
            return [SlotSet("info_case_number", None)]
        chosen = number or numbers[0]
        dispatcher.utter_message(response="utter_adding_to_case", number=chosen)
        return [SlotSet("info_case_number", chosen), SlotSet("info_text", None)]


class ActionAddInfo(Action):
    """Records the added information as an event on the case."""

    def name(self) -> str:
        return "action_add_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        sender = sender_of(tracker)
        number = tracker.get_slot("info_case_number")
        text = str(tracker.get_slot("info_text") or "").strip()
        done = [SlotSet("info_case_number", None), SlotSet("info_text", None)]
        if not number:
            dispatcher.utter_message(response="utter_add_info_which_case")
            return done

        def add(session: Session) -> bool:
            # The slot may come from anywhere in the conversation: only the sender's cases
            # (their own, or one they joined as a co-reporter).
            case = reported_case(session, number, sender)
            if case is None:
                return False
            apply_action(session, case, "add_info", Actor.resident(sender), ActionInput(note=text))
            return True

        try:
            added = with_db(add)
        except StorageUnavailableError:
            apologise(dispatcher)
        except InvalidTransitionError:
            dispatcher.utter_message(response="utter_case_closed_for_info", number=number)
        else:
            dispatcher.utter_message(
                response="utter_info_added" if added else "utter_case_not_found", number=number
            )
        return done
