"""Operators' group: new urgent cases posted with 受理; only linked operators may press it."""

from __future__ import annotations

import pytest

from hotline.casework.cases import case_events, get_case
from hotline.db import transaction
from tests.bot.conftest import Harness, start_bot
from tests.bot.fake_rasa import FakeRasa
from tests.bot.helpers import enqueue, new_case, operator
from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.timeout(60)

GROUP = -100777


async def test_urgent_case_posted_and_accepted_by_linked_operator(
    tg: FakeTelegram, rasa: FakeRasa, db_url: str
) -> None:
    operator(db_url, "alice", telegram_user_id=555)
    async with start_bot(tg, rasa, db_url, operator_chat_id=GROUP):
        normal = new_case(db_url)
        urgent = new_case(db_url, urgency="emergency", description="小区燃气管道漏气，味道很大")
        alert = await tg.wait_for_message_async(GROUP, urgent, timeout=10)
        assert "紧急工单" in alert["text"] and "燃气" in alert["text"]
        assert "13812345678" not in alert["text"] and "5678" not in alert["text"]
        [[button]] = alert["reply_markup"]["inline_keyboard"]
        assert button["text"] == "受理"

        # Someone not linked to an operator account gets an alert and nothing changes.
        tg.push_update(
            tg.callback_query(GROUP, button["callback_data"], alert["message_id"], user_id=777)
        )
        answer = await tg.wait_for_async(lambda c: tg.calls_to("answerCallbackQuery"))
        assert answer and tg.calls_to("answerCallbackQuery")[0]["show_alert"] is True
        with transaction(db_url) as session:
            assert get_case(session, urgent).status == "new"

        tg.push_update(
            tg.callback_query(GROUP, button["callback_data"], alert["message_id"], user_id=555)
        )
        await tg.wait_for_async(lambda c: len(tg.calls_to("answerCallbackQuery")) >= 2)
        await tg.wait_for_async(lambda c: tg.calls_to("editMessageText"))
        edited = tg.get_message(GROUP, alert["message_id"])
        assert edited is not None and "已由 王芳 受理" in edited["text"]
        with transaction(db_url) as session:
            case = get_case(session, urgent)
            assert case.status == "accepted"
            event = case_events(session, case)[-1]
            assert (event.action, event.actor_kind, event.actor) == ("accept", "operator", "alice")
        # A later urgent case: once it is posted, the alert loop has looked at every case above.
        marker = new_case(db_url, urgency="urgent", description="整栋楼停水两天了")
        await tg.wait_for_message_async(GROUP, marker, timeout=10)
    # The normal case was never posted, the first urgent one once.
    posted = [m["text"] for m in tg.sent_messages(GROUP)]
    assert len(posted) == 2 and not any(normal in text for text in posted)
    assert sum(urgent in text for text in posted) == 1


async def test_no_group_no_posts(bot: Harness, tg: FakeTelegram, db_url: str) -> None:
    urgent = new_case(db_url, urgency="urgent")
    # No alert loop runs without a group; the outbox loop, which does run, delivers a marker.
    work = bot.app.bot_data["background"]
    assert [task.get_name() for task in work._tasks] == ["outbox", "followup"]
    marker = enqueue(db_url, "标记消息")
    await bot.reply("标记消息")
    assert marker and not any(urgent in m.get("text", "") for m in tg.sent_messages())
    assert tg.sent_messages(GROUP) == []


@pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_link_operator_by_cli(engine: str, request: pytest.FixtureRequest) -> None:
    from hotline.channels.operator_alerts import staff_for_channel_user
    from hotline.cli import main
    from hotline.models import User

    url = request.getfixturevalue("db_url" if engine == "sqlite" else "pg_url")
    operator(url, "alice")
    operator(url, "bob")
    big_id = 7_123_456_789  # Telegram user ids do not fit 32 bits
    assert main(["telegram", "link", "alice", str(big_id)]) == 0
    assert main(["telegram", "link", "bob", str(big_id)]) == 1  # already linked to alice
    with transaction(url) as session:
        user = staff_for_channel_user(session, big_id)
        assert user is not None and user.username == "alice"
        session.get(User, user.id).active = False  # type: ignore[union-attr]
    with transaction(url) as session:
        assert staff_for_channel_user(session, big_id) is None  # disabled accounts may not
    assert main(["telegram", "unlink", "alice"]) == 0
    assert main(["telegram", "close-unanswered"]) == 0
