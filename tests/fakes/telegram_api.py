"""A fake Telegram Bot API server for tests.

The server speaks just enough of the Bot API (https://core.telegram.org/bots/api) for the real
python-telegram-bot client to run against it on the loopback interface. It runs
:class:`http.server.ThreadingHTTPServer` in a background thread, so it works both from synchronous
and asynchronous tests, and it can be started by hand::

    python -m tests.fakes.telegram_api --port 8081

Typical use from pytest::

    with FakeTelegram() as fake:
        application = fake.application_builder("123:ABC").build()
        fake.push_update(fake.text_message(42, "你好"))
        ...
        await fake.wait_for_message_async(42, contains="欢迎")

Requests are served at ``/bot<TOKEN>/<method>`` (JSON, urlencoded or multipart bodies, or query
strings) and files at ``/file/bot<TOKEN>/<file_path>``. A small control API under ``/_fake/``
allows pushing updates and reading the recorded calls when the fake runs in its own process.

The fake holds a single update queue, i.e. it models one bot. Message ids are unique across all
chats. Every API call is recorded, including calls answered with an injected fault.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

if TYPE_CHECKING:
    from telegram.ext._applicationbuilder import InitApplicationBuilder

JSONDict = dict[str, Any]
ChatKey = int | str
Handler = Callable[[JSONDict], Any]
T = TypeVar("T")

log = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 4096
_POLL_STEP = 0.02
_API_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z0-9_]+)/?$")
_FILE_PATH = re.compile(r"^/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
# Form fields whose values are plain strings even if they look like JSON ("123", "true", "[1]").
_STRING_FIELDS = frozenset(
    {
        "action",
        "address",
        "animation",
        "audio",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "data",
        "description",
        "document",
        "emoji",
        "file_id",
        "first_name",
        "inline_message_id",
        "ip_address",
        "language_code",
        "last_name",
        "message_effect_id",
        "name",
        "parse_mode",
        "phone_number",
        "photo",
        "query",
        "secret_token",
        "short_description",
        "sticker",
        "text",
        "thumbnail",
        "title",
        "url",
        "video",
        "voice",
    }
)


class Call(NamedTuple):
    """One recorded Bot API call."""

    method: str
    params: JSONDict


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, as recorded in the call's params."""

    filename: str
    content_type: str
    content: bytes


class WaitTimeout(AssertionError):
    """Raised by the ``wait_for*`` helpers when the condition is not met in time."""


