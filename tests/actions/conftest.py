"""Fixtures for the custom action tests, in the style of RasaHQ/financial-demo.

Each test gets a ``CollectingDispatcher``, the domain read from domain.yml, and a factory that
builds a ``Tracker`` the way the Rasa server sends it to the action server: every domain slot
(with its initial value), the latest message with its intent, ranking, entities and response
selector, and the events.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, NewCase, apply_action, create_case, get_case
from hotline.config import PROJECT_ROOT
from hotline.db import transaction
from hotline.models import Case, CaseEvent, OutboxMessage

SENDER = "tg:1001"
OTHER_SENDER = "tg:2002"
PHONE = "+8613812345678"
FORM_STARTED = 1_749_434_400.0
"""The timestamp of the report_form activation event in a default confirmation tracker."""
NOW = datetime(2025, 6, 9, 2, 0, tzinfo=UTC)
"""Monday 9 June 2025, 10:00 in Shanghai: the frozen clock of the case core."""

TrackerFactory = Callable[..., Tracker]

RESET = [
    SlotSet("category", None),
    SlotSet("category_candidates", None),
    SlotSet("description", None),
    SlotSet("case_type", None),
    SlotSet("location", None),
    SlotSet("latitude", None),
    SlotSet("longitude", None),
    SlotSet("confirmed", None),
    SlotSet("phone_failures", None),
    SlotSet("publish_consent", None),
    SlotSet("similar_case_number", None),
    SlotSet("similar_case_status", None),
    SlotSet("same_problem", None),
]
"""What one report collected, cleared (phone and name stay for the next report)."""


def utterance(
    response: str, *, buttons: list[dict[str, Any]] | None = None, **variables: Any
) -> dict[str, Any]:
    """The message ``CollectingDispatcher`` keeps for ``utter_message(response=…, **variables)``.

    The wording is the domain response's; Rasa fills its ``{placeholders}`` from the variables.
    """
    return {
        "text": None,
        "buttons": buttons or [],
        "elements": [],
        "custom": {},
        "template": response,
        "response": response,
        "image": None,
        "attachment": None,
        **variables,
    }


PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")
"""A ``{placeholder}`` in a response text, as Rasa 3.6's interpolator finds them."""


def rendered(message: dict[str, Any], domain: dict[str, Any] | None = None) -> str:
    """The text a resident reads for a message: its own text, or its response filled in.

    Fills a response's placeholders the way Rasa 3.6 does (``rasa.core.nlg.interpolator``)
    from the message's variables; an unknown placeholder fails the test.
    """
    if not message.get("response"):
        return str(message.get("text") or "")
    [variant] = (domain or _domain())["responses"][message["response"]]
    return str(PLACEHOLDER.sub(r"{0[\1]}", variant["text"]).format(message))


APOLOGY = utterance("utter_storage_apology", hotline_phone="12343")
"""The database is down: what the resident reported is kept for later."""
LOOKUP_APOLOGY = utterance("utter_lookup_apology", hotline_phone="12343")
"""The database is down: nothing could be looked up or changed."""


@pytest.fixture(autouse=True)
def default_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded defaults: hotline 12343, prefix SQ, Asia/Shanghai, the shipped catalogue."""
    for name in (
        "HOTLINE_PHONE",
        "HOTLINE_CASE_PREFIX",
        "HOTLINE_TIMEZONE",
        "HOTLINE_CATALOGUE",
        "HOTLINE_SPOOL_DIR",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def fresh_lookup_limits() -> None:
    """Each test starts with empty per-address counters (they live in the process)."""
    from hotline.access.ratelimit import shared_limiter

    shared_limiter.cache_clear()


@lru_cache(maxsize=1)
def _domain() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture()
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture()
def domain() -> dict[str, Any]:
    return _domain()


@pytest.fixture()
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """Stops the case core's clock at NOW, so numbers and deadlines are fixed texts."""
    monkeypatch.setattr("hotline.casework.cases.utcnow", lambda: NOW)
    monkeypatch.setattr("hotline.residents.resident.utcnow", lambda: NOW)
    # The matcher weighs how long ago a case was reported, by the same clock.
    monkeypatch.setattr("hotline.similarity.matcher.utcnow", lambda: NOW)
    monkeypatch.setattr("hotline.casework.co_reporters.utcnow", lambda: NOW)
    return NOW


