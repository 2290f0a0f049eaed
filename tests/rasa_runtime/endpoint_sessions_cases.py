"""The ``endpoint_sessions`` patch: consecutive action calls share one connection, an idle one is
dropped after 2 s, and the answers are Rasa's.

Runs in ``.venv-rasa`` (``test_under_rasa.py``) against a real aiohttp server on loopback.
"""

from __future__ import annotations

import asyncio
import unittest
from typing import Any

from aiohttp import web
from rasa.utils.endpoints import EndpointConfig

from rasa_runtime.patches import PATCHES


async def _calls(pauses: list[float]) -> tuple[list[Any], list[int], list[dict[str, str]]]:
    """Calls a webhook once per pause (sleeping that long first); returns the answers, the
    client port of each call and the headers each call carried."""
    ports: list[int] = []
    headers: list[dict[str, str]] = []

    async def webhook(request: web.Request) -> web.Response:
        ports.append(request.transport.get_extra_info("peername")[1])  # type: ignore[union-attr]
        headers.append(dict(request.headers))
        return web.json_response({"echo": (await request.json())["n"]})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    endpoint = EndpointConfig(
        f"http://127.0.0.1:{port}/webhook", headers={"X-Hotline-Action-Token": "t"}
    )
    answers = []
    for n, pause in enumerate(pauses):
        await asyncio.sleep(pause)
        answers.append(await endpoint.request(json={"n": n}))
    await runner.cleanup()
    return answers, ports, headers


class EndpointSessionsCases(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        PATCHES["endpoint_sessions"]()

    def test_consecutive_calls_share_a_connection_and_an_idle_one_is_dropped(self) -> None:
        answers, ports, headers = asyncio.run(_calls([0, 0, 0, 2.5]))
        self.assertEqual(answers, [{"echo": n} for n in range(4)])
        self.assertEqual(len(set(ports[:3])), 1, ports)
        self.assertNotEqual(ports[3], ports[0])
        self.assertTrue(all(h.get("X-Hotline-Action-Token") == "t" for h in headers))


if __name__ == "__main__":
    unittest.main()
