"""rasa_runtime's patches, checked inside the Rasa environment (.venv-rasa)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from hotline.config import ACTION_TOKEN_HEADER, PROJECT_ROOT

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

    original_retrieve = SQLTrackerStore._retrieve
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses
    names = sorted({cls.type_name for cls in all_subclasses(Event)})
    resolved = {name: Event.resolve_by_type(name) for name in names}
    original_save = SQLTrackerStore.save

    from rasa_runtime.patches import PATCHES, apply
    assert apply() == list(PATCHES)
    assert apply() == list(PATCHES)
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
    assert selected("none") == [] and selected("") == list(PATCHES)
    assert selected("event_types, action_validation") == ["action_validation", "event_types"]
    try:
        selected("faster")
    except ValueError as exc:
        assert "unknown patch faster" in str(exc), exc
    else:
        raise AssertionError("unknown patch accepted")

    # Event classes come from a table, with Rasa's answers for every name, old and unknown.
    assert len(names) > 20 and {n: Event.resolve_by_type(n) for n in names} == resolved
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("nope", default=SlotSet) is SlotSet
    try:
        Event.resolve_by_type("nope")
    except ValueError as exc:
        assert str(exc) == "Unknown event name 'nope'.", exc
    else:
        raise AssertionError("unknown event accepted")

    path = sys.argv[1]
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=path)
    tracker = DialogueStateTracker.from_events("s1", [UserUttered("hi"), SlotSet("a", 1)])
    asyncio.run(store.save(tracker))
    again = asyncio.run(store.retrieve("s1"))
    assert again is not None and again.latest_message.text == "hi", again
    assert [e.type_name for e in again.events] == ["user", "slot"], list(again.events)
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal", mode

    # The SQL-text queries store and read what Rasa's ORM code stores and reads.
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted
    first = [ActionExecuted("action_session_start", timestamp=2), SessionStarted(timestamp=2),
             ActionExecuted("action_listen", timestamp=3),
             UserUttered("hi", intent={"name": "greet"}, timestamp=4), SlotSet("a", 1, timestamp=5)]
    more = [ActionExecuted("utter_greet", timestamp=6), BotUttered("hello", timestamp=7)]
    second = [ActionExecuted("action_session_start", timestamp=9), SessionStarted(timestamp=9),
              SlotSet("a", 1, timestamp=10), ActionExecuted("action_listen", timestamp=11),
              UserUttered("again", timestamp=12)]
    theirs = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=path + ".orm")
    for batch in (first, more, second):
        # As Rasa does: the latest session's tracker plus the new events, saved once.
        for target, save in ((store, store.save), (theirs, lambda t: original_save(theirs, t))):
            known = asyncio.run(original_retrieve(target, "s2", False))
            tracker = DialogueStateTracker.from_events(
                "s2", [*(known.events if known else []), *batch]
            )
            asyncio.run(save(tracker))
        for everything in (False, True):
            ours = asyncio.run(store._retrieve("s2", everything))
            orm = asyncio.run(original_retrieve(store, "s2", everything))
            assert [e.as_dict() for e in ours.events] == [e.as_dict() for e in orm.events]
    rows = "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events"
    mine = sqlite3.connect(path).execute(rows + " WHERE sender_id = 's2' ORDER BY id").fetchall()
    orm_rows = sqlite3.connect(path + ".orm").execute(rows + " ORDER BY id").fetchall()
    assert mine == orm_rows and len(mine) == 12, (mine, orm_rows)
    latest = asyncio.run(store.retrieve("s2"))
    assert [e.type_name for e in latest.events][:2] == ["action", "session_started"]
    assert len(latest.events) == 5 and latest.latest_message.text == "again"
    asyncio.run(store.save(latest))  # nothing new: nothing written
    assert sqlite3.connect(path).execute("SELECT count(*) FROM events").fetchone()[0] == 14
    assert asyncio.run(store.retrieve("nobody")) is None

    # One connection serves consecutive action calls; an idle one is dropped after 2 s.
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    async def connections():
        peers = []

        async def webhook(request):
            peers.append(request.transport.get_extra_info("peername")[1])
            return web.json_response({"echo": (await request.json())["n"]})

        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        answers = [await endpoint.request(json={"n": n}) for n in range(3)]
        await asyncio.sleep(2.5)
        answers.append(await endpoint.request(json={"n": 3}))
        await runner.cleanup()
        return answers, peers

    answers, peers = asyncio.run(connections())
    assert answers == [{"echo": n} for n in range(4)], answers
    assert len(set(peers[:3])) == 1 and peers[3] != peers[0], peers
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


@pytest.mark.parametrize("name", ["endpoints.yml", "endpoints.scaled.yml"])
def test_rasa_reads_the_action_port_and_token_from_the_environment(name: str) -> None:
    # make run sets ACTION_PORT and HOTLINE_ACTION_TOKEN (scripts/run.sh); Rasa must send action
    # calls there, with the token in a header (not a query parameter, which access logs keep).
    if not RASA_PYTHON.exists():
        pytest.fail("no .venv-rasa: run `make setup`")
    read = (
        "import sys; from rasa.core.utils import AvailableEndpoints; "
        "a = AvailableEndpoints.read_endpoints(sys.argv[1]).action; "
        "print(a.url, a.headers, a.token, a.params)"
    )
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", read, str(PROJECT_ROOT / name)],
        env={
            "ACTION_PORT": "6123",
            "HOTLINE_ACTION_TOKEN": "tok-en:42#x",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    expected = f"http://127.0.0.1:6123/webhook {{'{ACTION_TOKEN_HEADER}': 'tok-en:42#x'}} None {{}}"
    assert result.stdout.strip().splitlines()[-1:] == [expected], (
        result.stdout[-2000:] + result.stderr[-2000:]
    )


def test_rasa_gets_the_api_secret_from_the_settings_not_the_command_line() -> None:
    # The Procfiles start `python -m rasa_runtime run ...` without the secret, so it never
    # appears in the process list; rasa_runtime adds it for Rasa's own parser.
    from rasa_runtime.__main__ import with_api_secret

    procfiles = [
        (PROJECT_ROOT / p).read_text(encoding="utf-8") for p in ("Procfile", "Procfile.scaled")
    ]
    for text in procfiles:
        rasa_line = next(line for line in text.splitlines() if line.startswith("rasa:"))
        assert "RASA_TOKEN" not in rasa_line and "--auth-token" not in rasa_line
    argv = ["rasa", "run", "--enable-api", "-p", "5005"]
    assert with_api_secret(argv, "s" * 32) == [
        *argv,
        "--jwt-secret",
        "s" * 32,
        "--jwt-method",
        "HS256",
    ]
    explicit = ["rasa", "run", "--jwt-secret", "other"]
    assert with_api_secret(explicit, "s" * 32) == explicit
    assert with_api_secret(["rasa", "train"], "s" * 32) == ["rasa", "train"]