class ApiError(Exception):
    """An error answered in Telegram's error envelope.

    Custom method handlers (see :meth:`FakeTelegram.register_method`) may raise it.
    """

    def __init__(
        self, status: int, description: str | None = None, retry_after: int | None = None
    ) -> None:
        """Create the error.

        Args:
            status: HTTP status, also used as ``error_code``.
            description: Telegram's description; a default one is derived from ``status``.
            retry_after: Seconds to wait, sent as ``parameters.retry_after`` (for 429).
        """
        if description is None:
            if status == HTTPStatus.TOO_MANY_REQUESTS:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _phrase(status)
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def envelope(self) -> JSONDict:
        """Return the JSON body Telegram would send for this error."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class _Fault:
    method: str  # lower-case method name, or "*" for any method
    status: int | None
    description: str | None
    retry_after: int | None
    delay: float
    chat_id: ChatKey | None
    remaining: int | None  # None: until clear_faults()


@dataclass
class _QueuedUpdate:
    update_id: int
    update: JSONDict
    delivered: bool = False


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"


def _now() -> int:
    return int(time.time())


def _chat_key(value: Any) -> ChatKey:
    """Normalise a chat id (int, numeric string or ``@username``) for lookups."""
    if isinstance(value, bool):
        raise ApiError(400, "Bad Request: chat not found")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_value(name: str, value: str) -> Any:
    """Decode one form value the way PTB encodes it (JSON for everything but strings)."""
    if name in _STRING_FIELDS:
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    if isinstance(decoded, float) and not math.isfinite(decoded):
        return value
    return decoded if isinstance(decoded, dict | list | bool | int | float) else value


def _parse_multipart(content_type: str, body: bytes) -> JSONDict:
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ApiError(400, "Bad Request: invalid multipart body")
    params: JSONDict = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = UploadedFile(filename, part.get_content_type(), content)
        else:
            params[name] = _decode_value(name, content.decode("utf-8"))
    return params


def _parse_body(content_type: str, body: bytes) -> JSONDict:
    """Parse a request body sent as JSON, urlencoded form or multipart form."""
    if not body:
        return {}
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON object") from None
        if not isinstance(data, dict):
            raise ApiError(400, "Bad Request: JSON object expected")
        return data
    if mime == "multipart/form-data":
        return _parse_multipart(content_type, body)
    pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    return {name: _decode_value(name, value) for name, value in pairs}


def _inline_markup(params: JSONDict) -> JSONDict | None:
    """Return ``reply_markup`` if it is an inline keyboard (the only kind Message echoes)."""
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON") from None
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return markup
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeTelegram) -> None:
        super().__init__(address, _RequestHandler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("fake telegram: error serving %s", client_address, exc_info=True)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: no stale keep-alive sockets
    timeout = 30

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake telegram: " + format, *args)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
            status, content_type, payload = self.server.fake._serve(
                self.command, self.path, self.headers.get("Content-Type", ""), body
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, e.g. a cancelled long poll or a client-side timeout


class FakeTelegram:
    """A fake Telegram Bot API server running in a background thread.

    All public methods are thread-safe. Use it as a context manager, or call :meth:`start` and
    :meth:`stop`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        bot_username: str = "hotline_test_bot",
        bot_first_name: str = "Hotline Test Bot",
    ) -> None:
        """Configure the fake; nothing listens until :meth:`start`.

        Args:
            host: Interface to bind, loopback by default.
            port: TCP port; 0 picks a free ephemeral port.
            token: If set, requests with another token get 401 Unauthorized.
            bot_username: ``username`` returned by getMe.
            bot_first_name: ``first_name`` returned by getMe.
        """
        self._host = host
        self._port = port
        self._token = token
        self._bot_username = bot_username
        self._bot_first_name = bot_first_name
        self._cond = threading.Condition()  # guards every mutable attribute below
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._last_token = token or "123:ABC"
        self._calls: list[Call] = []
        self._sent: list[JSONDict] = []
        self._updates: list[_QueuedUpdate] = []
        self._next_update_id = 1
        self._poll_generation = 0
        self._next_message_id = 1
        self._next_callback_id = 1
        self._callback_ids: set[str] = set()
        self._messages: dict[tuple[ChatKey, int], JSONDict] = {}
        self._chats: dict[ChatKey, JSONDict] = {}
        self._files: dict[str, tuple[str, bytes]] = {}
        self._faults: list[_Fault] = []
        self._webhook: JSONDict = {}
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._handlers: dict[str, tuple[str, Handler]] = {}
        builtin: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "answerCallbackQuery": self._answer_callback_query,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "sendChatAction": self._require_chat_ok,
            "getFile": self._get_file,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "close": lambda params: True,
            "logOut": lambda params: True,
        }
        for name, handler in builtin.items():
            self.register_method(name, handler)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeTelegram:
        """Bind the socket and serve in a daemon thread.

        Returns:
            The fake itself, for chaining.
        """
        if self._server is not None:
            raise RuntimeError("FakeTelegram is already running")
        self._stopping.clear()
        self._server = _Server((self._host, self._port), self)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-telegram-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; pending long polls and injected delays end at once."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port (the real one once started with port 0)."""
        return self._port

    @property
    def url(self) -> str:
        """Root URL of the server, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{self._host}:{self._port}"

    @property
    def base_url(self) -> str:
        """Value for PTB's ``base_url`` (the token is appended by PTB)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for PTB's ``base_file_url`` (the token is appended by PTB)."""
        return f"{self.url}/file/bot"

    def application_builder(self, token: str = "123:ABC") -> InitApplicationBuilder:
        """Return a PTB ``ApplicationBuilder`` pointed at this fake.

        Args:
            token: Bot token to use.

        Returns:
            A builder with token, ``base_url`` and ``base_file_url`` set.
        """
        from telegram.ext import Application

        return (
            Application.builder()
            .token(token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
        )

    # ------------------------------------------------------------------ updates

    def push_update(self, update: Mapping[str, Any]) -> int:
        """Queue an update for getUpdates and wake pending long polls.

        Args:
            update: An Update object, with or without ``update_id``. Pushing an ``update_id``
                again queues a duplicate delivery, delivered even if that id was confirmed.

        Returns:
            The update_id of the queued update.
        """
        data = copy.deepcopy(dict(update))
        with self._cond:
            if data.get("update_id") is None:
                data["update_id"] = self._next_update_id
            update_id = int(data["update_id"])
            self._next_update_id = max(self._next_update_id, update_id + 1)
            self._updates.append(_QueuedUpdate(update_id, data))
            self._cond.notify_all()
        return update_id

    @property
    def pending_update_count(self) -> int:
        """Number of queued updates not yet confirmed by getUpdates."""
        with self._cond:
            return len(self._updates)

    def user_message(
        self,
        chat_id: int,
        fields: Mapping[str, Any],
        *,
        user_id: int | None = None,
        first_name: str = "测试",
        language_code: str = "zh-hans",
    ) -> JSONDict:
        """Build a ``message`` update sent by a user, with arbitrary content fields.

        Args:
            chat_id: Chat id; positive ids are private chats, negative ids groups.
            fields: Message content, e.g. ``{"text": "hi"}`` or ``{"document": {...}}``.
            user_id: Sender id; defaults to ``chat_id`` for private chats.
            first_name: Sender's first name.
            language_code: Sender's IETF language tag.

        Returns:
            An Update dict without ``update_id``, ready for :meth:`push_update`.
        """
        with self._cond:
            message = self._new_message(
                chat_id, self._user(chat_id, user_id, first_name, language_code), fields
            )
        return {"message": message}

    def text_message(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        first_name: str = "测试",
        language_code: str = "zh-hans",
    ) -> JSONDict:
        """Build a text message update; ``/commands`` get a bot_command entity.

        Args:
            chat_id: Chat id.
            text: Message text.
            user_id: Sender id; defaults to ``chat_id`` for private chats.
            first_name: Sender's first name.
            language_code: Sender's IETF language tag.

        Returns:
            An Update dict without ``update_id``.
        """
        fields: JSONDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            fields["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return self.user_message(
            chat_id, fields, user_id=user_id, first_name=first_name, language_code=language_code
        )

    def contact_message(
        self, chat_id: int, phone_number: str, contact_user_id: int | None, **sender: Any
    ) -> JSONDict:
        """Build a shared-contact message update.

        Args:
            chat_id: Chat id.
            phone_number: The contact's phone number.
            contact_user_id: Telegram user id of the contact (the sender's own id when they
                share their own number), or None for a contact without account.
            **sender: ``user_id``, ``first_name``, ``language_code`` as in :meth:`user_message`.

        Returns:
            An Update dict without ``update_id``.
        """
        contact: JSONDict = {
            "phone_number": phone_number,
            "first_name": sender.get("first_name", "测试"),
        }
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return self.user_message(chat_id, {"contact": contact}, **sender)

    def location_message(
        self, chat_id: int, latitude: float, longitude: float, **sender: Any
    ) -> JSONDict:
        """Build a location message update.

        Args:
            chat_id: Chat id.
            latitude: Latitude in degrees.
            longitude: Longitude in degrees.
            **sender: As in :meth:`user_message`.

        Returns:
            An Update dict without ``update_id``.
        """
        location = {"latitude": latitude, "longitude": longitude}
        return self.user_message(chat_id, {"location": location}, **sender)

    def photo_message(
        self,
        chat_id: int,
        file_id: str,
        file_size: int,
        *,
        width: int = 1280,
        height: int = 960,
        caption: str | None = None,
        **sender: Any,
    ) -> JSONDict:
        """Build a photo message update (a single PhotoSize); see :meth:`add_file`.

        Args:
            chat_id: Chat id.
            file_id: File id of the photo.
            file_size: Reported size in bytes.
            width: Photo width.
            height: Photo height.
            caption: Optional caption.
            **sender: As in :meth:`user_message`.

        Returns:
            An Update dict without ``update_id``.
        """
        size = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": file_size,
            "width": width,
            "height": height,
        }
        fields: JSONDict = {"photo": [size]}
        if caption is not None:
            fields["caption"] = caption
        return self.user_message(chat_id, fields, **sender)

    def sticker_message(
        self, chat_id: int, file_id: str = "sticker-1", *, emoji: str = "👍", **sender: Any
    ) -> JSONDict:
        """Build a sticker message update.

        Args:
            chat_id: Chat id.
            file_id: File id of the sticker.
            emoji: Emoji of the sticker.
            **sender: As in :meth:`user_message`.

        Returns:
            An Update dict without ``update_id``.
        """
        sticker = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self.user_message(chat_id, {"sticker": sticker}, **sender)

    def voice_message(
        self,
        chat_id: int,
        file_id: str,
        *,
        duration: int = 3,
        file_size: int = 4096,
        mime_type: str = "audio/ogg",
        **sender: Any,
    ) -> JSONDict:
        """Build a voice message update.

        Args:
            chat_id: Chat id.
            file_id: File id of the recording.
            duration: Duration in seconds.
            file_size: Reported size in bytes.
            mime_type: MIME type.
            **sender: As in :meth:`user_message`.

        Returns:
            An Update dict without ``update_id``.
        """
        voice = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "duration": duration,
            "file_size": file_size,
            "mime_type": mime_type,
        }
        return self.user_message(chat_id, {"voice": voice}, **sender)

    def edited_message(self, chat_id: int, message_id: int, text: str, **sender: Any) -> JSONDict:
        """Build an ``edited_message`` update for a (usually earlier pushed) user message.

        Args:
            chat_id: Chat id.
            message_id: Id of the edited message; unknown ids produce a fresh message.
            text: The new text.
            **sender: As in :meth:`user_message` (used when the message is unknown).

        Returns:
            An Update dict without ``update_id``.
        """
        with self._cond:
            key = (_chat_key(chat_id), message_id)
            original = self._messages.get(key)
            if original is None:
                user = self._user(
                    chat_id,
                    sender.get("user_id"),
                    sender.get("first_name", "测试"),
                    sender.get("language_code", "zh-hans"),
                )
                original = self._new_message(chat_id, user, {}, message_id=message_id)
            edited = {**original, "text": text, "edit_date": _now()}
            self._messages[key] = edited
            return {"edited_message": copy.deepcopy(edited)}

    def callback_query(
        self,
        chat_id: int,
        data: str,
        message_id: int | None = None,
        **sender: Any,
    ) -> JSONDict:
        """Build a ``callback_query`` update, i.e. a press on an inline button.

        Args:
            chat_id: Chat id.
            data: The button's callback_data.
            message_id: The bot message carrying the button; defaults to the last message the
                bot sent to the chat. Unknown messages are synthesised.
            **sender: As in :meth:`user_message`.

        Returns:
            An Update dict without ``update_id``.
        """
        with self._cond:
            user = self._user(
                chat_id,
                sender.get("user_id"),
                sender.get("first_name", "测试"),
                sender.get("language_code", "zh-hans"),
            )
            key = _chat_key(chat_id)
            if message_id is None:
                message_id = next(
                    (m["message_id"] for m in reversed(self._sent) if m["_chat"] == key), None
                )
            message = self._messages.get((key, message_id)) if message_id is not None else None
            if message is None:
                message = self._new_message(
                    chat_id, self._bot_user(), {"text": "…"}, message_id=message_id
                )
            query_id = str(self._next_callback_id)
            self._next_callback_id += 1
            self._callback_ids.add(query_id)
            query = {
                "id": query_id,
                "from": user,
                "message": copy.deepcopy(message),
                "chat_instance": str(chat_id),
                "data": data,
            }
        return {"callback_query": query}

    def add_file(self, file_id: str, content: bytes, file_path: str | None = None) -> str:
        """Register a file for getFile and download.

        Args:
            file_id: File id the bot will ask for.
            content: The file's bytes.
            file_path: Path below ``/file/bot<TOKEN>/``; defaults to ``documents/<file_id>``.

        Returns:
            The file path.
        """
        path = file_path or f"documents/{file_id}"
        with self._cond:
            self._files[file_id] = (path, bytes(content))
        return path

    # ------------------------------------------------------------------ inspection

    @property
    def calls(self) -> list[Call]:
        """Snapshot of all recorded calls ``(method, params)`` in arrival order."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[JSONDict]:
        """Return the params of all recorded calls of one method (case-insensitive).

        Args:
            method: Bot API method name, e.g. ``"answerCallbackQuery"``.

        Returns:
            The params dicts in arrival order.
        """
        wanted = method.lower()
        return [call.params for call in self.calls if call.method.lower() == wanted]

    def sent_messages(self, chat_id: ChatKey | None = None) -> list[JSONDict]:
        """Return the params of successful sendMessage calls, plus the assigned ``message_id``.

        Args:
            chat_id: Only messages to this chat; all chats if None.

        Returns:
            Copies of the params dicts, oldest first.
        """
        key = None if chat_id is None else _chat_key(chat_id)
        with self._cond:
            return [
                {k: v for k, v in sent.items() if k != "_chat"}
                for sent in self._sent
                if key is None or sent["_chat"] == key
            ]

    def get_message(self, chat_id: ChatKey, message_id: int) -> JSONDict | None:
        """Return the current state of a known message (sent, pushed or edited).

        Args:
            chat_id: Chat id.
            message_id: Message id.

        Returns:
            A copy of the Message dict, or None if unknown or deleted.
        """
        with self._cond:
            message = self._messages.get((_chat_key(chat_id), message_id))
            return copy.deepcopy(message)

    def wait_for(self, predicate: Callable[[list[Call]], T], timeout: float = 5.0) -> T:
        """Block until ``predicate(calls)`` is truthy; only for code outside an event loop.

        Args:
            predicate: Called with a snapshot of :attr:`calls`.
            timeout: Seconds to wait.

        Returns:
            The predicate's truthy result.

        Raises:
            WaitTimeout: If the predicate stays falsy.
            RuntimeError: If called inside a running event loop (use :meth:`wait_for_async`).
        """
        return self._wait_sync(lambda: predicate(self.calls), timeout, "predicate")

    async def wait_for_async(self, predicate: Callable[[list[Call]], T], timeout: float = 5.0) -> T:
        """Like :meth:`wait_for`, but yields to the event loop while waiting.

        Args:
            predicate: Called with a snapshot of :attr:`calls`.
            timeout: Seconds to wait.

        Returns:
            The predicate's truthy result.

        Raises:
            WaitTimeout: If the predicate stays falsy.
        """
        return await self._wait_async(lambda: predicate(self.calls), timeout, "predicate")

    def wait_for_message(
        self,
        chat_id: ChatKey | None = None,
        contains: str | None = None,
        timeout: float = 5.0,
        since: int = 0,
    ) -> JSONDict:
        """Block until the bot sent a matching message; only for code outside an event loop.

        Args:
            chat_id: Chat the message went to; any chat if None.
            contains: Substring of the text; any text if None.
            timeout: Seconds to wait.
            since: Skip the first ``since`` entries of ``sent_messages()`` (all chats), e.g.
                ``len(fake.sent_messages())`` taken before the action under test.

        Returns:
            The params of the first matching sendMessage (see :meth:`sent_messages`).

        Raises:
            WaitTimeout: If no such message is sent in time.
        """
        return self._wait_sync(
            self._message_matcher(chat_id, contains, since),
            timeout,
            f"message to chat {chat_id!r} containing {contains!r}",
        )

    async def wait_for_message_async(
        self,
        chat_id: ChatKey | None = None,
        contains: str | None = None,
        timeout: float = 5.0,
        since: int = 0,
    ) -> JSONDict:
        """Like :meth:`wait_for_message`, but yields to the event loop while waiting.

        Args:
            chat_id: Chat the message went to; any chat if None.
            contains: Substring of the text; any text if None.
            timeout: Seconds to wait.
            since: Skip the first ``since`` entries of ``sent_messages()``.

        Returns:
            The params of the first matching sendMessage.

        Raises:
            WaitTimeout: If no such message is sent in time.
        """
        return await self._wait_async(
            self._message_matcher(chat_id, contains, since),
            timeout,
            f"message to chat {chat_id!r} containing {contains!r}",
        )

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        status: int | None = None,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        delay: float = 0.0,
        times: int | None = 1,
        chat_id: ChatKey | None = None,
    ) -> None:
        """Make the next call(s) of a method fail or stall.

        Faults are consumed in the order they were added. The call is recorded either way.
        With ``delay`` only, the request is handled normally after the delay (its side effects
        happen even if the client has timed out, as with a slow real server).

        Args:
            method: Bot API method name (case-insensitive), or ``"*"`` for any method.
            status: HTTP status / error_code to answer, e.g. 429, 400, 403, 502. Defaults to 429
                when ``retry_after`` is given.
            retry_after: Seconds for ``parameters.retry_after`` (PTB raises RetryAfter).
            description: Telegram description; derived from ``status`` if None.
            delay: Seconds to wait before answering.
            times: How many calls are affected; None for all until :meth:`clear_faults`.
            chat_id: Only calls whose ``chat_id`` param is this chat.

        Raises:
            ValueError: If neither a status nor a delay is given.
        """
        if status is None and retry_after is not None:
            status = HTTPStatus.TOO_MANY_REQUESTS
        if status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        if status is None and delay <= 0:
            raise ValueError("fail_next() needs a status, retry_after or delay")
        fault = _Fault(
            method=method.lower(),
            status=None if status is None else int(status),
            description=description,
            retry_after=retry_after,
            delay=delay,
            chat_id=None if chat_id is None else _chat_key(chat_id),
            remaining=times,
        )
        with self._cond:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        """Remove all pending injected faults."""
        with self._cond:
            self._faults.clear()

    def register_method(self, name: str, handler: Handler) -> None:
        """Add or replace a Bot API method.

        Args:
            name: Method name as in the Bot API docs, e.g. ``"sendPhoto"``.
            handler: Called (in a server thread) with the decoded params; returns the JSON
                ``result`` or raises :class:`ApiError`.
        """
        with self._cond:
            self._handlers[name.lower()] = (name, handler)

    # ------------------------------------------------------------------ HTTP plumbing

    def _serve(
        self, verb: str, raw_path: str, content_type: str, body: bytes
    ) -> tuple[int, str, bytes]:
        """Answer one HTTP request; returns (status, content type, body)."""
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        try:
            if match := _API_PATH.match(path):
                params = {
                    name: _decode_value(name, value)
                    for name, value in parse_qsl(parts.query, keep_blank_values=True)
                }
                params.update(_parse_body(content_type, body))
                result = self._call_api(match["token"], match["method"], params)
                return self._json(200, {"ok": True, "result": result})
            if verb == "GET" and (match := _FILE_PATH.match(path)):
                return self._download(match["token"], match["path"])
            if path.startswith("/_fake/"):
                return self._json(200, {"ok": True, "result": self._control(verb, parts, body)})
            raise ApiError(404, "Not Found")
        except ApiError as exc:
            return self._json(exc.status, exc.envelope())
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.debug("fake telegram: bad request %s", raw_path, exc_info=True)
            return self._json(400, ApiError(400, f"Bad Request: {exc}").envelope())

    @staticmethod
    def _json(status: int, body: Any) -> tuple[int, str, bytes]:
        payload = json.dumps(body, ensure_ascii=False, default=repr).encode("utf-8")
        return status, "application/json", payload

    def _call_api(self, token: str, method: str, params: JSONDict) -> Any:
        with self._cond:
            name, handler = self._handlers.get(method.lower(), (method, None))
            self._calls.append(Call(name, params))
            if self._token is not None and token != self._token:
                raise ApiError(401, "Unauthorized")
            self._last_token = token
            fault = self._take_fault(name, params)
        log.info("fake telegram: %s %s", name, params)
        if fault is not None:
            if fault.delay > 0:
                self._stopping.wait(fault.delay)
            if fault.status is not None:
                raise ApiError(fault.status, fault.description, fault.retry_after)
        if handler is None:
            raise ApiError(404, "Not Found")
        return handler(params)

    def _take_fault(self, method: str, params: JSONDict) -> _Fault | None:
        for fault in self._faults:
            if fault.method not in ("*", method.lower()):
                continue
            if fault.chat_id is not None and (
                "chat_id" not in params or _chat_key(params["chat_id"]) != fault.chat_id
            ):
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            return fault
        return None

    def _download(self, token: str, file_path: str) -> tuple[int, str, bytes]:
        with self._cond:
            if self._token is not None and token != self._token:
                raise ApiError(401, "Unauthorized")
            for path, content in self._files.values():
                if path == file_path:
                    return 200, "application/octet-stream", content
        raise ApiError(404, "Not Found")

    def _control(self, verb: str, parts: Any, body: bytes) -> Any:
        """Test-control endpoints for a fake running in its own process."""
        action = parts.path[len("/_fake/") :].strip("/")
        data = json.loads(body) if body else {}
        if verb == "GET" and action == "calls":
            return [{"method": c.method, "params": c.params} for c in self.calls]
        if verb == "GET" and action == "sent":
            chat_ids = parse_qs(parts.query).get("chat_id")
            return self.sent_messages(chat_ids[0] if chat_ids else None)
        if verb == "POST" and action == "updates":
            return self.push_update(data)
        if verb == "POST" and action == "text":
            return self.push_update(self.text_message(**data))
        if verb == "POST" and action == "callback":
            return self.push_update(self.callback_query(**data))
        raise ApiError(404, "Not Found")

    # ------------------------------------------------------------------ waiting helpers

    def _message_matcher(
        self, chat_id: ChatKey | None, contains: str | None, since: int
    ) -> Callable[[], JSONDict | None]:
        key = None if chat_id is None else _chat_key(chat_id)

        def match() -> JSONDict | None:
            with self._cond:
                for sent in self._sent[since:]:
                    if key is not None and sent["_chat"] != key:
                        continue
                    if contains is None or contains in str(sent.get("text", "")):
                        return {k: v for k, v in sent.items() if k != "_chat"}
            return None

        return match

    def _timeout_error(self, what: str, timeout: float) -> WaitTimeout:
        recent = "\n".join(f"  {c.method} {c.params}" for c in self.calls[-15:])
        return WaitTimeout(f"no {what} within {timeout}s; last calls:\n{recent}")

    def _wait_sync(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("blocking wait inside an event loop; use the *_async variant")
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise self._timeout_error(what, timeout)
            time.sleep(_POLL_STEP)

    async def _wait_async(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise self._timeout_error(what, timeout)
            await asyncio.sleep(_POLL_STEP)

    # ------------------------------------------------------------------ model (lock held)

    def _bot_user(self) -> JSONDict:
        prefix = self._last_token.split(":", 1)[0]
        return {
            "id": int(prefix) if prefix.isdigit() else 1,
            "is_bot": True,
            "first_name": self._bot_first_name,
            "username": self._bot_username,
        }

    @staticmethod
    def _user(chat_id: int, user_id: int | None, first_name: str, language_code: str) -> JSONDict:
        if user_id is None:
            user_id = chat_id if chat_id > 0 else 1
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }

    def _chat(self, key: ChatKey, sender: JSONDict | None = None) -> JSONDict:
        chat = self._chats.get(key)
        if chat is None:
            if isinstance(key, int) and key > 0:
                first_name = sender["first_name"] if sender else "测试"
                chat = {"id": key, "type": "private", "first_name": first_name}
            elif isinstance(key, int):
                kind = "supergroup" if str(key).startswith("-100") else "group"
                chat = {"id": key, "type": kind, "title": "测试群"}
            else:
                raise ApiError(400, "Bad Request: chat not found")
            self._chats[key] = chat
        return dict(chat)

    def _new_message(
        self,
        chat_id: ChatKey,
        sender: JSONDict,
        fields: Mapping[str, Any],
        message_id: int | None = None,
    ) -> JSONDict:
        key = _chat_key(chat_id)
        if message_id is None:
            message_id = self._next_message_id
        self._next_message_id = max(self._next_message_id, message_id + 1)
        message: JSONDict = {
            "message_id": message_id,
            "date": _now(),
            "chat": self._chat(key, None if sender.get("is_bot") else sender),
            "from": sender,
            **fields,
        }
        self._messages[(key, message_id)] = message
        return copy.deepcopy(message)

    def _require_chat(self, params: JSONDict) -> ChatKey:
        if params.get("chat_id") in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        key = _chat_key(params["chat_id"])
        with self._cond:
            self._chat(key)
        return key

    def _stored_message(self, params: JSONDict) -> tuple[tuple[ChatKey, int], JSONDict]:
        key = self._require_chat(params)
        if params.get("message_id") in (None, ""):
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message_key = (key, int(params["message_id"]))
        message = self._messages.get(message_key)
        return message_key, message if message is not None else {}

    # ------------------------------------------------------------------ Bot API methods

    def _get_me(self, params: JSONDict) -> JSONDict:
        with self._cond:
            return {
                **self._bot_user(),
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }

    def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._webhook.get("url"):
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()  # a pending long poll of another client gets 409
            if offset < 0:
                self._updates = self._updates[offset:]
            elif offset > 0:
                self._updates = [
                    u for u in self._updates if not (u.delivered and u.update_id < offset)
                ]
            while True:
                if self._poll_generation != generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                remaining = deadline - time.monotonic()
                if self._updates or remaining <= 0 or self._stopping.is_set():
                    break
                self._cond.wait(remaining)
            batch = sorted(self._updates, key=lambda u: u.update_id)[:limit]
            for queued in batch:
                queued.delivered = True
            return [copy.deepcopy(queued.update) for queued in batch]

    def _send_message(self, params: JSONDict) -> JSONDict:
        key = self._require_chat(params)
        text = params.get("text")
        if text is None or str(text).strip() == "":
            raise ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        if len(text) > MAX_MESSAGE_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        fields: JSONDict = {"text": text}
        markup = _inline_markup(params)
        if markup is not None:
            fields["reply_markup"] = markup
        with self._cond:
            reply = params.get("reply_parameters")
            if isinstance(reply, dict) and reply.get("message_id") is not None:
                replied = self._messages.get((key, int(reply["message_id"])))
                if replied is not None:
                    fields["reply_to_message"] = copy.deepcopy(replied)
            message = self._new_message(key, self._bot_user(), fields)
            self._sent.append({**params, "message_id": message["message_id"], "_chat": key})
        return message

    def _edit(self, params: JSONDict, new_text: str | None) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        markup = _inline_markup(params)
        with self._cond:
            message_key, message = self._stored_message(params)
            if not message:
                raise ApiError(400, "Bad Request: message to edit not found")
            if not message["from"].get("is_bot"):
                raise ApiError(400, "Bad Request: message can't be edited")
            edited = dict(message)
            if new_text is not None:
                edited["text"] = new_text
            if markup is None:
                edited.pop("reply_markup", None)
            else:
                edited["reply_markup"] = markup
            if edited.get("text") == message.get("text") and edited.get(
                "reply_markup"
            ) == message.get("reply_markup"):
                raise ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            edited["edit_date"] = _now()
            self._messages[message_key] = edited
            return copy.deepcopy(edited)

    def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        text = params.get("text")
        if text is None or str(text).strip() == "":
            raise ApiError(400, "Bad Request: text must be non-empty")
        if len(str(text)) > MAX_MESSAGE_LENGTH:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return self._edit(params, str(text))

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        return self._edit(params, None)

    def _delete_message(self, params: JSONDict) -> bool:
        with self._cond:
            message_key, message = self._stored_message(params)
            if not message:
                raise ApiError(400, "Bad Request: message to delete not found")
            del self._messages[message_key]
        return True

    def _require_chat_ok(self, params: JSONDict) -> bool:
        self._require_chat(params)
        return True

    def _answer_callback_query(self, params: JSONDict) -> bool:
        with self._cond:
            if str(params.get("callback_query_id", "")) not in self._callback_ids:
                raise ApiError(
                    400,
                    "Bad Request: query is too old and response timeout expired or "
                    "query ID is invalid",
                )
        return True

    def _get_file(self, params: JSONDict) -> JSONDict:
        file_id = str(params.get("file_id", ""))
        with self._cond:
            if file_id not in self._files:
                raise ApiError(400, "Bad Request: invalid file_id")
            path, content = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(content),
            "file_path": path,
        }

    def _set_webhook(self, params: JSONDict) -> bool:
        with self._cond:
            self._webhook = {k: v for k, v in params.items() if k != "certificate"}
            if params.get("drop_pending_updates"):
                self._updates.clear()
            self._cond.notify_all()
        return True

    def _delete_webhook(self, params: JSONDict) -> bool:
        with self._cond:
            self._webhook = {}
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        with self._cond:
            info: JSONDict = {
                "url": self._webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if info["url"]:
                info["max_connections"] = self._webhook.get("max_connections", 40)
                if self._webhook.get("allowed_updates"):
                    info["allowed_updates"] = self._webhook["allowed_updates"]
            return info

    @staticmethod
    def _commands_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not _COMMAND_NAME.match(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        with self._cond:
            self._commands[self._commands_key(params)] = commands
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        with self._cond:
            return list(self._commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: JSONDict) -> bool:
        with self._cond:
            self._commands.pop(self._commands_key(params), None)
        return True


def main(argv: list[str] | None = None) -> None:
    """Run the fake by hand until interrupted.

    Args:
        argv: Command line arguments (defaults to ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default=None, help="accept only this bot token")
    parser.add_argument("--bot-username", default="hotline_test_bot")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    fake = FakeTelegram(args.host, args.port, token=args.token, bot_username=args.bot_username)
    fake.start()
    print(f"FAKE_TELEGRAM_BASE_URL={fake.base_url}", flush=True)
    print(f"FAKE_TELEGRAM_BASE_FILE_URL={fake.base_file_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
