"""``hotline similar …`` and ``hotline hotspots``: similar cases, vectors and hotspots."""

from __future__ import annotations

import argparse
import json
from typing import Any

from hotline.casework.case_vectors import backfill
from hotline.casework.cases import get_case
from hotline.db import transaction
from hotline.similarity.hotspots import hotspots
from hotline.similarity.matcher import similar_cases

MAX_DAYS = 365
MAX_LIMIT = 50


def _bounded(limit: int, what: str) -> Any:
    def parse(raw: str) -> int:
        if not raw.strip().isdigit() or not 1 <= int(raw) <= limit:
            raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number of {what} 1–{limit}")
        return int(raw)

    return parse


def cmd_backfill(args: argparse.Namespace) -> int:
    """Encodes and stores the vectors of cases that have none (e.g. after an upgrade)."""
    with transaction() as session:
        report = backfill(session, batch=args.batch)
    print(f"encoded {report.encoded} case(s); {report.failed} failed")
    return 1 if report.failed else 0


def cmd_show(args: argparse.Namespace) -> int:
    """Prints the cases similar to one case, best first."""
    with transaction() as session:
        found = similar_cases(session, get_case(session, args.number), limit=args.limit)
    rows = [{"number": s.number, "score": s.score, "reason": s.reason} for s in found]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            print(f"{row['number']}  {row['score']:.3f}  {row['reason']}")
    return 0


def cmd_hotspots(args: argparse.Namespace) -> int:
    """Prints the hotspots of the last days, ranked."""
    with transaction() as session:
        found = hotspots(session, days=args.days, min_count=args.min_count)
    rows = [
        {
            "key": h.key,
            "category": h.category,
            "place": h.place,
            "topic": h.topic,
            "count": h.count,
            "latest_at": h.latest_at.isoformat(),
            "case_numbers": h.case_numbers,
        }
        for h in found
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            print(f"{row['count']:3}  {row['category']:18} {row['place'] or '-'}  {row['topic']}")
    return 0


def register(sub: Any) -> None:
    """Adds ``hotline similar`` and ``hotline hotspots`` to the command line."""
    group = sub.add_parser("similar", help="similar cases (相似工单)").add_subparsers(
        dest="similar_command", required=True
    )
    fill = group.add_parser("backfill", help="store the vectors of cases that have none")
    fill.add_argument("--batch", type=_bounded(1024, "cases"), default=64)
    fill.set_defaults(func=cmd_backfill)
    show = group.add_parser("show", help="the cases similar to one case")
    show.add_argument("number")
    show.add_argument("--limit", type=_bounded(MAX_LIMIT, "cases"), default=5)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)

    spots = sub.add_parser("hotspots", help="clusters of reports about one problem (热点)")
    spots.add_argument("--days", type=_bounded(MAX_DAYS, "days"), default=7)
    spots.add_argument("--min-count", type=_bounded(1000, "reports"), default=2)
    spots.add_argument("--json", action="store_true")
    spots.set_defaults(func=cmd_hotspots)
