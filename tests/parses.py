"""Builders for the parts of a Rasa parse that tests hand to actions and routing helpers."""

from __future__ import annotations

from typing import Any


def entity_at(text: str, entity: str, value: str) -> dict[str, Any]:
    """An entity whose value occurs in ``text``, with its character span."""
    start = text.index(value)
    return {"entity": entity, "value": value, "start": start, "end": start + len(value)}


def ranking(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    """A category ranking from ``(code, confidence)`` pairs, best first as given."""
    return [{"name": name, "confidence": confidence} for name, confidence in pairs]
