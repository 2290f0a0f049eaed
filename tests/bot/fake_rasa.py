"""A tiny stand-in for Rasa's REST channel (``POST /webhooks/rest/webhook``) on 127.0.0.1.

Unit tests of the bot use it to see exactly what the bot sends to the assistant and to script
the assistant's replies. End-to-end tests use the real Rasa server instead.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JSONDict = dict[str, Any]
Responder = Callable[[JSONDict], list[JSONDict]]


def echo(request: JSONDict) -> list[JSONDict]:
    """The default answer: one text echoing the message."""
    return [{"recipient_id": request["sender"], "text": f"收到：{request['message']}"}]


class FakeRasa:
    """Records every request and answers with a scripted responder."""

    def __init__(self) -> None:
        self.requests: list[JSONDict] = []
        self.responder: Responder = echo
        self.status = 200
        self.delay = 0.0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FakeRasa:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.requests.append(body)
                    status, responder, delay = fake.status, fake.responder, fake.delay
                if delay:
                    threading.Event().wait(delay)
                payload = responder(body) if status == 200 else {"error": "boom"}
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def messages(self, sender: str | None = None) -> list[str]:
        """The messages received, oldest first (of one sender, if given)."""
        with self._lock:
            return [r["message"] for r in self.requests if sender in (None, r["sender"])]
