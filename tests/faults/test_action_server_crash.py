"""The action server dies (SIGKILL): mid-form, and right after it committed a case.

Through the resident's path (``hotline.channels.gateway.relay``, as the web chat and the Telegram
bot use it) against the real Rasa server and action server.
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
    proxied_actions,
)
from tests.servers import Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture()
def gateway_env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """The gateway in this process talks to the stack and stores into its case database."""
    monkeypatch.setenv("RASA_URL", stack.rasa_url)
    monkeypatch.setenv("HOTLINE_DATABASE_URL", stack.db_url)
    return stack


async def say(sender: str, message: str) -> str:
    """One message through the gateway; the replies' texts."""
    return "\n".join(r.text for r in await gateway.relay(sender, message))


async def test_killed_mid_form_then_restarted(gateway_env: Stack) -> None:
    stack = gateway_env
    sender = new_sender("kill-mid-form")
    first = await say(sender, DESCRIPTION)
    if "哪一类" in first:
        first = await say(sender, '/choose_category{"category": "city_management"}')
    assert "在哪里" in first

    stack.stop("actions", signal.SIGKILL)
    # Rasa itself answers nothing: the form's action failed and its events were dropped.
    assert stack.say(new_sender("rest-probe"), DESCRIPTION) == []
    # The resident is told in Chinese, and the message is flagged for an operator.
    down = await say(sender, LOCATION)
    assert "没能处理您的消息" in down and "再发送一次" in down and "12343" in down
    with transaction(stack.db_url) as session:
        flagged = session.scalars(
            select(ConversationMessage.needs_attention)
            .where(ConversationMessage.sender_id == sender)
            .where(ConversationMessage.text == LOCATION)
        ).all()
        assert flagged == [True]

    stack.start_actions()
    # The conversation continues from the saved tracker: the location is asked for again.
    assert "电话" in await say(sender, LOCATION)
    assert "称呼" in await say(sender, PHONE)
    summary = await say(sender, NAME)
    assert "请核对登记信息" in summary and DESCRIPTION in summary and LOCATION in summary
    done = await say(sender, "/affirm")
    numbers = CASE_NUMBER.findall(done)
    assert numbers, done
    await say(sender, "/affirm")  # confirming again creates nothing
    assert [c.number for c in cases_of(stack.db_url, sender)] == [numbers[0]]


async def test_killed_after_the_commit_before_rasa_heard_back(gateway_env: Stack) -> None:
    stack = gateway_env
    sender = new_sender("kill-after-commit")
    with proxied_actions(stack) as proxy:
        answer_until_summary(stack, sender)

        def crash() -> None:
            stack.procs["actions"].send_signal(signal.SIGKILL)

        proxy.drop_after, proxy.on_drop = "action_submit_case", crash
        # The case is committed, then the action server dies before Rasa gets its answer.
        reply = await say(sender, "/affirm")
        assert proxy.dropped == ["action_submit_case"]
        [case] = cases_of(stack.db_url, sender)
        # The gateway finds the case the resident was never told about and gives its number.
        assert case.number in reply and "登记成功" in reply and "不需要重复提交" in reply

        stack.procs["actions"].wait(timeout=30)
        stack.start_actions()
        # Confirming again, or the next empty turn, neither logs nor announces it twice.
        again = await say(sender, "/affirm")
        assert case.number not in again
        assert [c.number for c in cases_of(stack.db_url, sender)] == [case.number]
