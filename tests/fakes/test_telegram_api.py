"""Tests proving the fake Telegram Bot API works with the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from .telegram_api import FakeTelegram, UploadedFile, WaitTimeout

pytestmark = pytest.mark.timeout(15)

TOKEN = "123:ABC"
CHAT = 42
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def build_app(fake: FakeTelegram) -> Application:
    return (
        Application.builder()
        .token(TOKEN)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )


@contextlib.asynccontextmanager
async def polling(application: Application) -> AsyncIterator[Application]:
    """Run the application with long polling against the fake, like run_polling() does."""
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.05, timeout=1)
        await application.start()
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()


async def test_get_me_and_send_message(fake: FakeTelegram) -> None:
    application = build_app(fake)
    async with application:  # initialize() calls getMe
        assert application.bot.username == "hotline_test_bot"
        assert application.bot.id == 123
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("是", callback_data="yes")]])
        message = await application.bot.send_message(CHAT, "你好，世界", reply_markup=keyboard)
        plain = await application.bot.send_message(
            CHAT, "123", reply_markup=ReplyKeyboardMarkup([["A"]])
        )

    assert message.text == "你好，世界"
    assert message.chat.id == CHAT
    assert message.reply_markup == keyboard
    assert message.from_user is not None and message.from_user.is_bot
    assert plain.text == "123"  # numeric-looking text stays a string
    assert plain.reply_markup is None  # only inline keyboards are echoed, as in Telegram
    assert plain.message_id > message.message_id
    sent = fake.sent_messages(CHAT)
    assert [m["text"] for m in sent] == ["你好，世界", "123"]
    assert sent[0]["chat_id"] == CHAT
    assert sent[0]["message_id"] == message.message_id
    assert sent[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "yes"
    assert sent[1]["reply_markup"] == {"keyboard": [[{"text": "A"}]]}
    assert fake.sent_messages(7) == []
    assert [call.method for call in fake.calls] == ["getMe", "sendMessage", "sendMessage"]


async def test_polling_echo_and_command(fake: FakeTelegram) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        lang = update.effective_user.language_code
        await update.effective_message.reply_text(f"welcome {context.args} {lang}")

    application = build_app(fake)
    application.add_handler(CommandHandler("start", start))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with polling(application):
        fake.push_update(fake.text_message(CHAT, "你好"))
        reply = await fake.wait_for_message_async(CHAT, "echo: 你好")
        fake.push_update(fake.text_message(CHAT, "/start case-7"))
        await fake.wait_for_message_async(CHAT, "welcome ['case-7'] zh-hans")

    assert reply["chat_id"] == CHAT
    assert fake.pending_update_count == 0  # Updater.stop() confirmed the last update
    methods = {call.method for call in fake.calls}
    assert {"getMe", "deleteWebhook", "getUpdates", "sendMessage"} <= methods
    with pytest.raises(WaitTimeout):
        await fake.wait_for_message_async(CHAT, "never sent", timeout=0.1)


async def test_duplicate_delivery(fake: FakeTelegram) -> None:
    seen: list[int] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update.update_id)
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"got {len(seen)}")

    application = fake.application_builder(TOKEN).build()  # same as build_app()
    application.add_handler(MessageHandler(filters.TEXT, record))
    async with polling(application):
        update = fake.text_message(CHAT, "重复")
        update_id = fake.push_update(update)
        await fake.wait_for_message_async(CHAT, "got 1")
        assert fake.push_update({**update, "update_id": update_id}) == update_id
        await fake.wait_for_message_async(CHAT, "got 2")

    assert seen == [update_id, update_id]


async def test_inline_button_press(fake: FakeTelegram) -> None:
    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("收到")
        await query.edit_message_text(f"已选择: {query.data}")

    application = build_app(fake)
    application.add_handler(CallbackQueryHandler(on_button))
    async with polling(application):
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton("是", callback_data="yes")], [InlineKeyboardButton("否", "no")]]
        )
        message = await application.bot.send_message(CHAT, "请选择", reply_markup=keyboard)
        fake.push_update(fake.callback_query(CHAT, "yes"))  # presses on the last bot message
        edit = await fake.wait_for_async(lambda calls: fake.calls_to("editMessageText"))

    assert edit[0]["message_id"] == message.message_id
    answers = fake.calls_to("answerCallbackQuery")
    assert answers[0]["text"] == "收到"
    stored = fake.get_message(CHAT, message.message_id)
    assert stored is not None
    assert stored["text"] == "已选择: yes"
    assert "reply_markup" not in stored  # editMessageText without markup drops the keyboard


async def test_edit_errors_and_reply_markup(fake: FakeTelegram) -> None:
    application = build_app(fake)
    async with application:
        bot = application.bot
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="ok")]])
        message = await bot.send_message(CHAT, "待确认", reply_markup=keyboard)
        edited = await bot.edit_message_reply_markup(CHAT, message.message_id)
        assert isinstance(edited, type(message)) and edited.reply_markup is None
        with pytest.raises(BadRequest, match=r"(?i)not modified"):
            await bot.edit_message_reply_markup(CHAT, message.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("x", CHAT, 9999)
        incoming = fake.text_message(CHAT, "用户消息")
        with pytest.raises(BadRequest, match=r"(?i)can't be edited"):
            await bot.edit_message_text("x", CHAT, incoming["message"]["message_id"])
        with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
            await bot.answer_callback_query("999")
        with pytest.raises(BadRequest, match=r"(?i)text is empty"):
            await bot.send_message(CHAT, "")
        assert await bot.delete_message(CHAT, message.message_id)
    assert fake.get_message(CHAT, message.message_id) is None


async def test_get_file_and_download(fake: FakeTelegram) -> None:
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    fake.add_file("photo-1", content, "photos/file_1.png")

    async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        telegram_file = await update.message.photo[-1].get_file()
        data = await telegram_file.download_as_bytearray()
        await update.message.reply_text(f"photo {len(data)} {bytes(data) == content}")

    application = build_app(fake)
    application.add_handler(MessageHandler(filters.PHOTO, on_photo))
    async with polling(application):
        telegram_file = await application.bot.get_file("photo-1")
        assert telegram_file.file_path == f"{fake.base_file_url}{TOKEN}/photos/file_1.png"
        assert telegram_file.file_size == len(content)
        fake.push_update(fake.photo_message(CHAT, "photo-1", len(content), caption="证件"))
        await fake.wait_for_message_async(CHAT, f"photo {len(content)} True")
        with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
            await application.bot.get_file("missing")


async def test_update_builders_parse_in_ptb(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    bot = build_app(fake).bot
    first = fake.text_message(CHAT, "原文")
    message_id = first["message"]["message_id"]
    builders = {
        "contact": fake.contact_message(CHAT, "+8613800138000", CHAT),
        "location": fake.location_message(CHAT, 31.23, 121.47),
        "photo": fake.photo_message(CHAT, "p-1", 1234, width=10, height=20),
        "sticker": fake.sticker_message(CHAT),
        "voice": fake.voice_message(CHAT, "v-1", duration=5),
        "edited": fake.edited_message(CHAT, message_id, "改过了"),
        "group": fake.text_message(-1001, "/help@hotline_test_bot", user_id=5),
        "other": fake.user_message(CHAT, {"document": {"file_id": "d", "file_unique_id": "u"}}),
    }
    parsed: dict[str, Any] = {
        name: Update.de_json({**data, "update_id": i}, bot)
        for i, (name, data) in enumerate(builders.items(), start=1)
    }
    assert parsed["contact"].message.contact.phone_number == "+8613800138000"
    assert parsed["contact"].message.contact.user_id == CHAT
    assert parsed["location"].message.location.latitude == pytest.approx(31.23)
    assert parsed["photo"].message.photo[-1].file_size == 1234
    assert parsed["sticker"].message.sticker.emoji == "👍"
    assert parsed["voice"].message.voice.duration == dtm.timedelta(seconds=5)
    edited = parsed["edited"].edited_message
    assert edited.message_id == message_id and edited.text == "改过了"
    assert edited.edit_date is not None
    group = parsed["group"].message
    assert group.chat.type == "supergroup" and group.from_user.id == 5
    assert group.entities[0].type == "bot_command" and group.entities[0].length == 22
    assert parsed["other"].message.document.file_id == "d"


async def test_long_poll_offset_and_timeout(fake: FakeTelegram) -> None:
    application = build_app(fake)
    async with application:
        bot = application.bot
        task = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.3)
        assert not task.done()
        started = time.monotonic()
        update_id = fake.push_update(fake.text_message(CHAT, "醒来"))
        updates = await asyncio.wait_for(task, timeout=3)
        assert time.monotonic() - started < 1.0  # woke up at once, not after 5 s
        assert [u.update_id for u in updates] == [update_id]
        assert updates[0].message.text == "醒来"

        again = await bot.get_updates(timeout=0)  # not confirmed yet: delivered again
        assert [u.update_id for u in again] == [update_id]
        started = time.monotonic()
        assert await bot.get_updates(offset=update_id + 1, timeout=1) == ()
        assert 0.9 <= time.monotonic() - started < 3
        assert fake.pending_update_count == 0

        ids = [fake.push_update(fake.text_message(CHAT, str(n))) for n in range(3)]
        assert [u.update_id for u in await bot.get_updates(offset=ids[0], limit=2)] == ids[:2]
        latest = await bot.get_updates(offset=-1)  # forget all but the newest
        assert [u.update_id for u in latest] == ids[2:]
        assert fake.pending_update_count == 1


async def test_conflicts(fake: FakeTelegram) -> None:
    application = build_app(fake)
    async with application:
        bot = application.bot
        first = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        async with Bot(TOKEN, base_url=fake.base_url) as second_instance:
            assert await second_instance.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await asyncio.wait_for(first, timeout=3)

        assert await bot.set_webhook("https://example.invalid/hook", secret_token="s3cr3t")
        info = await bot.get_webhook_info()
        assert info.url == "https://example.invalid/hook"
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        fake.push_update(fake.text_message(CHAT, "x"))
        assert (await bot.get_webhook_info()).pending_update_count == 1
        assert await bot.delete_webhook(drop_pending_updates=True)
        assert (await bot.get_webhook_info()).url == ""
        assert fake.pending_update_count == 0


async def test_faults(fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after as timedelta
    application = build_app(fake)
    async with application:
        bot = application.bot
        fake.fail_next("sendMessage", status=429, retry_after=7, times=2)
        for _ in range(2):
            with pytest.raises(RetryAfter) as info:
                await bot.send_message(CHAT, "限流")
            assert info.value.retry_after == dtm.timedelta(seconds=7)

        fake.fail_next("sendMessage", status=502)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(CHAT, "网关")

        fake.fail_next(
            "sendMessage",
            status=403,
            description="Forbidden: bot was blocked by the user",
            chat_id=7,
        )
        await bot.send_message(CHAT, "ok 1")  # other chats are not affected
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(7, "blocked")

        fake.fail_next("sendMessage", delay=1.0)
        with pytest.raises(TimedOut):
            await bot.send_message(CHAT, "slow", read_timeout=0.2)
        await fake.wait_for_message_async(CHAT, "slow", timeout=3)  # handled after the delay
        await bot.send_message(CHAT, "ok 2")

    assert [m["text"] for m in fake.sent_messages(CHAT)] == ["ok 1", "slow", "ok 2"]
    assert len(fake.calls_to("sendMessage")) == 7  # failed attempts are recorded too
    with pytest.raises(ValueError):
        fake.fail_next("sendMessage")


async def test_webhook_commands_and_misc(fake: FakeTelegram) -> None:
    application = build_app(fake)
    async with application:
        bot = application.bot
        commands = [BotCommand("start", "开始"), BotCommand("help", "帮助")]
        assert await bot.set_my_commands(commands)
        assert await bot.set_my_commands([BotCommand("start", "start")], language_code="en")
        assert list(await bot.get_my_commands()) == commands
        with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([BotCommand("Start", "bad")])
        assert await bot.delete_my_commands()
        assert await bot.get_my_commands() == ()
        assert len(await bot.get_my_commands(language_code="en")) == 1
        assert await bot.send_chat_action(CHAT, "typing")
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("noSuchMethod")
        assert await bot.close()
        assert await bot.log_out()


def test_raw_http_envelopes(fake: FakeTelegram) -> None:
    api = f"{fake.base_url}{TOKEN}"
    with httpx.Client(timeout=5) as client:
        fake.fail_next("sendMessage", retry_after=3)
        response = client.post(f"{api}/sendMessage", json={"chat_id": CHAT, "text": "hi"})
        assert response.status_code == 429
        assert response.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        }

        response = client.post(f"{api}/sendMessage", json={"chat_id": CHAT, "text": "json"})
        assert response.json()["ok"] is True
        assert response.json()["result"]["text"] == "json"

        response = client.get(f"{api}/sendmessage", params={"chat_id": CHAT, "text": "true"})
        assert response.json()["result"]["text"] == "true"

        response = client.post(
            f"{api}/sendMessage",
            data={"chat_id": str(CHAT), "text": "多部分"},
            files={"photo": ("a.jpg", b"\xff\xd8", "image/jpeg")},
        )
        assert response.json()["result"]["text"] == "多部分"
        assert fake.calls[-1].params["photo"] == UploadedFile("a.jpg", "image/jpeg", b"\xff\xd8")
        assert fake.calls[-1].method == "sendMessage"

        response = client.post(f"{api}/fooBar")
        assert response.status_code == 404
        assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}

        fake.add_file("f", b"data", "documents/a b.txt")
        assert client.get(f"{fake.base_file_url}{TOKEN}/documents/a%20b.txt").content == b"data"
        assert client.get(f"{fake.base_file_url}{TOKEN}/documents/none").status_code == 404

    assert [m["text"] for m in fake.sent_messages()] == ["json", "true", "多部分"]
    with pytest.raises(RuntimeError):
        asyncio.run(_blocking_wait_inside_loop(fake))


async def _blocking_wait_inside_loop(fake: FakeTelegram) -> None:
    fake.wait_for_message(CHAT, "json", timeout=0.1)


def test_token_check() -> None:
    with FakeTelegram(token=TOKEN) as fake, httpx.Client(timeout=5) as client:
        assert client.post(f"{fake.base_url}{TOKEN}/getMe").json()["ok"] is True
        response = client.post(f"{fake.base_url}999:XYZ/getMe")
        assert response.status_code == 401
        assert response.json()["description"] == "Unauthorized"


def test_sync_wait_helpers(fake: FakeTelegram) -> None:
    with httpx.Client(timeout=5) as client:
        client.post(f"{fake.base_url}{TOKEN}/sendMessage", data={"chat_id": "5", "text": "同步"})
    assert fake.wait_for_message(5, "同步", timeout=1)["message_id"] >= 1
    assert fake.wait_for(lambda calls: calls[-1].method == "sendMessage", timeout=1)
    with pytest.raises(WaitTimeout):
        fake.wait_for_message(5, "同步", timeout=0.1, since=1)


def test_command_line_server() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.telegram_api", "--port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            first_line = process.stdout.readline().strip()
            assert first_line.startswith("FAKE_TELEGRAM_BASE_URL=http://127.0.0.1:")
            base_url = first_line.split("=", 1)[1]
            root = base_url.removesuffix("/bot")
            with httpx.Client(timeout=5) as client:
                assert client.get(f"{base_url}{TOKEN}/getMe").json()["result"]["is_bot"] is True
                pushed = client.post(f"{root}/_fake/text", json={"chat_id": CHAT, "text": "手动"})
                update_id = pushed.json()["result"]
                data = {"timeout": "1"}
                updates = client.post(f"{base_url}{TOKEN}/getUpdates", data=data).json()
                assert updates["result"][0]["update_id"] == update_id
                assert updates["result"][0]["message"]["text"] == "手动"
                calls = client.get(f"{root}/_fake/calls").json()["result"]
                assert [call["method"] for call in calls] == ["getMe", "getUpdates"]
        finally:
            process.terminate()
            process.wait(timeout=5)
