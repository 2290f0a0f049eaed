"""The conversation benchmark: the project single-process and scaled, and the stock assistant.

Stacks, each started fresh on free loopback ports and stopped afterwards:

- ``single``: what ``make run`` starts. One Rasa process (endpoints.yml: SQLite tracker store),
  one action server, the case database on SQLite.
- ``scaled``: what ``make run-scaled`` starts (endpoints.scaled.yml): Rasa with
  ``SANIC_WORKERS`` (default 2) and the Redis lock store, the tracker store and the case
  database on PostgreSQL, the action server with ``ACTION_SERVER_SANIC_WORKERS`` (default 2).
- ``single-unpatched``: ``single`` started with the plain ``rasa`` command instead of
  ``python -m rasa_runtime`` and with Rasa's own SQL tracker store, to measure what
  ``rasa_runtime`` changes.
- ``stock``: the assistant ``rasa init`` trains, served the same way as ``single`` (REST
  channel, SQLite tracker store), talking through its own greet / mood flow.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from bench.common import MODEL, ROOT, env_int, env_ints, markdown_table
from bench.load import PhaseResult, Script, goal_verdict, hotline_report, run_phase, stock_mood
from bench.stack import Servers
from hotline import pgadmin
from hotline.config import load_settings
from hotline.db import dispose_engines, transaction, upgrade
from hotline.models import Case


@dataclass
class StackReport:
    """What one stack measured: the phases, its memory after load and its start-up time."""

    name: str
    description: str
    phases: list[PhaseResult] = field(default_factory=list)
    rss_mib: float = 0.0
    pss_mib: float = 0.0
    ready_seconds: float = 0.0
    actions_rss_mib: float = 0.0
    error: str = ""


def endpoints_from(
    template: Path, target: Path, action_url: str | None, **tracker: Any
) -> dict[str, Any]:
    """Writes a copy of an endpoints file with this run's action URL and tracker store.

    Args:
        template: endpoints.yml or endpoints.scaled.yml.
        target: Where to write the copy.
        action_url: The action server's webhook URL (None drops the action endpoint).
        **tracker: Tracker store keys to replace (``db=...``), and ``lock_prefix`` for the
            lock store's key prefix.
    """
    data = yaml.safe_load(template.read_text(encoding="utf-8")) or {}
    if action_url is None:
        data.pop("action_endpoint", None)
    else:
        data.setdefault("action_endpoint", {})["url"] = action_url
    lock_prefix = tracker.pop("lock_prefix", None)
    if tracker:
        data.setdefault("tracker_store", {}).update(tracker)
    if lock_prefix and "lock_store" in data:
        data["lock_store"]["key_prefix"] = lock_prefix
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return data


def fresh_case_db(workdir: Path) -> dict[str, str]:
    """Migrates a new SQLite case database in ``workdir``; returns the action server's env."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{workdir / 'hotline.db'}"
    upgrade(db_url)
    return {"HOTLINE_DATABASE_URL": db_url, "HOTLINE_VAR_DIR": str(workdir / "var")}


def single_endpoints(
    workdir: Path, action_port: int, tracker: str = "tracker.db", stock_store: bool = False
) -> Path:
    """endpoints.yml of the single stack: this action server, a SQLite tracker in ``workdir``.

    Args:
        workdir: Where the file and the tracker database go.
        action_port: The action server's port.
        tracker: The tracker database's file name.
        stock_store: Rasa's own SQL tracker store (``type: SQL``) on the same file instead of
            the one endpoints.yml names (``rasa_runtime.tracker_store``), for plain Rasa.
    """
    endpoints = workdir / "endpoints.yml"
    data = endpoints_from(
        ROOT / "endpoints.yml",
        endpoints,
        f"http://127.0.0.1:{action_port}/webhook",
        db=str(workdir / tracker),
    )
    if stock_store:
        data["tracker_store"] = {"type": "SQL", "dialect": "sqlite", "db": str(workdir / tracker)}
        endpoints.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return endpoints


def count_cases(db_url: str, prefix: str) -> int:
    """Cases in the database whose resident is one of this phase's senders."""
    with transaction(db_url) as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Case).where(Case.resident_ref.like(f"{prefix}%"))
            )
            or 0
        )


