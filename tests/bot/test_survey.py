"""Follow-up survey: buttons after resolve, the rating goes to the assistant, 不满意 reopens."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from bot.background import close_unanswered_surveys
from hotline.casework import followup
from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, apply_action, case_events, get_case
from hotline.db import transaction
from hotline.models import utcnow
from tests.bot.conftest import CHAT, Harness, start_bot
from tests.bot.fake_rasa import FakeRasa
from tests.bot.helpers import act, new_case
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.timeout(60)


def _resolve(db_url: str, number: str, resolution: str = "路灯已经修好") -> None:
    act(db_url, number, "accept")
    act(db_url, number, "dispatch")
    act(db_url, number, "start")
    act(db_url, number, "resolve", resolution)


async def test_dissatisfied_reopens_the_case(bot: Harness) -> None:
    number = new_case(bot.db_url)

    def assistant(request: dict[str, Any]) -> list[dict[str, Any]]:
        """What the assistant's rate_case action does with the rating."""
        message = request["message"]
        assert message.startswith("/rate_case")
        entities = json.loads(message[len("/rate_case") :])
        with transaction(bot.db_url) as session:
            case = get_case(session, entities["case_number"])
            apply_action(
                session,
                case,
                "rate",
                Actor.resident(request["sender"]),
                ActionInput(rating=entities["rating"]),
            )
        return [{"text": "很抱歉没有让您满意，工单已重新办理。请说说哪里不满意？"}]

    bot.rasa.responder = assistant
    _resolve(bot.db_url, number)
    survey = await bot.reply("请您对本次办理进行评价")
    assert number in survey["text"] and "路灯已经修好" in survey["text"]
    # Status notices came first, in order, each with the case number.
    texts = [m["text"] for m in bot.tg.sent_messages(CHAT)]
    assert [number in t for t in texts] == [True] * len(texts)
    assert "已受理" in texts[0] and "办结" in texts[-1]

    keyboard = survey["reply_markup"]["inline_keyboard"]
    buttons = {b["text"]: b["callback_data"] for row in keyboard for b in row}
    assert list(buttons) == ["非常满意", "满意", "基本满意", "不满意"]

    since = bot.mark()
    bot.tg.push_update(
        bot.tg.callback_query(CHAT, buttons["不满意"], message_id=survey["message_id"])
    )
    await bot.reply("重新办理", since=since)
    assert bot.rasa.messages() == [
        f'/rate_case{{"case_number": "{number}", "rating": "dissatisfied"}}'
    ]
    with transaction(bot.db_url) as session:
        case = get_case(session, number)
        assert case.status == "in_progress"
        assert case.satisfaction == "dissatisfied" and case.flagged and case.reopen_count == 1


def test_unanswered_survey_is_closed_after_three_days(db_url: str) -> None:
    old, recent, rated = new_case(db_url), new_case(db_url), new_case(db_url)
    for number in (old, recent, rated):
        _resolve(db_url, number)
    with transaction(db_url) as session:
        get_case(session, old).resolved_at = utcnow() - timedelta(days=3, minutes=1)
        get_case(session, recent).resolved_at = utcnow() - timedelta(days=2)
        rated_case = get_case(session, rated)
        rated_case.resolved_at = utcnow() - timedelta(days=5)
        apply_action(
            session, rated_case, "rate", Actor.resident("tg:1"), ActionInput(rating="satisfied")
        )
    with transaction(db_url) as session:
        assert followup.close_unanswered(session) == [old]
    with transaction(db_url) as session:
        case = get_case(session, old)
        assert case.status == "closed" and case.satisfaction is None
        event = case_events(session, case)[-1]
        assert (event.action, event.actor_kind, event.actor) == ("close", "system", "followup")
        assert "3 天未获答复" in (event.note or "")
        assert get_case(session, recent).status == "resolved"


async def test_the_bot_runs_the_close_periodically(
    tg: FakeTelegram, rasa: FakeRasa, db_url: str
) -> None:
    number = new_case(db_url)
    _resolve(db_url, number)
    async with start_bot(tg, rasa, db_url, followup_poll_seconds=0.1):
        with transaction(db_url) as session:
            get_case(session, number).resolved_at = utcnow() - timedelta(days=4)
        for _ in range(100):
            with transaction(db_url) as session:
                if get_case(session, number).status == "closed":
                    break
            await asyncio.sleep(0.05)
    with transaction(db_url) as session:
        assert get_case(session, number).status == "closed"
    assert await close_unanswered_surveys() == []
