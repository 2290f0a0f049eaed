"""Resources: training time, model load time, Rasa memory after load, case-creation throughput."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT, env_int, markdown_table, rasa_env, run_timed
from bench.conversation import StackReport
from hotline import pgadmin
from hotline.casework.cases import NewCase
from hotline.config import load_settings
from hotline.db import dispose_engines, transaction, upgrade
from hotline.residents.resident import submit_report
from rasa_runtime.command import RASA


def train_project(workdir: Path) -> float:
    """A full ``rasa train`` of the project (NLU + dialogue) into a temp dir; seconds."""
    out = workdir / "train"
    return run_timed(
        [
            str(RASA),
            "train",
            "--out",
            str(out),
            "--fixed-model-name",
            "hotline",
            "--num-threads",
            "2",
        ],
        ROOT,
        workdir / "train.log",
        rasa_env(),
    )


@dataclass
class CaseThroughput:
    """Cases created per second on one database engine."""

    engine: str
    threads: int
    cases: int
    seconds: float
    created: int

    @property
    def per_second(self) -> float:
        """Cases per second of wall time."""
        return self.cases / self.seconds if self.seconds else 0.0


def _create_cases(db_url: str, prefix: str, count: int) -> None:
    for i in range(count):
        with transaction(db_url) as session:
            submit_report(
                session,
                NewCase(
                    category="city_management",
                    description=f"路灯坏了 {prefix}-{i}",
                    phone="13812345678",
                    location="幸福小区3栋门口",
                    contact_name="王先生",
                    channel="rest",
                    resident_ref=f"rest:{prefix}-{i}",
                    idempotency_key=f"{prefix}-{i}",
                ),
            )


def case_throughput(engine: str, db_url: str, cases: int, threads: int) -> CaseThroughput:
    """Creates ``cases`` cases through ``hotline.residents.resident.submit_report`` from
    ``threads``."""
    from sqlalchemy import func, select

    from hotline.models import Case

    upgrade(db_url)
    run = uuid.uuid4().hex[:8]
    per_thread = cases // threads
    workers = [
        threading.Thread(target=_create_cases, args=(db_url, f"{run}-{t}", per_thread))
        for t in range(threads)
    ]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    seconds = time.perf_counter() - started
    with transaction(db_url) as session:
        created = int(session.scalar(select(func.count()).select_from(Case)) or 0)
    return CaseThroughput(engine, threads, per_thread * threads, seconds, created)


def case_benchmarks(workdir: Path) -> list[CaseThroughput]:
    """Case creation on SQLite (WAL) and on PostgreSQL, one thread and several."""
    cases = env_int("BENCH_CASES", 200)
    results = []
    for threads in (1, 4):
        url = f"sqlite:///{workdir / f'cases_{threads}.db'}"
        results.append(case_throughput("SQLite", url, cases, threads))
        dispose_engines()
    admin = load_settings().pg_admin_url
    for threads in (1, 4):
        name = f"bench_cases_{uuid.uuid4().hex[:10]}"
        try:
            with pgadmin.temporary_database(admin, name) as url:
                results.append(case_throughput("PostgreSQL", url, cases, threads))
                dispose_engines()
        except Exception as exc:  # PostgreSQL missing: say so in the table
            print(f"  PostgreSQL case benchmark failed: {exc}", flush=True)
    return results


def section(
    stacks: list[StackReport],
    trainings: list[tuple[str, float]],
    cases: list[CaseThroughput],
) -> str:
    """The markdown section for resources."""
    lines = ["### Resources", "", "Training time (wall clock, `--num-threads 2`):", ""]
    lines.append(markdown_table(["what", "seconds"], [[n, f"{s:.0f}"] for n, s in trainings]))
    lines += [
        "",
        "Rasa server after the load phases; model load = process start until `/status` "
        "answers (imports + model load + Sanic start). RSS sums the server and its Sanic "
        "worker processes (shared pages counted per process); PSS splits shared pages.",
        "",
    ]
    rows = [
        [
            s.name,
            f"{s.ready_seconds:.1f}",
            f"{s.rss_mib:.0f}",
            f"{s.pss_mib:.0f}",
            f"{s.actions_rss_mib:.0f}" if s.actions_rss_mib else "–",
        ]
        for s in stacks
        if not s.error
    ]
    lines.append(
        markdown_table(
            ["stack", "model load s", "Rasa RSS MiB", "Rasa PSS MiB", "action server RSS MiB"],
            rows,
        )
    )
    lines += [
        "",
        "Case creation through `hotline.residents.resident.submit_report` (one transaction "
        "per case, numbering, deadline, creation event), fresh database:",
        "",
    ]
    lines.append(
        markdown_table(
            ["database", "threads", "cases", "seconds", "cases/s", "rows"],
            [
                [c.engine, c.threads, c.cases, f"{c.seconds:.2f}", f"{c.per_second:.0f}", c.created]
                for c in cases
            ],
        )
    )
    return "\n".join(lines)
