"""Who acts on a case: a resident, an operator account or the system."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.casework.vocab import ActorKind


@dataclass(frozen=True)
class Actor:
    """The author of an audit event."""

    kind: ActorKind
    name: str
    user_id: int | None = None

    @classmethod
    def resident(cls, sender_id: str | None) -> Actor:
        """A resident, named by their conversation's sender id."""
        return cls(ActorKind.RESIDENT, sender_id or "resident")

    @classmethod
    def operator(cls, username: str, user_id: int | None = None) -> Actor:
        """A console user."""
        return cls(ActorKind.OPERATOR, username, user_id)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The hotline itself (timers, recovery)."""
        return cls(ActorKind.SYSTEM, name)

    @classmethod
    def parse(cls, text: str | None) -> Actor:
        """Reads ``operator:NAME``, ``resident:ID``, ``system`` or a bare operator name."""
        if not text:
            return cls.system("cli")
        kind, _, name = text.partition(":")
        if kind == "system":
            return cls.system(name or "system")
        if kind == "resident" and name:
            return cls.resident(name)
        if kind == "operator" and name:
            return cls.operator(name)
        return cls.operator(text)
