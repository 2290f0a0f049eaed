"""Phone and location sharing fill the assistant's slots; only the sender's own contact counts."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hotline.db import transaction
from hotline.models import ConversationMessage
from tests.bot.conftest import CHAT, Harness

pytestmark = pytest.mark.timeout(60)


def _entities(message: str, intent: str = "/inform") -> dict[str, object]:
    assert message.startswith(intent + "{")
    return dict(json.loads(message[len(intent) :]))


async def test_own_contact_fills_the_phone(bot: Harness) -> None:
    bot.tg.push_update(bot.tg.contact_message(CHAT, "8613812345678", CHAT))
    await bot.reply("收到：/inform")
    [message] = bot.rasa.messages(f"tg:{CHAT}")
    assert message == '/inform{"phone": "13812345678"}'
    with transaction(bot.db_url) as session:
        stored = session.scalars(select(ConversationMessage.text)).first()
    assert stored == "[分享手机号] 138****5678"  # the record keeps it masked


async def test_someone_elses_contact_is_refused(bot: Harness) -> None:
    bot.tg.push_update(bot.tg.contact_message(CHAT, "8613912345678", 999))
    reply = await bot.reply("本人")
    assert reply["reply_markup"]["keyboard"][2][0]["request_contact"] is True
    since = bot.mark()
    bot.tg.push_update(bot.tg.contact_message(CHAT, "8613912345678", None))  # no account
    await bot.reply("本人", since=since)
    assert bot.rasa.messages() == []


async def test_location_fills_coordinates_and_readable_text(bot: Harness) -> None:
    bot.tg.push_update(bot.tg.location_message(CHAT, 30.592849, 114.305539))
    await bot.reply("收到：/inform")
    entities = _entities(bot.rasa.messages()[0])
    assert entities == {
        "location": "位置：纬度 30.5928，经度 114.3055",
        "latitude": 30.592849,
        "longitude": 114.305539,
    }
