"""The ``event_types`` patch resolves every event name to the class Rasa's own walk finds.

Runs in ``.venv-rasa`` (``test_under_rasa.py``).
"""

from __future__ import annotations

import unittest

from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.utils.common import all_subclasses

from rasa_runtime.patches import PATCHES

RASAS_OWN = Event.resolve_by_type
NAMES = sorted({cls.type_name for cls in all_subclasses(Event)})
EXPECTED = {name: RASAS_OWN(name) for name in NAMES}


class EventTypesCases(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        PATCHES["event_types"]()

    def test_the_method_is_replaced(self) -> None:
        self.assertIsNot(Event.resolve_by_type, RASAS_OWN)

    def test_every_name_gives_rasas_class(self) -> None:
        self.assertGreater(len(NAMES), 20)
        self.assertEqual({name: Event.resolve_by_type(name) for name in NAMES}, EXPECTED)
        self.assertIs(Event.resolve_by_type("user"), UserUttered)

    def test_old_and_unknown_names_get_rasas_answers(self) -> None:
        self.assertIsNone(Event.resolve_by_type("topic"))
        self.assertIs(Event.resolve_by_type("nope", default=SlotSet), SlotSet)
        with self.assertRaises(ValueError) as raised:
            Event.resolve_by_type("nope")
        self.assertEqual(str(raised.exception), "Unknown event name 'nope'.")

    def test_a_class_defined_later_is_found(self) -> None:
        Event.resolve_by_type("user")  # the table is built

        class Later(SlotSet):
            type_name = "hotline_later_event"

        self.assertIs(Event.resolve_by_type("hotline_later_event"), Later)

    def test_stored_events_deserialise_as_before(self) -> None:
        written = [
            UserUttered("楼道灯坏了", intent={"name": "report"}, timestamp=1.0),
            SlotSet("phone", "13812345678", timestamp=2.0),
            ActionExecuted("action_listen", timestamp=3.0),
        ]
        read = [Event.from_parameters(event.as_dict()) for event in written]
        self.assertEqual(read, written)
        self.assertEqual([type(e) for e in read], [UserUttered, SlotSet, ActionExecuted])


if __name__ == "__main__":
    unittest.main()
