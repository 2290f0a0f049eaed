"""Emergencies: the emergency number and safety advice first, then the case, then the location."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.common import apologise, as_value, latest_text, sender_of, with_db
from actions.report import reset_report
from hotline.casework.actors import Actor
from hotline.casework.cases import NewCase, create_case
from hotline.casework.routing import classify_emergency, emergency_category
from hotline.casework.spool import amend_spooled, spool_report
from hotline.casework.vocab import CaseType, Urgency, channel_of_sender
from hotline.errors import StorageUnavailableError
from hotline.residents.resident import latest_unlocated_emergency, owned_case, set_location


class ActionEmergency(Action):
    """Gives the emergency number and advice, then logs an emergency case with what is known."""

    def name(self) -> str:
        return "action_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = latest_text(tracker)
        kind = classify_emergency(text)
        dispatcher.utter_message(response="utter_emergency_advice", advice=kind.advice)
        sender = sender_of(tracker)
        location = tracker.get_slot("location") if tracker.active_loop.get("name") is None else None
        entity_location = next(
            (
                e.get("value")
                for e in tracker.latest_message.get("entities") or []
                if e.get("entity") == "location"
            ),
            None,
        )
        message_key = tracker.latest_message.get("message_id") or text
        new = NewCase(
            category=emergency_category(tracker.latest_message),
            description=text,
            phone=tracker.get_slot("phone"),
            location=entity_location or location or "",
            case_type=CaseType.HELP.value,
            urgency=Urgency.EMERGENCY.value,
            channel=channel_of_sender(sender).value,
            resident_ref=sender,
            idempotency_key=f"{sender}:emergency:{message_key}",
        )
        events: list[EventType] = [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            *reset_report(),
        ]
        try:
            number = with_db(lambda s: create_case(s, new, Actor.resident(sender))[0].number)
        except StorageUnavailableError:
            spool_report(new)
            apologise(dispatcher, "utter_storage_apology")
            return events
        dispatcher.utter_message(response="utter_emergency_logged", number=number)
        events += [SlotSet("emergency_case_number", number), SlotSet("location", entity_location)]
        return events


class ActionEmergencyLocation(Action):
    """Adds the location, asked last, to the emergency case."""

    def name(self) -> str:
        return "action_emergency_location"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        number = tracker.get_slot("emergency_case_number")
        location = tracker.get_slot("location") or ""
        sender = sender_of(tracker)
        latitude, longitude = tracker.get_slot("latitude"), tracker.get_slot("longitude")
        if location and not number:
            # The case was spooled while the database was down: the location goes with it, or,
            # when the spool has been flushed since, onto the case it became.
            changes: dict[str, object] = {"location": location}
            if latitude is not None and longitude is not None:
                changes.update(latitude=latitude, longitude=longitude)
            if not amend_spooled(sender, changes, urgency=Urgency.EMERGENCY.value):
                number = self._flushed_case(sender)
                if number is None:
                    return apologise(dispatcher)
        if number and location:

            def locate(session: Session) -> bool:
                # The slot may come from anywhere in the conversation: only the sender's case.
                case = owned_case(session, number, sender)
                if case is None:
                    return False
                set_location(session, case, location, Actor.resident(sender), latitude, longitude)
                return True

            try:
                located = with_db(locate)
            except StorageUnavailableError:
                return apologise(dispatcher)
            if not located:
                dispatcher.utter_message(response="utter_case_not_found", number=number)
                return [SlotSet("location", None), SlotSet("emergency_case_number", None)]
        dispatcher.utter_message(
            response="utter_emergency_location_recorded", place=as_value(location)
        )
        return [SlotSet("location", None), SlotSet("emergency_case_number", None)]

    @staticmethod
    def _flushed_case(sender: str) -> str | None:
        def number_of_latest(session: Session) -> str | None:
            case = latest_unlocated_emergency(session, sender)
            return case.number if case is not None else None

        try:
            return with_db(number_of_latest)
        except StorageUnavailableError:
            return None