@pytest.fixture()
def db(db_url: str, frozen_now: datetime) -> str:
    """The migrated SQLite case database, with the core's clock frozen."""
    return db_url


def initial_slots(domain: dict[str, Any]) -> dict[str, Any]:
    """Every domain slot at its initial value, as a fresh conversation has them."""
    return {name: spec.get("initial_value") for name, spec in domain["slots"].items()} | {
        "requested_slot": None
    }


def user_event(message: dict[str, Any], timestamp: float) -> dict[str, Any]:
    return {"event": "user", "timestamp": timestamp, **message}


def report_form_started(started: float = FORM_STARTED) -> list[dict[str, Any]]:
    """A description routed, and report_form activated at ``started``, up to its last question."""
    return [
        {"event": "action", "name": "action_listen", "timestamp": started - 2},
        {
            "event": "user",
            "timestamp": started - 1,
            "text": "我家楼下的路灯坏了好几天了",
            "parse_data": {
                "intent": {"name": "report", "confidence": 0.93},
                "category": {"name": "city_management", "confidence": 0.9},
            },
        },
        {"event": "action", "name": "report_form", "timestamp": started},
        {"event": "active_loop", "name": "report_form", "timestamp": started},
        {"event": "slot", "name": "requested_slot", "value": "location", "timestamp": started},
        {"event": "action", "name": "action_ask_confirmed", "timestamp": started + 50},
    ]


def report_form_completed(at: float) -> list[dict[str, Any]]:
    """The form's last step after the resident confirmed: it fills the slot and deactivates."""
    return [
        {"event": "action", "name": "report_form", "timestamp": at},
        {"event": "slot", "name": "confirmed", "value": "yes", "timestamp": at},
        {"event": "active_loop", "name": None, "timestamp": at},
        {"event": "slot", "name": "requested_slot", "value": None, "timestamp": at},
    ]


def report_submitted(started: float) -> list[dict[str, Any]]:
    """A whole earlier report: form started, confirmed, completed and submitted."""
    return [
        *report_form_started(started),
        {"event": "action", "name": "action_listen", "timestamp": started + 59},
        {"event": "user", "timestamp": started + 60, "text": "是", "parse_data": {}},
        *report_form_completed(started + 61),
        {"event": "action", "name": "action_submit_case", "timestamp": started + 62},
    ]


@pytest.fixture()
def make_tracker(domain: dict[str, Any]) -> TrackerFactory:
    """Builds a Tracker with ``Tracker.from_dict``.

    Keyword arguments:
        sender_id: The conversation (default ``tg:1001``).
        slots: Slot values over the domain's initial values.
        text, intent, confidence, intent_ranking, category_ranking, entities,
        response_selector, message_id:
            The latest message (``category_ranking``: the NLU's category stage).
            ``entities`` may be given as ``{"entity": value}``.
        events: Events before the latest user message, which is always preceded by an
            action_listen.
        then: Events after the latest user message (e.g. a form completing).
        active_loop: The name of the active form, if any.
        validating: Slot candidates the form just extracted; they are appended as the last
            events and set on the tracker, as Rasa does before calling a validation action.
    """

    def factory(
        *,
        sender_id: str = SENDER,
        slots: dict[str, Any] | None = None,
        text: str = "",
        intent: str | None = None,
        confidence: float = 1.0,
        intent_ranking: list[dict[str, Any]] | None = None,
        category_ranking: list[dict[str, Any]] | None = None,
        entities: list[dict[str, Any]] | dict[str, Any] | None = None,
        response_selector: dict[str, Any] | None = None,
        message_id: str | None = None,
        events: list[dict[str, Any]] | None = None,
        active_loop: str | None = None,
        validating: dict[str, Any] | None = None,
        then: list[dict[str, Any]] | None = None,
    ) -> Tracker:
        if isinstance(entities, dict):
            entities = [{"entity": k, "value": v} for k, v in entities.items()]
        latest: dict[str, Any] = {
            "text": text,
            "intent": {"name": intent, "confidence": confidence} if intent else {},
            "intent_ranking": intent_ranking
            if intent_ranking is not None
            else ([{"name": intent, "confidence": confidence}] if intent else []),
            "entities": entities or [],
            "message_id": message_id,
        }
        if category_ranking:
            latest["category"] = category_ranking[0]
            latest["category_ranking"] = category_ranking
        if response_selector is not None:
            latest["response_selector"] = response_selector
        history = list(events if events is not None else [])
        last = max((e.get("timestamp") or 0 for e in history), default=FORM_STARTED) + 9
        history += [
            {"event": "action", "name": "action_listen", "timestamp": last},
            user_event({"text": text, "parse_data": latest}, last + 1),
        ]
        values = initial_slots(domain) | (slots or {})
        if validating and not (slots or {}).get("requested_slot"):
            # The form asked for the slot it is validating, as Rasa's form does.
            values["requested_slot"] = next(iter(validating))
        if validating:
            values |= validating
            history += [
                {"event": "action", "name": active_loop, "timestamp": last + 2},
                *(
                    {"event": "slot", "name": k, "value": v, "timestamp": last + 2}
                    for k, v in validating.items()
                ),
            ]
        history += then or []
        return Tracker.from_dict(
            {
                "sender_id": sender_id,
                "slots": values,
                "latest_message": latest,
                "events": history,
                "paused": False,
                "followup_action": None,
                "active_loop": {"name": active_loop} if active_loop else {},
                "latest_action_name": "action_listen",
            }
        )

    return factory


