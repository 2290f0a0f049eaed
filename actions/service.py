"""Handoff, policy consultations, out-of-scope requests and the follow-up survey."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.cases import number_in
from actions.common import apologise, latest_text, sender_of, with_db
from actions.report import ActionUnclearMessage, reset_report
from hotline.casework.catalogue import get_catalogue
from hotline.casework.duplicate_wording import co_reporter_rated
from hotline.casework.routing import faq_topics, unclear_message_is_report
from hotline.casework.vocab import Satisfaction, channel_of_sender
from hotline.channels import handoff
from hotline.errors import InvalidTransitionError, StorageUnavailableError, ValidationError
from hotline.residents.resident import log_consultation, rate_case, save_rating_comment


class ActionRequestHuman(Action):
    """Queues the conversation for an operator and tells the resident their place."""

    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        sender = sender_of(tracker)
        stop_form: list[EventType] = [ActiveLoop(None), SlotSet("requested_slot", None)]
        try:
            position = with_db(lambda s: handoff.request_handoff(s, sender))
        except StorageUnavailableError:
            return [*apologise(dispatcher), *stop_form]
        if position == 0:
            dispatcher.utter_message(response="utter_with_operator")
        else:
            dispatcher.utter_message(response="utter_handoff_queued", ahead=position - 1)
        if tracker.active_loop.get("name"):
            return [*stop_form, *reset_report()]
        return stop_form


class ActionLogConsultation(Action):
    """Logs the answered policy question as a 咨询 case and offers to register a request."""

    def name(self) -> str:
        return "action_log_consultation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        selector = tracker.latest_message.get("response_selector") or {}
        retrieval = (selector.get("faq") or selector.get("default") or {}).get("response") or {}
        intent = str(retrieval.get("intent_response_key") or "")
        topic = faq_topics().get(intent.split("/", 1)[-1])
        sender = sender_of(tracker)
        if topic is not None:
            try:
                with_db(
                    lambda s: log_consultation(
                        s,
                        sender_id=sender,
                        channel=channel_of_sender(sender).value,
                        text=latest_text(tracker),
                        category=topic.category,
                        topic=topic.topic,
                        title=topic.title,
                    )
                )
            except StorageUnavailableError:
                pass  # The answer was given; a lost statistic must not bother the resident.
        dispatcher.utter_message(response="utter_faq_followup")
        return []


class ActionOutOfScope(Action):
    """Says what the hotline handles and names the hotlines for everything else; a message
    that only looked out of scope to an unsure intent stage starts the report instead
    (:func:`hotline.casework.routing.unclear_message_is_report`)."""

    def name(self) -> str:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if unclear_message_is_report(tracker.latest_message):
            # A terse complaint the intent stage was unsure of, whose category is clear.
            return await ActionUnclearMessage().run(dispatcher, tracker, domain)
        catalogue = get_catalogue()
        services = "、".join(c.name for c in catalogue.categories if c.code != "other")
        referrals = "\n".join(f"· {r.number} {r.name}（{r.covers}）" for r in catalogue.referrals)
        dispatcher.utter_message(
            response="utter_out_of_scope", services=services, referrals=referrals
        )
        return []


class ActionRateCase(Action):
    """Stores the follow-up rating; 不满意 reopens the case and asks what went wrong."""

    def name(self) -> str:
        return "action_rate_case"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        sender = sender_of(tracker)
        number = number_in(tracker)
        # Only this message's rating: the `rating` slot keeps an earlier survey's answer.
        rating_value = next(
            (
                e.get("value")
                for e in tracker.latest_message.get("entities") or []
                if e.get("entity") == "rating"
            ),
            None,
        )
        try:
            rating = Satisfaction.parse(str(rating_value or ""), "rating")
        except ValidationError:
            dispatcher.utter_message(response="utter_rate_with_buttons")
            return [SlotSet("rating_needs_comment", False)]
        if number is None:
            dispatcher.utter_message(response="utter_rating_without_case")
            return [SlotSet("rating_needs_comment", False)]

        try:
            rated = with_db(lambda s: rate_case(s, number, sender, rating))
        except StorageUnavailableError:
            apologise(dispatcher)
            return [SlotSet("rating_needs_comment", False)]
        except InvalidTransitionError:
            dispatcher.utter_message(response="utter_already_rated", number=number)
            return [SlotSet("rating_needs_comment", False)]
        if rated is None:
            dispatcher.utter_message(response="utter_case_not_found", number=number)
            return [SlotSet("rating_needs_comment", False)]
        ask_comment = [
            SlotSet("rating_needs_comment", True),
            SlotSet("case_number", number),
            SlotSet("rating_comment", None),
        ]
        if rated.co_reporter:
            dispatcher.utter_message(text=co_reporter_rated(number, rating))
            return ask_comment if rating is Satisfaction.DISSATISFIED else []
        if rating is Satisfaction.DISSATISFIED:
            dispatcher.utter_message(response="utter_case_reopened", number=number)
            return ask_comment
        dispatcher.utter_message(response="utter_rated", rating_label=rating.label, number=number)
        return [SlotSet("rating_needs_comment", False)]


class ActionSaveRatingComment(Action):
    """Adds the dissatisfied resident's comment to the reopened case."""

    def name(self) -> str:
        return "action_save_rating_comment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        sender = sender_of(tracker)
        number = tracker.get_slot("case_number")
        comment = str(tracker.get_slot("rating_comment") or "").strip()

        def save(session: Session) -> bool:
            # `case_number` is filled from any number in the comment: only the sender's cases.
            return save_rating_comment(session, number, sender, comment)

        try:
            saved = with_db(save)
        except StorageUnavailableError:
            apologise(dispatcher)
        except InvalidTransitionError:
            pass
        else:
            if saved:
                dispatcher.utter_message(response="utter_comment_saved")
            else:
                dispatcher.utter_message(response="utter_case_not_found", number=number)
        return [SlotSet("rating_needs_comment", False), SlotSet("rating_comment", None)]
