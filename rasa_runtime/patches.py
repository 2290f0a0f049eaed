"""The Rasa 3.6 fixes that have no public extension point, found by profiling
(``python -m bench.profile``; measured in docs/benchmarks.md). Each replaces a private method of
Rasa, so :func:`apply` refuses to install any of them unless the installed Rasa is exactly the
version ``requirements-rasa.txt`` pins. What could move to a public extension point has moved:
the tracker store is :class:`rasa_runtime.tracker_store.HotlineSQLTrackerStore`, named in
endpoints*.yml, and the FAQ is answered by a component of config.yml.

``action_validation``: ``RemoteAction._validate_action_result`` calls
``jsonschema.validate(result, schema)`` for every custom action the server runs, which checks
the schema itself against the Draft 2020-12 meta-schema and builds a new validator on every call
(about half of the Rasa server's CPU under load). The patch builds the same validator class
once and checks the schema once. Rasa's event schema is also a ``oneOf`` of 23 event kinds, so
every event was checked against all 23; each kind's branch requires its own ``event`` name
(``const``), so an event is valid exactly when it passes the common part and the one branch
named by its ``event``. The patch checks that first, and only when it fails runs the full
validator, which raises Rasa's own best-matching ``ValidationError`` with the same message.

Kept-alive action-server connections (a class-wide ``EndpointConfig.session``) were tried and
dropped: three interleaved rounds of ``bench/patch_steps.py`` (2026-11-26 08:32 UTC,
docs/benchmarks.md) put their gain at 1.3 ms of Rasa CPU per message (59.4 against 58.1 ms, 2%)
and nothing in wall time per message (67.3 against 67.0 ms), which does not pay for a patch
that also changes model-server pulls and leaves sessions open.

``event_types``: ``Event.resolve_by_type`` walks the whole tree of ``Event`` subclasses for every
event it deserialises (a stored conversation, an action's reply): 11% of the server's time under
cProfile. The patch looks the class up in a table built from the same walk, in the same order
(the first class with the name wins, as before), and walks again when a name is missing.

``graph_runner``: Rasa runs the prediction graph of every message, and of every action it
predicts, through dask's local scheduler, which re-derives, orders and schedules the same
dozen-node graph each time: about a tenth of the event loop's time under load. The processor
builds its runner from a class it names itself (no setting chooses another), so the patch
names :class:`rasa_runtime.graph_runner.SequentialGraphRunner` there instead: Rasa's runner
with a ``run`` that calls the nodes in an order worked out once per target set.

``HOTLINE_RASA_PATCHES`` (comma-separated names from ``PATCHES``, or ``none``; default all)
chooses which patches to apply, so that the benchmarks can measure each one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements-rasa.txt"
"""Where the Rasa version the patches were written for is pinned (``rasa[...]==X.Y.Z``)."""

_APPLIED: list[str] | None = None


class RasaVersionError(ValueError):
    """The installed Rasa is not the version the patches replace code of."""


def pinned_rasa_version(requirements: Path = REQUIREMENTS) -> str:
    """The exact Rasa version ``requirements-rasa.txt`` pins.

    Raises:
        RasaVersionError: When the file is missing or pins no exact version of ``rasa``.
    """
    try:
        text = requirements.read_text(encoding="utf-8")
    except OSError as exc:
        raise RasaVersionError(f"cannot read the Rasa pin in {requirements}: {exc}") from exc
    found = re.search(r"^rasa(?:\[[^\]]*\])?==([\w.+-]+)\s*(?:#.*)?$", text, re.MULTILINE)
    if found is None:
        raise RasaVersionError(f"{requirements} pins no exact version of rasa (rasa==X.Y.Z)")
    return found.group(1)


def check_rasa_version(installed: str, pinned: str | None = None) -> None:
    """Refuses a Rasa other than the pinned one.

    Raises:
        RasaVersionError: With what to do, when ``installed`` is not the pinned version.
    """
    pinned = pinned_rasa_version() if pinned is None else pinned
    if installed != pinned:
        raise RasaVersionError(
            f"the patches in rasa_runtime/patches.py replace private code of Rasa {pinned} "
            f"(pinned in requirements-rasa.txt), but Rasa {installed} is installed. Install "
            f"the pinned version (make setup), or check each patch against Rasa {installed}'s "
            "source and its tests (tests/rasa_runtime/) and then move the pin. "
            "HOTLINE_RASA_PATCHES=none starts Rasa without them."
        )


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@lru_cache(maxsize=1)
def _event_validators() -> tuple[Any, Any, dict[str, Any]]:
    """Validators for the response without its events, an event's common part, and each kind."""
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    events = schema["properties"]["events"]
    event = events["items"]
    outer = {**schema, "properties": {**schema["properties"], "events": {"type": "array"}}}
    common = {key: value for key, value in event.items() if key != "oneOf"}
    kinds = {branch["properties"]["event"]["const"]: cls(branch) for branch in event["oneOf"]}
    return cls(outer), cls(common), kinds