def _phases(
    report: StackReport,
    rasa_url: str,
    script: Script,
    run_id: str,
    db_url: str | None,
) -> None:
    rounds = env_int("BENCH_LOAD_ROUNDS", 1)
    deadline = float(env_int("BENCH_PHASE_SECONDS", 600))
    # Warm-up: the first message of a fresh server builds TensorFlow graphs.
    asyncio.run(run_phase(report.name, rasa_url, script, f"rest:warm-{run_id}", 1, 1, 120))
    for residents in env_ints("BENCH_RESIDENTS", (1, 10, 50)):
        prefix = f"rest:bench-{run_id}-{report.name}-{residents}"
        result = asyncio.run(
            run_phase(report.name, rasa_url, script, prefix, residents, rounds, deadline)
        )
        if db_url is not None:
            result.cases_in_db = count_cases(db_url, prefix + "-")
        report.phases.append(result)
        print(f"  {report.name} N={residents}: {result.throughput:.1f} msgs/s", flush=True)


def _record_memory(report: StackReport, servers: Servers) -> None:
    report.rss_mib, report.pss_mib = servers.memory("rasa")
    report.ready_seconds = servers.servers["rasa"].ready_seconds
    if "actions" in servers.servers:
        report.actions_rss_mib = servers.memory("actions")[0]


def run_single(
    workdir: Path, run_id: str, patched: bool = True, ask: bool = True, share: bool = True
) -> StackReport:
    """The project as ``make run`` starts it (``patched=False``: plain ``rasa run``;
    ``ask=False``: without the duplicate question, ``HOTLINE_SIMILAR_ASK_THRESHOLD=1``;
    ``share=False``: the action server encodes every report itself, ``bench.unshared_actions``)."""
    name = "single" if patched else "single-unpatched"
    if not ask:
        name = "single-no-ask"
    if not share:
        name = "single-no-share"
    report = StackReport(
        name,
        "1 Rasa process, SQLite tracker + case DB, 1 action server"
        + ("" if patched else "; plain `rasa run` and tracker store, without rasa_runtime")
        + ("" if ask else "; no similar-case lookup in the report form")
        + ("" if share else "; the action server ignores the report vectors Rasa shares"),
    )
    env = fresh_case_db(workdir)
    if not ask:
        env["HOTLINE_SIMILAR_ASK_THRESHOLD"] = "1"
    db_url = env["HOTLINE_DATABASE_URL"]
    with Servers(workdir, env=env) as servers:
        actions = servers.start_actions(
            module="actions.server" if share else "bench.unshared_actions"
        )
        endpoints = single_endpoints(workdir, actions.port, stock_store=not patched)
        servers.start_rasa(MODEL, endpoints, patched=patched)
        _phases(report, servers.url("rasa"), hotline_report, run_id, db_url)
        _record_memory(report, servers)
    dispose_engines()
    return report


def run_scaled(workdir: Path, run_id: str) -> StackReport:
    """The project as ``make run-scaled`` starts it, on fresh PostgreSQL databases."""
    rasa_workers = env_int("BENCH_SANIC_WORKERS", 2)
    action_workers = env_int("BENCH_ACTION_WORKERS", 2)
    report = StackReport(
        "scaled",
        f"Rasa SANIC_WORKERS={rasa_workers} + Redis lock store, PostgreSQL tracker + case DB, "
        f"action server ACTION_SERVER_SANIC_WORKERS={action_workers}",
    )
    workdir.mkdir(parents=True, exist_ok=True)
    admin = load_settings().pg_admin_url
    suffix = uuid.uuid4().hex[:10]
    with (
        pgadmin.temporary_database(admin, f"bench_cases_{suffix}") as db_url,
        pgadmin.temporary_database(admin, f"bench_tracker_{suffix}"),
    ):
        upgrade(db_url)
        env = {"HOTLINE_DATABASE_URL": db_url, "HOTLINE_VAR_DIR": str(workdir / "var")}
        with Servers(workdir, env=env) as servers:
            actions = servers.start_actions(workers=action_workers)
            endpoints = workdir / "endpoints.yml"
            endpoints_from(
                ROOT / "endpoints.scaled.yml",
                endpoints,
                f"http://127.0.0.1:{actions.port}/webhook",
                db=f"bench_tracker_{suffix}",
                lock_prefix=f"bench{suffix}",
            )
            servers.start_rasa(MODEL, endpoints, workers=rasa_workers)
            _phases(report, servers.url("rasa"), hotline_report, run_id, db_url)
            _record_memory(report, servers)
        dispose_engines()
    return report


