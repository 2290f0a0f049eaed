"""The questions forms ask, one action per slot (``action_ask_<slot>``)."""

from __future__ import annotations

from typing import ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict


class AskAction(Action):
    """Asks for one slot with a fixed Chinese question."""

    slot: ClassVar[str] = ""
    question: ClassVar[str] = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=self.question)
        return []


class AskLocation(AskAction):
    slot = "location"
    question = "请问问题发生在哪里？请提供小区、楼栋或路名等具体位置。"


class AskEmergencyLocation(AskAction):
    slot = "emergency_form_location"
    question = "请告诉我事发的具体位置（小区、楼栋、门牌或路口），我们会立即通知相关部门。"


class AskPhone(AskAction):
    slot = "phone"
    question = "请留一个联系电话（手机或座机），方便办理单位联系您。"


class AskContactName(AskAction):
    slot = "contact_name"
    question = "请问怎么称呼您？不方便透露可以回复「匿名」。"


class AskPhoneLast4(AskAction):
    slot = "phone_last4"
    question = "为保护隐私，请输入该工单登记电话的后四位数字。"


class AskInfoText(AskAction):
    slot = "info_text"
    question = "请输入您要补充的情况。"


class AskRatingComment(AskAction):
    slot = "rating_comment"
    question = "很抱歉没能让您满意。请告诉我们哪里没有解决好，我们会重新办理。"
