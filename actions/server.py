"""``python -m actions.server``: the action server, on loopback, answering only Rasa.

Built through rasa_sdk's public API (``rasa_sdk.endpoint.create_app``) instead of
``python -m rasa_sdk``, which listens on 0.0.0.0 with no authentication (and ``create_app``
allows CORS origin ``*`` unless told otherwise):
- it binds ``ACTION_SERVER_HOST`` (default 127.0.0.1);
- it sends no CORS headers, so no web page can call it from a browser;
- every request except ``GET /health`` must carry the shared token
  (``HOTLINE_ACTION_TOKEN``) in the ``X-Hotline-Action-Token`` header, which Rasa's
  ``action_endpoint`` sends (``endpoints*.yml``); anything else gets 401.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import sys
from functools import partial

from rasa_sdk import utils
from rasa_sdk.constants import DEFAULT_KEEP_ALIVE_TIMEOUT, DEFAULT_SERVER_PORT
from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

from hotline.config import ACTION_TOKEN_HEADER, ConfigError, check_production_secrets, load_settings

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health"})


def token_matches(presented: str | None, expected: str) -> bool:
    """Whether the presented token is the shared one (constant-time comparison)."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def build_app(token: str, actions: str = "actions") -> Sanic:
    """The rasa_sdk application with the token check in front of every route but /health.

    Args:
        token: The shared token Rasa sends in ``X-Hotline-Action-Token``.
        actions: The package holding the custom actions.
    """
    executor = ActionExecutor()
    executor.register_package(actions)
    app = create_app(executor, cors_origins=None)
    app.config.KEEP_ALIVE_TIMEOUT = DEFAULT_KEEP_ALIVE_TIMEOUT

    @app.middleware("request")
    async def require_token(request: Request) -> HTTPResponse | None:
        """Answers 401 to a request without the shared token."""
        if request.path in OPEN_PATHS and request.method in ("GET", "HEAD"):
            return None
        if token_matches(request.headers.get(ACTION_TOKEN_HEADER), token):
            return None
        log.warning(
            "refused %s %s from %s: no valid token", request.method, request.path, request.ip
        )
        return response.json({"error": "unauthorized"}, status=401)

    return app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: port and host (``--host`` unset: the settings' ``ACTION_SERVER_HOST``)."""
    parser = argparse.ArgumentParser(description="the hotline's action server")
    parser.add_argument("-p", "--port", type=int, default=DEFAULT_SERVER_PORT)
    parser.add_argument(
        "--host",
        help="address to listen on (default 127.0.0.1, or ACTION_SERVER_HOST)",
    )
    parser.add_argument("--actions", default="actions", help="package holding the actions")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Checks the settings, then serves the actions until stopped.

    Returns:
        2 with a one-line message when a production secret is unusable.
    """
    args = parse_args(argv)
    try:
        settings = load_settings()
        check_production_secrets(settings)
    except ConfigError as exc:
        print(f"action server: {exc}", file=sys.stderr)
        return 2
    host = args.host or settings.action_server_host
    utils.configure_colored_logging("INFO")
    utils.update_sanic_log_level()
    # Each Sanic worker builds its own app from the loader (as rasa_sdk.endpoint.run does).
    loader = AppLoader(factory=partial(build_app, settings.action_token, args.actions))
    app = loader.load()
    log.info("Action server listening on http://%s:%s", host, args.port)
    workers = utils.number_of_sanic_workers()
    if workers > 1:
        app.prepare(host=host, port=args.port, workers=workers)
        Sanic.serve(primary=app, app_loader=loader)
    else:
        # Sanic 25 runs even one worker under a worker manager, which can hang on SIGTERM
        # (sanic-org/sanic#2997); one worker needs no manager.
        app.prepare(host=host, port=args.port, single_process=True)
        Sanic.serve_single(primary=app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