def run_stock(workdir: Path, run_id: str, project: Path, model: Path) -> StackReport:
    """The ``rasa init`` assistant, served like ``single``."""
    report = StackReport("stock", "`rasa init` assistant, 1 Rasa process, SQLite tracker")
    workdir.mkdir(parents=True, exist_ok=True)
    endpoints = workdir / "endpoints.yml"
    endpoints_from(
        project / "endpoints.yml",
        endpoints,
        None,
        type="SQL",
        dialect="sqlite",
        db=str(workdir / "tracker.db"),
    )
    with Servers(workdir) as servers:
        servers.start_rasa(model, endpoints, cwd=project, credentials=project / "credentials.yml")
        _phases(report, servers.url("rasa"), stock_mood, run_id, None)
        _record_memory(report, servers)
    return report


def _guarded(name: str, fn: Any, *args: Any) -> StackReport:
    try:
        return fn(*args)
    except Exception as exc:  # a stack that does not start is reported, not fatal
        return StackReport(name, "did not run", error=f"{type(exc).__name__}: {str(exc)[-1500:]}")


def wanted_stacks() -> list[str]:
    """The stacks ``BENCH_STACKS`` names (default: all five)."""
    import os

    default = "single,single-no-ask,single-unpatched,scaled,stock"
    return [name.strip() for name in os.environ.get("BENCH_STACKS", default).split(",")]


def run(workdir: Path, stock_project: Path | None, stock_model: Path | None) -> list[StackReport]:
    """Runs every stack named in ``BENCH_STACKS`` (default: all five).

    ``single-unpatched`` is ``single`` started with the plain ``rasa`` command, to measure
    what rasa_runtime's patches change.
    """
    run_id = uuid.uuid4().hex[:8]
    wanted = wanted_stacks()
    reports = []
    if "single" in wanted:
        reports.append(_guarded("single", run_single, workdir / "single", run_id))
    if "single-no-ask" in wanted:
        reports.append(
            _guarded("single-no-ask", run_single, workdir / "no-ask", run_id, True, False)
        )
    if "single-no-share" in wanted:
        reports.append(
            _guarded("single-no-share", run_single, workdir / "no-share", run_id, True, True, False)
        )
    if "single-unpatched" in wanted:
        reports.append(
            _guarded("single-unpatched", run_single, workdir / "unpatched", run_id, False)
        )
    if "scaled" in wanted:
        reports.append(_guarded("scaled", run_scaled, workdir / "scaled", run_id))
    if "stock" in wanted and stock_project is not None and stock_model is not None:
        reports.append(
            _guarded("stock", run_stock, workdir / "stock", run_id, stock_project, stock_model)
        )
    return reports


def _cases_cell(phase: PhaseResult) -> tuple[str, str]:
    if phase.cases_in_db is None:
        return "–", "–"
    expected = phase.conversations
    ok = phase.cases_in_db == expected and len(set(phase.case_numbers)) == expected
    return f"{phase.cases_in_db} / {expected}", "yes" if ok else "NO"


