"""rasa_runtime's patches, checked inside the Rasa environment (.venv-rasa)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from hotline.config import PROJECT_ROOT

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"

CHECK = textwrap.dedent(
    """
    import asyncio, sqlite3, sys
    from jsonschema import ValidationError, validate
    from rasa.core.actions.action import RemoteAction
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    spec = RemoteAction.action_response_format_spec()
    good = {"events": [{"event": "slot", "name": "phone", "value": "138"}], "responses": []}
    bad = {"events": [{"event": "no_such_event"}]}
    try:
        validate(bad, spec)
    except ValidationError as exc:
        original = exc.message

    from rasa_runtime.patches import apply
    apply()
    apply()
    action = RemoteAction("validate_report_form", None)
    assert action._validate_action_result(good) is True
    try:
        action._validate_action_result(bad)
    except ValidationError as exc:
        assert exc.message.startswith(original + ". Failed to validate"), exc.message
    else:
        raise AssertionError("invalid response accepted")

    path = sys.argv[1]
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=path)
    tracker = DialogueStateTracker.from_events("s1", [UserUttered("hi"), SlotSet("a", 1)])
    asyncio.run(store.save(tracker))
    again = asyncio.run(store.retrieve("s1"))
    assert again is not None and again.latest_message.text == "hi", again
    assert [e.type_name for e in again.events] == ["user", "slot"], list(again.events)
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal", mode
    print("ok")
    """
)


def test_patches_keep_rasa_behaviour(tmp_path: Path) -> None:
    if not RASA_PYTHON.exists():
        pytest.fail("no .venv-rasa: run `make setup`")
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", CHECK, str(tmp_path / "tracker.db")],
        cwd=PROJECT_ROOT,
        env={"PYTHONPATH": str(PROJECT_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), (
        result.stdout[-2000:] + result.stderr[-3000:]
    )