def _valid_by_kind(result: Any) -> bool:
    outer, common, kinds = _event_validators()
    if not outer.is_valid(result):
        return False
    for event in result.get("events") or []:
        if not common.is_valid(event):
            return False
        kind = kinds.get(event["event"])
        if kind is None or not kind.is_valid(event):
            return False
    return True


def validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """Drop-in for ``RemoteAction._validate_action_result``: same verdict, less work.

    Raises:
        jsonschema.ValidationError: As Rasa's own does, with the same explanation appended.
    """
    from jsonschema import exceptions
    from rasa.shared.constants import DOCS_BASE_URL

    if _valid_by_kind(result):
        return True
    error = exceptions.best_match(_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        "For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def _patch_event_types() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    table: dict[str, type[Event]] = {}

    def rebuild() -> None:
        table.clear()
        for cls in all_subclasses(Event):
            table.setdefault(cls.type_name, cls)

    def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
        found = table.get(type_name)
        if found is None:
            rebuild()
            found = table.get(type_name)
        if found is not None:
            return found
        if type_name == "topic":
            return None  # Rasa keeps accepting the old TopicSet events
        if default is not None:
            return default
        raise ValueError(f"Unknown event name '{type_name}'.")

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]


def _patch_action_validation() -> None:
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


def _patch_graph_runner() -> None:
    import rasa.core.processor

    from rasa_runtime.graph_runner import SequentialGraphRunner

    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner  # type: ignore[misc]


PATCHES: dict[str, Callable[[], None]] = {
    "action_validation": _patch_action_validation,
    "event_types": _patch_event_types,
    "graph_runner": _patch_graph_runner,
}
"""Every patch by name, in the order they are applied."""


def selected(setting: str | None = None) -> list[str]:
    """The patches that ``HOTLINE_RASA_PATCHES`` (or ``setting``) asks for.

    Raises:
        ValueError: When it names a patch that does not exist.
    """
    value = os.environ.get("HOTLINE_RASA_PATCHES", "") if setting is None else setting
    value = value.strip()
    if not value:
        return list(PATCHES)
    if value == "none":
        return []
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in PATCHES]
    if unknown:
        raise ValueError(
            f"HOTLINE_RASA_PATCHES: unknown patch {', '.join(unknown)}; "
            f"known: {', '.join(PATCHES)} (or none)"
        )
    return [name for name in PATCHES if name in names]


def apply(names: list[str] | None = None) -> list[str]:
    """Installs the chosen patches (default: ``selected()``) once; returns what is applied.

    Raises:
        RasaVersionError: When a patch is chosen and the installed Rasa is not the pinned
            version (nothing is installed then).
        ValueError: When ``HOTLINE_RASA_PATCHES`` names a patch that does not exist.
    """
    global _APPLIED
    if _APPLIED is not None:
        return _APPLIED
    chosen = selected() if names is None else names
    if chosen:
        import rasa

        check_rasa_version(rasa.__version__)
    for name in chosen:
        PATCHES[name]()
    _APPLIED = chosen
    return chosen
