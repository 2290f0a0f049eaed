"""The patches refuse a Rasa other than the pinned one, and ``python -m rasa_runtime`` says so.

Runs in ``.venv-rasa`` (``test_under_rasa.py``), where the installed Rasa is the pinned one; a
different version is simulated by changing ``rasa.__version__`` for one case.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import unittest
from unittest import mock

import rasa
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event

import rasa_runtime.patches as patches

OTHER = "3.6.20"


class VersionGuardCases(unittest.TestCase):
    def setUp(self) -> None:
        patches._APPLIED = None
        self.originals = (RemoteAction._validate_action_result, Event.resolve_by_type)

    def tearDown(self) -> None:
        RemoteAction._validate_action_result, Event.resolve_by_type = self.originals  # type: ignore[method-assign]
        patches._APPLIED = None

    def test_the_installed_rasa_is_the_pinned_one(self) -> None:
        self.assertEqual(rasa.__version__, patches.pinned_rasa_version())

    def test_a_different_rasa_gets_no_patch(self) -> None:
        with (
            mock.patch.object(rasa, "__version__", OTHER),
            self.assertRaises(patches.RasaVersionError) as raised,
        ):
            patches.apply(list(patches.PATCHES))
        message = str(raised.exception)
        self.assertIn(f"Rasa {patches.pinned_rasa_version()}", message)
        self.assertIn(f"Rasa {OTHER} is installed", message)
        self.assertIn("HOTLINE_RASA_PATCHES=none", message)
        self.assertEqual(
            (RemoteAction._validate_action_result, Event.resolve_by_type), self.originals
        )
        self.assertIsNone(patches._APPLIED)

    def test_without_patches_any_rasa_starts(self) -> None:
        with mock.patch.object(rasa, "__version__", OTHER):
            self.assertEqual(patches.apply([]), [])

    def test_the_pinned_rasa_gets_every_patch_once(self) -> None:
        self.assertEqual(patches.apply(), list(patches.PATCHES))
        replaced = (RemoteAction._validate_action_result, Event.resolve_by_type)
        self.assertEqual(patches.apply(), list(patches.PATCHES))
        self.assertEqual((RemoteAction._validate_action_result, Event.resolve_by_type), replaced)
        self.assertNotEqual(replaced, self.originals)

    def test_the_command_refuses_with_one_line_and_exit_2(self) -> None:
        from rasa_runtime import __main__ as command

        err = io.StringIO()
        started = mock.Mock()
        env = {"HOTLINE_ENV": "development", "HOTLINE_RASA_PATCHES": ""}
        with (
            mock.patch.object(rasa, "__version__", OTHER),
            mock.patch.dict(os.environ, env),
            mock.patch.object(sys, "argv", ["rasa_runtime", "--version"]),
            mock.patch("rasa.__main__.main", started),
            contextlib.redirect_stderr(err),
        ):
            self.assertEqual(command.main(), 2)
        started.assert_not_called()
        self.assertIn("rasa_runtime: the patches in rasa_runtime/patches.py", err.getvalue())
        self.assertIn(f"Rasa {OTHER} is installed", err.getvalue())


if __name__ == "__main__":
    unittest.main()