def make_case(db_url: str, **fields: Any) -> str:
    """Logs a case the way a resident's report does; returns its number.

    By default: the resident ``tg:1001`` reports a broken street light (城市管理).
    """
    values: dict[str, Any] = {
        "category": "city_management",
        "description": "我家楼下的路灯坏了好几天了",
        "phone": PHONE,
        "location": "幸福小区3栋2单元",
        "channel": "telegram",
        "resident_ref": SENDER,
    } | fields
    with transaction(db_url) as session:
        case, _ = create_case(session, NewCase(**values), Actor.resident(values["resident_ref"]))
        return case.number


def move(db_url: str, number: str, *steps: tuple[str, str | None]) -> None:
    """Applies operator actions, each ``(action, note)``, to a case."""
    with transaction(db_url) as session:
        case = get_case(session, number)
        for action, note in steps:
            apply_action(session, case, action, Actor.operator("alice"), ActionInput(note=note))


def cases(db_url: str) -> list[Case]:
    """Every case, oldest first."""
    with transaction(db_url) as session:
        return list(session.scalars(select(Case).order_by(Case.id)))


def events_of(db_url: str, number: str) -> list[tuple[str, str, str | None, str | None]]:
    """A case's audit trail as (action, actor, to_status, note), oldest first."""
    with transaction(db_url) as session:
        rows = session.execute(
            select(CaseEvent.action, CaseEvent.actor, CaseEvent.to_status, CaseEvent.note)
            .join(Case, Case.id == CaseEvent.case_id)
            .where(Case.number == number)
            .order_by(CaseEvent.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def outbox(db_url: str) -> list[tuple[str, str, str]]:
    """Queued resident messages as (recipient, kind, text), oldest first."""
    with transaction(db_url) as session:
        rows = session.execute(
            select(OutboxMessage.recipient, OutboxMessage.kind, OutboxMessage.text).order_by(
                OutboxMessage.id
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


class Outage:
    """Switches the case database off and on by pointing HOTLINE_DATABASE_URL at a directory.

    SQLite cannot open a directory ("unable to open database file"), so the real code path
    sees the database as unreachable: ``hotline.db.transaction`` raises
    ``StorageUnavailableError``.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, db_url: str, unreachable: str) -> None:
        self._monkeypatch = monkeypatch
        self._db_url = db_url
        self._unreachable = unreachable

    def start(self) -> None:
        self._monkeypatch.setenv("HOTLINE_DATABASE_URL", self._unreachable)

    def end(self) -> None:
        self._monkeypatch.setenv("HOTLINE_DATABASE_URL", self._db_url)


@pytest.fixture()
def outage(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Outage:
    """The case database, down from the start of the test until ``outage.end()``."""
    directory = tmp_path / "not-a-database"
    directory.mkdir()
    switch = Outage(monkeypatch, db, f"sqlite:///{directory}")
    switch.start()
    return switch
