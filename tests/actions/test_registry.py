"""The domain and the action server agree, and every form slot has a question."""

from __future__ import annotations

import re

from rasa_sdk.executor import ActionExecutor

HAN = re.compile(r"[\u4e00-\u9fff]")


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


def test_static_questions_are_responses_not_action_server_calls(domain):
    # A fixed question as a response costs no round trip to the action server per form turn.
    static = [name for name in domain["responses"] if name.startswith("utter_ask_")]
    assert {
        "utter_ask_location",
        "utter_ask_emergency_form_location",
        "utter_ask_phone",
        "utter_ask_contact_name",
        "utter_ask_phone_last4",
        "utter_ask_info_text",
        "utter_ask_rating_comment",
    } <= set(static)
    for name in static:
        texts = [variant["text"] for variant in domain["responses"][name]]
        assert texts and all(HAN.search(text) for text in texts), name
        assert f"action_{name[len('utter_') :]}" not in domain["actions"], name