def section(reports: list[StackReport]) -> str:
    """The markdown section for the conversation benchmark."""
    rounds = env_int("BENCH_LOAD_ROUNDS", 1)
    lines = [
        "### Conversation load",
        "",
        "Each simulated resident runs "
        f"{rounds} conversation(s) through the REST channel; the project's is the full report "
        "(你好 → description → [category] → location → phone → name → /affirm, 6–7 turns), "
        "the stock assistant's its greet/mood flow (6 turns). msgs/s = answered messages / wall "
        "time; latency per message, measured by the client. Cases: rows in the stack's case "
        "database for the phase's senders / conversations run; 'exact' also needs as many "
        "distinct case numbers in the replies.",
        "",
    ]
    for report in reports:
        lines.append(f"- **{report.name}**: {report.description}")
        if report.error:
            lines.append(f"  - did not complete: `{report.error.splitlines()[0][:300]}`")
    lines.append("")
    rows = []
    for report in reports:
        for p in report.phases:
            cases, exact = _cases_cell(p)
            rows.append(
                [
                    report.name,
                    p.residents,
                    p.conversations,
                    p.messages,
                    f"{p.throughput:.1f}",
                    f"{p.median_ms:.0f}",
                    f"{p.percentile(95):.0f}",
                    f"{p.percentile(99):.0f}",
                    f"{p.error_rate:.1%}",
                    p.failed_conversations,
                    cases,
                    exact,
                ]
            )
    lines.append(
        markdown_table(
            [
                "stack",
                "N",
                "conv.",
                "msgs",
                "msgs/s",
                "median ms",
                "p95 ms",
                "p99 ms",
                "errors",
                "failed conv.",
                "cases in DB / expected",
                "exact",
            ],
            rows,
        )
    )
    lines += ["", *turn_lines(reports)]
    errors = [(r.name, p) for r in reports for p in r.phases if p.first_error]
    if errors:
        lines += ["", "First error per phase:"]
        lines += [f"- {name} N={p.residents}: `{p.first_error[:200]}`" for name, p in errors]
    by_name = {r.name: r for r in reports}
    stock = phase_at(by_name.get("stock"), 10)
    lines += ["", "Goal at N=10 (≥ 2× stock msgs/s, p95 < 300 ms):", ""]
    for name in ("single", "scaled", "single-unpatched"):
        mine = phase_at(by_name.get(name), 10)
        if mine is not None and stock is not None:
            lines.append(f"- {name}: {goal_verdict(mine, stock)}")
        else:
            lines.append(f"- {name}: not measured at N=10 in this run")
    lines += ["", "The duplicate question's cost (issue 14: p95 at N=10 at most 10% worse):", ""]
    lines.append(f"- {ask_verdict(by_name.get('single'), by_name.get('single-no-ask'))}")
    if "single-no-share" in by_name:
        lines += ["", "Rasa's report vectors shared with the action server (N=10):", ""]
        lines.append(f"- {share_line(by_name.get('single'), by_name['single-no-share'])}")
    return "\n".join(lines)


def turn_lines(reports: list[StackReport]) -> list[str]:
    """Latency by kind of turn at the largest N of each stack: where the tail comes from."""
    lines = [
        "Latency by what the resident sent, at each stack's largest N (p50 / p95 ms, count):",
        "",
    ]
    for report in reports:
        if not report.phases:
            continue
        phase = max(report.phases, key=lambda p: p.residents)
        medians = phase.turn_percentiles(50)
        cells = [
            f"{kind} {medians[kind][1]:.0f} / {p95:.0f} ({count})"
            for kind, (count, p95) in sorted(phase.turn_percentiles(95).items())
        ]
        lines.append(f"- {report.name} N={phase.residents}: " + "; ".join(cells))
    return lines


def phase_at(report: StackReport | None, residents: int) -> PhaseResult | None:
    """The stack's phase with this many concurrent residents, if it ran one."""
    if report is None:
        return None
    return next((p for p in report.phases if p.residents == residents), None)


def share_line(single: StackReport | None, no_share: StackReport) -> str:
    """msgs/s and p95 at N=10 of the stack as shipped against the same stack whose action
    server encodes every report itself."""
    mine, base = phase_at(single, 10), phase_at(no_share, 10)
    if mine is None or base is None:
        return "not measured at N=10 in this run (needs single and single-no-share)"
    return (
        f"shared: {mine.throughput:.1f} msgs/s, p95 {mine.percentile(95):.0f} ms; "
        f"not shared: {base.throughput:.1f} msgs/s, p95 {base.percentile(95):.0f} ms "
        f"({mine.throughput / base.throughput - 1:+.1%} msgs/s, "
        f"{mine.percentile(95) / base.percentile(95) - 1:+.1%} p95)"
    )


def ask_verdict(single: StackReport | None, no_ask: StackReport | None) -> str:
    """Whether the similar-case lookup keeps the report conversation's p95 at N=10 within 10%
    of the same stack without it."""
    with_ask, without = phase_at(single, 10), phase_at(no_ask, 10)
    if with_ask is None or without is None:
        return "not measured at N=10 in this run (needs single and single-no-ask)"
    mine, base = with_ask.percentile(95), without.percentile(95)
    change = mine / base - 1 if base else float("inf")
    verdict = "met" if change <= 0.10 else "NOT MET"
    return (
        f"{verdict}: p95 {mine:.0f} ms with the lookup against {base:.0f} ms without "
        f"({change:+.1%}; limit +10%)"
    )
