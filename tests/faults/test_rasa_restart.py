"""The Rasa server dies (SIGKILL) and is restarted: open conversations continue where they were.

Rasa keeps conversations in its SQL tracker store, so residents who were part-way through a
report carry on after the restart. While Rasa is down the resident's path (the gateway) answers
with the Chinese busy message and keeps the message for an operator.
"""

from __future__ import annotations

import signal

import pytest
from sqlalchemy import select

from hotline.channels import gateway
from hotline.db import transaction
from hotline.models import ConversationMessage
from tests.faults.conftest import (
    CASE_NUMBER,
    DESCRIPTION,
    LOCATION,
    NAME,
    PHONE,
    answer_until_summary,
    cases_of,
    new_sender,
    place_answered,
    texts,
)
from tests.servers import Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


async def test_open_conversations_continue_after_a_rasa_restart(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RASA_URL", stack.rasa_url)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", stack.db_url)
    at_location, at_phone, at_summary, done = (
        new_sender(tag) for tag in ("at-location", "at-phone", "at-summary", "done")
    )
    # Four residents, each at a different step when Rasa dies.
    first = texts(stack.say(at_location, DESCRIPTION))
    if "哪一类" in first:
        stack.say(at_location, '/choose_category{"category": "city_management"}')
    first = texts(stack.say(at_phone, DESCRIPTION))
    if "哪一类" in first:
        stack.say(at_phone, '/choose_category{"category": "city_management"}')
    assert "电话" in place_answered(lambda text: texts(stack.say(at_phone, text)))
    answer_until_summary(stack, at_summary)
    answer_until_summary(stack, done)
    before = CASE_NUMBER.findall(texts(stack.say(done, "/affirm")))[0]

    stack.stop("rasa", signal.SIGKILL)
    busy = await gateway.relay(at_summary, "/affirm", source_id="restart-affirm-1")
    assert len(busy) == 1 and "系统繁忙" in busy[0].text and "12343" in busy[0].text
    with transaction(stack.db_url) as session:
        kept = session.scalars(
            select(ConversationMessage).where(ConversationMessage.source_id == "restart-affirm-1")
        ).one()
        assert kept.needs_attention and kept.text == "/affirm"
    stack.start_rasa()

    # Each continues at its own step, with what it said before the restart.
    assert "电话" in place_answered(lambda text: texts(stack.say(at_location, text)))
    assert "称呼" in texts(stack.say(at_location, PHONE))
    assert "称呼" in texts(stack.say(at_phone, PHONE))
    summary = texts(stack.say(at_phone, NAME))
    assert DESCRIPTION in summary and LOCATION in summary and "138****5678" in summary
    assert "请核对登记信息" in texts(stack.say(at_location, NAME))
    numbers = {before}
    for sender in (at_summary, at_location, at_phone):
        reply = texts(stack.say(sender, "/affirm"))
        found = CASE_NUMBER.findall(reply)
        assert found, (sender, reply)
        numbers.add(found[0])
        assert [c.number for c in cases_of(stack.db_url, sender)] == [found[0]]
    assert len(numbers) == 4
    # The resident who had finished before the restart still has exactly one case.
    assert [c.number for c in cases_of(stack.db_url, done)] == [before]
