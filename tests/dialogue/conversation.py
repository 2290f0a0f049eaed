"""One resident's conversation with the real assistant over the REST channel, for the tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from hotline.db import transaction
from hotline.models import Case
from tests.servers import Stack

Reply = list[dict[str, Any]]


def texts(replies: Reply) -> str:
    """The text of every reply, one per line."""
    return "\n".join(str(r.get("text") or "") for r in replies)


@dataclass
class Conversation:
    """Sends a resident's messages and keeps the transcript for failure messages."""

    stack: Stack
    sender: str = field(default_factory=lambda: f"web:{uuid.uuid4().hex[:10]}")
    log: list[tuple[str, str]] = field(default_factory=list)

    def say(self, text: str) -> Reply:
        """Sends one message; returns the assistant's replies after ``check`` saw them."""
        replies = self.stack.say(self.sender, text)
        self.log.append((text, texts(replies)))
        self.check(replies)
        return replies

    def check(self, replies: Reply) -> None:
        """What every reply must satisfy; nothing by default."""

    def transcript(self) -> str:
        """The conversation so far, for an assertion's message."""
        return "\n".join(f"> {said}\n< {answer}" for said, answer in self.log)

    def all_cases(self, db_url: str | None = None) -> list[Case]:
        """Every case this resident logged (reports and answered policy questions)."""
        with transaction(db_url or self.stack.db_url) as session:
            found = list(session.scalars(select(Case).where(Case.resident_ref == self.sender)))
            session.expunge_all()
        return found
