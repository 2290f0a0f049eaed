"""``python -m bot``: run the Telegram front end with the settings from the environment."""

from __future__ import annotations

import sys

from bot.settings import load_bot_settings
from hotline.config import ConfigError, check_production_secrets


def main() -> int:
    """Starts the bot; prints a one-line error and returns 2 when it is not configured."""
    try:
        check_production_secrets()
        settings = load_bot_settings()
    except ConfigError as exc:
        print(f"bot: {exc}", file=sys.stderr)
        return 2
    from bot.app import run
    from bot.logs import configure_logging

    configure_logging()
    run(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
