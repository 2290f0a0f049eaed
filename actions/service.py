"""Handoff, policy consultations, out-of-scope requests and the follow-up survey."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.cases import number_in
from actions.common import apologise, latest_text, sender_of, with_db
from actions.report import reset_report
from hotline.casework.catalogue import get_catalogue
from hotline.casework.duplicate_wording import co_reporter_rated
from hotline.casework.routing import faq_topics
from hotline.casework.vocab import Satisfaction, channel_of_sender
from hotline.channels import handoff
from hotline.errors import InvalidTransitionError, StorageUnavailableError, ValidationError
from hotline.residents.resident import log_consultation, rate_case, save_rating_comment

FAQ_FOLLOWUP = "以上是否解答了您的问题？如需登记办理，请直接描述您的具体情况。"


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
            dispatcher.utter_message(text="人工客服正在为您服务，请直接留言。")
        else:
            dispatcher.utter_message(
                text=f"正在为您转接人工客服，您前面还有 {position - 1} 位，请稍候。"
                "等待期间您的留言工作人员都能看到。"
            )
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
        dispatcher.utter_message(text=FAQ_FOLLOWUP)
        return []


class ActionOutOfScope(Action):
    """Says what the hotline handles and names the hotlines for everything else."""

    def name(self) -> str:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        catalogue = get_catalogue()
        services = "、".join(c.name for c in catalogue.categories if c.code != "other")
        referrals = "\n".join(f"· {r.number} {r.name}（{r.covers}）" for r in catalogue.referrals)
        dispatcher.utter_message(
            text=f"抱歉，这个问题不在社区服务热线的服务范围内。我们受理：{services}等事项。\n"
            f"其他事项可以联系：\n{referrals}"
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
            dispatcher.utter_message(text="请点选评价按钮：非常满意、满意、基本满意或不满意。")
            return [SlotSet("rating_needs_comment", False)]
        if number is None:
            dispatcher.utter_message(text="请点选回访消息里的评价按钮，以便对应到您的工单。")
            return [SlotSet("rating_needs_comment", False)]

        try:
            rated = with_db(lambda s: rate_case(s, number, sender, rating))
        except StorageUnavailableError:
            apologise(dispatcher)
            return [SlotSet("rating_needs_comment", False)]
        except InvalidTransitionError:
            dispatcher.utter_message(text=f"工单 {number} 已经评价过了，感谢您的反馈。")
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
            dispatcher.utter_message(text=f"工单 {number} 已重新办理，并已报告督办人员。")
            return ask_comment
        dispatcher.utter_message(text=f"感谢您的评价（{rating.label}），工单 {number} 已归档。")
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
                dispatcher.utter_message(text="已记录您的意见，我们会尽快重新处理并回复您。")
            else:
                dispatcher.utter_message(response="utter_case_not_found", number=number)
        return [SlotSet("rating_needs_comment", False), SlotSet("rating_comment", None)]
