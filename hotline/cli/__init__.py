"""The ``hotline`` command line: database, cases, routing and accounts."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import OperationalError, ProgrammingError

from hotline.casework import cases as case_service
from hotline.casework.actors import Actor
from hotline.casework.views import case_to_dict, event_to_dict
from hotline.casework.vocab import Channel
from hotline.casework.workflow import TRANSITIONS, CaseStatus
from hotline.config import ConfigError
from hotline.db import transaction, upgrade
from hotline.errors import HotlineError
from hotline.privacy import logmask


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    """Applies migrations."""
    upgrade()
    print("database is up to date")
    return 0


def cmd_case_create(args: argparse.Namespace) -> int:
    """Registers a case and prints its number."""
    new = case_service.NewCase(
        category=args.category,
        description=args.description,
        phone=args.phone,
        location=args.location,
        contact_name=args.name,
        case_type=args.type,
        urgency=args.urgency,
        channel=args.channel,
        require_phone=True,
        require_location=True,
    )
    with transaction() as session:
        case, _ = case_service.create_case(session, new, Actor.parse(args.actor))
        print(case.number)
    return 0


def cmd_case_show(args: argparse.Namespace) -> int:
    """Shows one case."""
    with transaction() as session:
        case = case_service.get_case(session, args.number)
        data = case_to_dict(case)
        data["events"] = [event_to_dict(e) for e in case_service.case_events(session, case)]
    if args.json:
        _print_json(data)
        return 0
    for key in (
        "number",
        "status_label",
        "category_name",
        "case_type_label",
        "urgency_label",
        "contact_name",
        "phone",
        "location",
        "description",
        "department",
        "due_at",
    ):
        print(f"{key:16} {data[key] if data[key] is not None else ''}")
    for event in data["events"]:
        arrow = f"{event['from_status'] or ''}→{event['to_status'] or ''}"
        print(
            f"  {event['at']}  {event['actor']:20} {event['action']:12} {arrow} "
            f"{event['note'] or ''}"
        )
    return 0


def cmd_case_list(args: argparse.Namespace) -> int:
    """Lists cases."""
    flt = case_service.CaseFilter(
        statuses=[args.status] if args.status else (),
        category=args.category,
        limit=args.limit,
    )
    with transaction() as session:
        rows = [case_to_dict(c) for c in case_service.list_cases(session, flt)]
    if args.json:
        _print_json(rows)
        return 0
    for row in rows:
        print(
            f"{row['number']}  {row['status_label']:4}  {row['urgency_label']:2}  "
            f"{row['category_name']:8}  {row['due_at']}  {row['description'][:30]}"
        )
    return 0


def cmd_case_transition(args: argparse.Namespace) -> int:
    """Performs a workflow action on a case."""
    params = case_service.ActionInput(
        note=args.note,
        department=args.department,
        category=args.category,
        urgency=args.urgency,
        assignee=args.assignee,
        target=args.target,
        rating=args.rating,
    )
    with transaction() as session:
        case = case_service.get_case(session, args.number)
        case_service.apply_action(session, case, args.action, Actor.parse(args.actor), params)
        print(f"{case.number} {CaseStatus(case.status).value}")
    return 0


def cmd_spool_flush(_args: argparse.Namespace) -> int:
    """Logs reports kept while the database was down."""
    from hotline.casework.spool import flush_spool, pending_reports

    numbers = flush_spool()
    print(f"logged {len(numbers)} spooled report(s); {len(pending_reports())} still waiting")
    for number in numbers:
        print(number)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="hotline", description="Community service hotline.")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    case = sub.add_parser("case", help="cases (工单)").add_subparsers(
        dest="case_command", required=True
    )
    create = case.add_parser("create", help="register a case and print its number")
    create.add_argument("--category", required=True)
    create.add_argument("--description", required=True)
    create.add_argument("--phone", required=True)
    create.add_argument("--location", required=True)
    create.add_argument("--name")
    create.add_argument("--type", default="help", help="咨询/求助/投诉/建议/表扬 or its code")
    create.add_argument("--urgency", default="normal", help="normal/urgent/emergency")
    create.add_argument("--channel", default=Channel.PHONE.value)
    create.add_argument("--actor", default=None, help="operator:NAME (default: cli)")
    create.set_defaults(func=cmd_case_create)

    show = case.add_parser("show", help="show one case")
    show.add_argument("number")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_case_show)

    lst = case.add_parser("list", help="list cases")
    lst.add_argument("--status")
    lst.add_argument("--category")
    lst.add_argument("--limit", type=int, default=200)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_case_list)

    tr = case.add_parser("transition", help="perform a workflow action")
    tr.add_argument("number")
    tr.add_argument("action", choices=sorted(TRANSITIONS))
    for option in ("note", "department", "category", "urgency", "assignee", "target", "rating"):
        tr.add_argument(f"--{option}")
    tr.add_argument("--actor", default=None, help="operator:NAME, resident:ID or system")
    tr.set_defaults(func=cmd_case_transition)

    spool = sub.add_parser("spool", help="reports kept while the database was down")
    spool_sub = spool.add_subparsers(dest="spool_command", required=True)
    spool_sub.add_parser("flush", help="log them now").set_defaults(func=cmd_spool_flush)

    for module in EXTENSION_MODULES:
        importlib.import_module(module).register(sub)
    return parser


EXTENSION_MODULES = (
    "hotline.cli.routing",
    "hotline.cli.accounts",
    "hotline.cli.telegram",
    "hotline.cli.retention",
    "hotline.cli.calendar",
    "hotline.cli.similar",
)
"""Modules whose ``register(subparsers)`` adds further subcommands."""


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; an error is one line on stderr (exit 1; 2 for a bad setting)."""
    logmask.install()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except HotlineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OperationalError, ProgrammingError) as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            print("error: 数据库尚未初始化，请先运行 hotline db upgrade", file=sys.stderr)
        else:
            print(f"error: 数据库错误：{exc.orig}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
