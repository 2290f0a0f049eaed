"""CLI subcommands for routing: ``hotline route`` and ``hotline evaluate``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from hotline.casework.catalogue import get_catalogue
from hotline.casework.routing import category_for_parse, intent_confidence
from hotline.channels.rasa_auth import rasa_jwt
from hotline.config import load_settings
from hotline.errors import HotlineError
from hotline.reporting.evaluation import (
    Example,
    format_report,
    parse_out_of_scope,
    parse_tsv,
    score,
    two_stage_summary,
)


class RasaUnavailableError(HotlineError):
    """The Rasa server could not parse a message."""


def parse_text(client: httpx.Client, base_url: str, token: str, text: str) -> dict[str, Any]:
    """Asks the running Rasa server to parse one message.

    Raises:
        RasaUnavailableError: When it is unreachable or refuses.
    """
    try:
        response = client.post(
            f"{base_url}/model/parse",
            headers={"Authorization": f"Bearer {rasa_jwt(token)}"},
            json={"text": text},
        )
    except httpx.HTTPError as exc:
        raise RasaUnavailableError(f"cannot reach Rasa at {base_url}: {exc}") from exc
    if response.status_code != 200:
        raise RasaUnavailableError(
            f"Rasa at {base_url} answered {response.status_code}: {response.text[:200]}"
        )
    return dict(response.json())


def route_line(client: httpx.Client, base_url: str, token: str, text: str) -> dict[str, Any]:
    """One routing decision, as printed by ``hotline route``."""
    parsed = parse_text(client, base_url, token, text)
    intent = parsed.get("intent") or {}
    return {
        "text": text,
        "category": category_for_parse(parsed),
        "intent": intent.get("name"),
        "confidence": round(intent_confidence(parsed), 4),
    }


def cmd_route(args: argparse.Namespace) -> int:
    """Reads lines from stdin and writes one JSON routing decision per line."""
    settings = load_settings()
    base_url = (args.rasa_url or settings.rasa_url).rstrip("/")
    with httpx.Client(timeout=30) as client:
        for line in sys.stdin:
            text = line.rstrip("\n")
            if not text.strip():
                continue
            print(
                json.dumps(
                    route_line(client, base_url, settings.rasa_token, text), ensure_ascii=False
                ),
                flush=True,
            )
    return 0


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise HotlineError(f"cannot read {path}: {exc}") from exc


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Scores the assistant's routing against a labelled TSV file."""
    settings = load_settings()
    base_url = (args.rasa_url or settings.rasa_url).rstrip("/")
    examples = parse_tsv(_read_lines(Path(args.file)), set(get_catalogue().codes))
    for oos in args.oos or []:
        examples += parse_out_of_scope(_read_lines(Path(oos)))
    pairs: list[tuple[Example, str | None]] = []
    with httpx.Client(timeout=30) as client:
        for example in examples:
            parsed = parse_text(client, base_url, settings.rasa_token, example.text)
            pairs.append((example, category_for_parse(parsed)))
    report = score(pairs)
    report["two_stage"] = two_stage_summary(pairs)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_report(report))
    return 0


def register(sub: Any) -> None:
    """Adds ``route`` and ``evaluate`` to the ``hotline`` parser."""
    route = sub.add_parser(
        "route", help="route stdin lines with the running assistant (JSON lines)"
    )
    route.add_argument("--rasa-url", help="default: RASA_URL")
    route.set_defaults(func=cmd_route)
    evaluate = sub.add_parser("evaluate", help="score routing against text<TAB>expected lines")
    evaluate.add_argument("file")
    evaluate.add_argument(
        "--oos",
        action="append",
        metavar="FILE",
        help="out-of-scope utterances, one a line (expect no category); repeatable",
    )
    evaluate.add_argument("--rasa-url", help="default: RASA_URL")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_evaluate)
