"""``hotline retention …``: anonymise closed cases after the retention period, and carry out
residents' deletion requests (/forget)."""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from hotline.casework.actors import Actor
from hotline.config import load_settings
from hotline.db import transaction
from hotline.privacy import retention


def _actor(args: argparse.Namespace) -> Actor:
    name = args.actor or f"cli:{getpass.getuser()}"
    return Actor.system(name) if name.startswith("cli:") else Actor.operator(name)


def cmd_run(args: argparse.Namespace) -> int:
    """Anonymises cases closed more than ``--days`` days ago (``--dry-run`` only lists them)."""
    days = args.days if args.days is not None else load_settings().retention_days
    report = retention.run_retention(days, _actor(args), dry_run=args.dry_run)
    verb = "would anonymise" if report.dry_run else "anonymised"
    conversations = "would delete" if report.dry_run else "deleted"
    print(
        f"{verb} {len(report.numbers)} case(s) closed before "
        f"{report.cutoff.isoformat(timespec='seconds')} ({report.days} days)"
        + ("" if report.dry_run else f"; {report.photos} photo(s) deleted")
        + f"; {conversations} {len(report.conversations)} conversation(s)"
    )
    for number in report.numbers:
        print(number)
    return 0


def cmd_requests(_args: argparse.Namespace) -> int:
    """Lists the residents' deletion requests still open."""
    with transaction() as session:
        for request in retention.open_requests(session):
            print(f"#{request.id}  {request.sender_id}  {request.created_at.isoformat()}")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    """Carries out one deletion request."""
    report = retention.forget(args.id, _actor(args))
    print(
        f"request #{report.request_id}: anonymised {len(report.anonymised)} case(s), "
        f"kept {len(report.kept_open)} open case(s), "
        f"deleted {report.messages_deleted} message(s), scrubbed {report.messages_scrubbed}, "
        f"{report.tracker_events} tracker event(s) "
        + ("scrubbed" if report.kept_open else "deleted")
    )
    return 0


def register(sub: Any) -> None:
    """Adds ``hotline retention`` to the command line."""
    group = sub.add_parser("retention", help="personal data retention (PIPL)").add_subparsers(
        dest="retention_command", required=True
    )
    run = group.add_parser("run", help="anonymise cases closed more than --days days ago")
    run.add_argument(
        "--days",
        type=int,
        help="retention period in days (default: HOTLINE_RETENTION_DAYS or 365)",
    )
    run.add_argument("--dry-run", action="store_true", help="only list the cases")
    run.add_argument("--actor", help="who runs it, for the audit log (default: cli:USER)")
    run.set_defaults(func=cmd_run)
    group.add_parser("requests", help="list open deletion requests").set_defaults(func=cmd_requests)
    forget = group.add_parser("forget", help="carry out a resident's deletion request")
    forget.add_argument("id", type=int)
    forget.add_argument("--actor", help="operator name, for the audit log (default: cli:USER)")
    forget.set_defaults(func=cmd_forget)
