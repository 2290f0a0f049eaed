"""The questions forms ask, one action per slot (``action_ask_<slot>``)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

QUESTIONS: dict[str, str] = {
    "location": "请问问题发生在哪里？请提供小区、楼栋或路名等具体位置。",
    "emergency_form_location": (
        "请告诉我事发的具体位置（小区、楼栋、门牌或路口），我们会立即通知相关部门。"
    ),
    "phone": "请留一个联系电话（手机或座机），方便办理单位联系您。",
    "contact_name": "请问怎么称呼您？不方便透露可以回复「匿名」。",
    "phone_last4": "为保护隐私，请输入该工单登记电话的后四位数字。",
    "info_text": "请输入您要补充的情况。",
    "rating_comment": "很抱歉没能让您满意。请告诉我们哪里没有解决好，我们会重新办理。",
}
"""Each form question, by slot (``emergency_form_location`` is the emergency form's)."""


def _ask_action(slot: str, question: str) -> type[Action]:
    def name(self: Action) -> str:
        return f"action_ask_{slot}"

    async def run(
        self: Action, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(text=question)
        return []

    attrs: dict[str, Any] = {"name": name, "run": run, "__doc__": f"Asks for {slot}."}
    return type(f"AskAction_{slot}", (Action,), attrs)


ASK_ACTIONS = [_ask_action(slot, question) for slot, question in QUESTIONS.items()]
