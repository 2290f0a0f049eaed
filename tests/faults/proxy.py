"""An HTTP proxy in front of the action server that can drop Rasa's call after the action ran.

It forwards every request to the real action server. For a chosen action it waits for the
action server's answer (the action has done its work: a case is committed) and then, instead
of passing the answer on, runs a hook (e.g. SIGKILL the action server) and closes the
connection: Rasa sees the action server die mid-call, as in a real crash after the commit.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from hotline.config import ACTION_TOKEN_HEADER


class ActionProxy:
    """Listens on a loopback port and forwards to ``backend``."""

    def __init__(self, port: int, backend: str) -> None:
        """Prepares the proxy; :meth:`start` binds ``port``."""
        self.port = port
        self.backend = backend
        self.drop_after: str | None = None
        self.on_drop: Callable[[], None] = lambda: None
        self.dropped: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> ActionProxy:
        """Starts serving in a daemon thread."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    upstream = httpx.request(
                        method,
                        proxy.backend + self.path,
                        content=body,
                        headers={
                            "Content-Type": self.headers.get("Content-Type", ""),
                            ACTION_TOKEN_HEADER: self.headers.get(ACTION_TOKEN_HEADER, ""),
                        },
                        timeout=60,
                    )
                except httpx.HTTPError:
                    self.close_connection = True
                    return
                name = ""
                if body:
                    try:
                        name = str(json.loads(body).get("next_action") or "")
                    except ValueError:
                        name = ""
                if name and name == proxy.drop_after:
                    proxy.drop_after = None
                    proxy.dropped.append(name)
                    proxy.on_drop()
                    self.close_connection = True
                    return
                self.send_response(upstream.status_code)
                self.send_header("Content-Type", upstream.headers.get("content-type", ""))
                self.send_header("Content-Length", str(len(upstream.content)))
                self.end_headers()
                self.wfile.write(upstream.content)

            def do_GET(self) -> None:
                self._forward("GET")

            def do_POST(self) -> None:
                self._forward("POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stops serving and frees the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
