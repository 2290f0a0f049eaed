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

    # The per-kind check gives the same verdict as the full schema, valid or not.
    from jsonschema import Draft202012Validator
    from rasa_runtime.patches import _event_validators, _valid_by_kind, selected
    full = Draft202012Validator(spec)
    kinds = sorted(_event_validators()[2])
    assert len(kinds) == 23, kinds
    variants = [{}, {"timestamp": "x"}, {"timestamp": 1.5}, {"metadata": 3}, {"name": 1},
                {"name": "a", "value": None}, {"entities": []}, {"entities": [{"x": 1}]},
                {"policy": 2}, {"hide_rule_turn": "no"}, {"text": 5},
                {"parse_data": {"intent": {"name": 3}}},
                {"parse_data": {"response_selector": {"all_retrieval_intents": []}}}]
    samples = [{"events": [{"event": kind, **extra}]} for kind in kinds for extra in variants]
    samples += [{}, {"events": "x"}, {"events": [1]}, {"events": [{}]}, {"responses": [1]},
                {"events": [{"event": 7}]}, {"events": [{"event": "nope"}]}, [], "text", None,
                {"events": [{"event": "slot", "name": "a", "value": 1}, {"event": "x"}]}]
    verdicts = set()
    for sample in samples:
        expected = full.is_valid(sample)
        assert _valid_by_kind(sample) == expected, sample
        verdicts.add(expected)
    assert verdicts == {True, False}
    assert selected("none") == [] and selected("") == ["action_validation", "sqlite_tracker",
                                                       "faq_selector"]
    assert selected("faq_selector, action_validation") == ["action_validation", "faq_selector"]
    try:
        selected("faster")
    except ValueError as exc:
        assert "unknown patch faster" in str(exc), exc
    else:
        raise AssertionError("unknown patch accepted")

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
