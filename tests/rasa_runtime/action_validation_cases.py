"""The ``action_validation`` patch gives Rasa's verdict and Rasa's error on every response.

Runs in ``.venv-rasa`` (``test_under_rasa.py``), against Rasa's own
``RemoteAction._validate_action_result`` and the full jsonschema validator.
"""

from __future__ import annotations

import unittest
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from rasa.core.actions.action import RemoteAction

from rasa_runtime.patches import PATCHES, _event_validators, _valid_by_kind

RASAS_OWN: Callable[[RemoteAction, dict[str, Any]], bool] = RemoteAction._validate_action_result
SPEC = RemoteAction.action_response_format_spec()
GOOD = {"events": [{"event": "slot", "name": "phone", "value": "13812345678"}], "responses": []}
BAD: list[Any] = [
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot", "name": 3}]},
    {"responses": "text"},
]
EXTRAS: list[dict[str, Any]] = [
    {},
    {"timestamp": "x"},
    {"timestamp": 1.5},
    {"metadata": 3},
    {"name": 1},
    {"name": "a", "value": None},
    {"entities": []},
    {"entities": [{"x": 1}]},
    {"policy": 2},
    {"hide_rule_turn": "no"},
    {"text": 5},
    {"parse_data": {"intent": {"name": 3}}},
    {"parse_data": {"response_selector": {"all_retrieval_intents": []}}},
]
"""Variations of one event, valid or not depending on its kind."""


def _verdict(validate: Callable[[dict[str, Any]], bool], response: Any) -> str:
    try:
        return "valid" if validate(response) else "rejected"
    except ValidationError as exc:
        return f"invalid: {exc.message}"


class ActionValidationCases(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        PATCHES["action_validation"]()

    def test_the_method_is_replaced(self) -> None:
        self.assertIsNot(RemoteAction._validate_action_result, RASAS_OWN)

    def test_same_verdict_and_message_as_rasa(self) -> None:
        action = RemoteAction("validate_report_form", None)
        for response in [GOOD, *BAD]:
            with self.subTest(response=response):
                ours = _verdict(action._validate_action_result, response)
                theirs = _verdict(lambda r: RASAS_OWN(action, r), response)
                self.assertEqual(ours, theirs)
        self.assertEqual(_verdict(action._validate_action_result, GOOD), "valid")
        invalid = _verdict(action._validate_action_result, BAD[0])
        self.assertIn("Failed to validate Action server response from API", invalid)

    def test_the_check_by_kind_agrees_with_the_full_schema(self) -> None:
        full = Draft202012Validator(SPEC)
        kinds = sorted(_event_validators()[2])
        self.assertEqual(len(kinds), 23, kinds)
        samples: list[Any] = [
            {"events": [{"event": kind, **extra}]} for kind in kinds for extra in EXTRAS
        ]
        samples += [
            {},
            {"events": "x"},
            {"events": [1]},
            {"events": [{}]},
            {"responses": [1]},
            {"events": [{"event": 7}]},
            {"events": [{"event": "nope"}]},
            [],
            "text",
            None,
            {"events": [{"event": "slot", "name": "a", "value": 1}, {"event": "x"}]},
        ]
        verdicts = set()
        for sample in samples:
            expected = full.is_valid(sample)
            with self.subTest(sample=sample):
                self.assertEqual(_valid_by_kind(sample), expected)
            verdicts.add(expected)
        self.assertEqual(verdicts, {True, False})


if __name__ == "__main__":
    unittest.main()
