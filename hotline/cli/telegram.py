"""CLI subcommands for the Telegram front end: ``hotline telegram …``."""

from __future__ import annotations

import argparse
from typing import Any

from hotline.casework import followup
from hotline.channels import operator_alerts
from hotline.db import transaction


def cmd_link(args: argparse.Namespace) -> int:
    """Links an operator account to a Telegram user id (for the 受理 button)."""
    with transaction() as session:
        user = operator_alerts.link_telegram(session, args.name, args.telegram_user_id)
        print(f"linked {user.username} to Telegram user {args.telegram_user_id}")
    return 0


def cmd_unlink(args: argparse.Namespace) -> int:
    """Removes an account's link to Telegram."""
    with transaction() as session:
        user = operator_alerts.link_telegram(session, args.name, None)
        print(f"unlinked {user.username}")
    return 0


def cmd_close_unanswered(args: argparse.Namespace) -> int:
    """Closes resolved cases whose survey got no answer in time (the bot does this hourly)."""
    with transaction() as session:
        numbers = followup.close_unanswered(session, days=args.days)
    for number in numbers:
        print(number)
    print(f"closed {len(numbers)} case(s)")
    return 0


def register(sub: Any) -> None:
    """Adds ``hotline telegram link|unlink|close-unanswered``."""
    telegram = sub.add_parser("telegram", help="Telegram front end: operator links, follow-up")
    commands = telegram.add_subparsers(dest="telegram_command", required=True)
    link = commands.add_parser("link", help="let an operator accept cases in the Telegram group")
    link.add_argument("name", help="console user name")
    link.add_argument("telegram_user_id", type=int, help="numeric Telegram user id")
    link.set_defaults(func=cmd_link)
    unlink = commands.add_parser("unlink", help="remove an operator's Telegram link")
    unlink.add_argument("name")
    unlink.set_defaults(func=cmd_unlink)
    close = commands.add_parser(
        "close-unanswered", help="close resolved cases whose survey went unanswered"
    )
    close.add_argument("--days", type=int, default=followup.ANSWER_DAYS)
    close.set_defaults(func=cmd_close_unanswered)
