"""The last-four-digit case lookup, limited per client address through the real stack.

The web chat passes an opaque key of the client's address as message metadata (``client``);
Rasa hands it to the action server in the tracker's latest message, where the limit is kept.
A new cookie (a new sender id) does not reset it.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from hotline.access.ratelimit import rule
from hotline.casework.actors import Actor
from hotline.casework.cases import NewCase, create_case
from hotline.db import transaction
from tests.servers import Stack

pytestmark = pytest.mark.slow

ASK = "后四位"
NOT_FOUND = "没有找到工单"
REFUSED = "查询尝试次数过多"
PER_ADDRESS = rule("10/hour").amount
"""The default of HOTLINE_LOOKUP_LIMIT_PER_IP and HOTLINE_LOOKUP_LIMIT_PER_CASE."""


def _say(stack: Stack, sender: str, text: str, client: str) -> str:
    response = httpx.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text, "metadata": {"channel": "web", "client": client}},
        timeout=60,
    )
    response.raise_for_status()
    return "\n".join(str(r.get("text", "")) for r in response.json())


def _someone_elses_case(stack: Stack) -> str:
    with transaction(stack.db_url) as session:
        case, _ = create_case(
            session,
            NewCase(
                category="city_management",
                description="路灯坏了",
                phone="13900001234",
                location="幸福路",
                channel="telegram",
                resident_ref=f"tg:{uuid.uuid4().int % 10**9}",
            ),
            Actor.system("test"),
        )
        return case.number


def _guess(stack: Stack, number: str, digits: str, client: str) -> str:
    sender = f"web:{uuid.uuid4().hex[:12]}"  # a fresh cookie every time
    assert ASK in _say(stack, sender, f"查询 {number}", client)
    return _say(stack, sender, digits, client)


def test_guesses_are_limited_per_address_whatever_the_sender(rasa_stack: Stack) -> None:
    first, second = _someone_elses_case(rasa_stack), _someone_elses_case(rasa_stack)
    guesser, neighbour = uuid.uuid4().hex[:24], uuid.uuid4().hex[:24]
    for i in range(PER_ADDRESS):
        assert NOT_FOUND in _guess(rasa_stack, first, f"{i:04d}", guesser)
    # The address is spent: even the right digits for another case are refused...
    assert REFUSED in _guess(rasa_stack, second, "1234", guesser)
    # ...while another address gets the second case with the right digits.
    shown = _guess(rasa_stack, second, "1234", neighbour)
    assert second in shown and REFUSED not in shown
    # The first case is spent for everyone: ten wrong guesses were made on it.
    assert REFUSED in _guess(rasa_stack, first, "1234", neighbour)
