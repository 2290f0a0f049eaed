"""The form questions (``action_ask_<slot>``), and that the domain and the actions agree."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import ActionExecutor

from actions.prompts import ASK_ACTIONS

BY_NAME = {cls().name(): cls for cls in ASK_ACTIONS}
AskLocation = BY_NAME["action_ask_location"]
AskEmergencyLocation = BY_NAME["action_ask_emergency_form_location"]
AskPhone = BY_NAME["action_ask_phone"]
AskContactName = BY_NAME["action_ask_contact_name"]
AskPhoneLast4 = BY_NAME["action_ask_phone_last4"]
AskInfoText = BY_NAME["action_ask_info_text"]
AskRatingComment = BY_NAME["action_ask_rating_comment"]


@pytest.mark.parametrize(
    ("action", "name", "question"),
    [
        (
            AskLocation,
            "action_ask_location",
            "请问问题发生在哪里？请提供小区、楼栋或路名等具体位置。",
        ),
        (
            AskEmergencyLocation,
            "action_ask_emergency_form_location",
            "请告诉我事发的具体位置（小区、楼栋、门牌或路口），我们会立即通知相关部门。",
        ),
        (AskPhone, "action_ask_phone", "请留一个联系电话（手机或座机），方便办理单位联系您。"),
        (AskContactName, "action_ask_contact_name", "请问怎么称呼您？不方便透露可以回复「匿名」。"),
        (AskPhoneLast4, "action_ask_phone_last4", "为保护隐私，请输入该工单登记电话的后四位数字。"),
        (AskInfoText, "action_ask_info_text", "请输入您要补充的情况。"),
        (
            AskRatingComment,
            "action_ask_rating_comment",
            "很抱歉没能让您满意。请告诉我们哪里没有解决好，我们会重新办理。",
        ),
    ],
)
async def test_each_question(dispatcher, domain, make_tracker, action, name, question):
    tracker = make_tracker(text="", active_loop="report_form")

    events = await action().run(dispatcher, tracker, domain)

    assert action().name() == name
    assert name in domain["actions"]
    assert events == []
    assert [(m["text"], m["buttons"]) for m in dispatcher.messages] == [(question, [])]


def registered_actions() -> set[str]:
    executor = ActionExecutor()
    executor.register_package("actions")
    return set(executor.actions)


def test_every_domain_action_is_implemented_and_every_action_is_declared(domain):
    assert registered_actions() == set(domain["actions"])


def test_every_form_slot_has_a_question(domain):
    available = registered_actions() | set(domain["responses"])
    for form, spec in domain["forms"].items():
        for slot in spec["required_slots"]:
            asks = {f"action_ask_{form}_{slot}", f"action_ask_{slot}", f"utter_ask_{slot}"}
            assert asks & available, (form, slot)
