"""Similar cases and hotspots: match quality on the dev set, and speed at 100,000 cases.

Quality (``tests/similarity/dev_cases.tsv``, protocol in its README): the reports are replayed
oldest first into a fresh case database through ``hotline.casework.cases.create_case`` (real
encoder, real vectors); before each report is logged, the matcher is asked about it as a draft
(:func:`hotline.similarity.matcher.draft_probe`, the candidate filter in SQL). The model's
weights and the two thresholds are fitted on the tune half (odd ids) only; every figure is
reported on the test half (even ids), with two baselines scored the same way: the description
cosine alone, and the place alone.

Speed: 100,000 synthetic cases over two years (realistic mix of categories, statuses, places
and vectors near a few hundred problem centroids; no text is encoded) are bulk-inserted into
SQLite and PostgreSQL; then ``similar_cases`` for new cases (p50/p95 over
``BENCH_SIMILAR_QUERIES``) and the 7-day ``hotspots`` are timed. pgvector is tried on the
PostgreSQL server (``CREATE EXTENSION vector``).

``python -m bench.similarity`` runs it alone and prints the section; settings:
``BENCH_SIMILAR_CASES`` (100000), ``BENCH_SIMILAR_QUERIES`` (200), ``BENCH_SIMILAR_ONLY``
(``quality,speed``).
"""

from __future__ import annotations

import csv
import math
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from bench.common import ROOT, env_int, markdown_table
from hotline.casework import case_vectors as vectors
from hotline.casework.actors import Actor
from hotline.casework.cases import NewCase, create_case
from hotline.config import load_settings
from hotline.db import dispose_engines, transaction, upgrade
from hotline.similarity import matcher
from hotline.similarity.matcher import Signals, Weights, combine
from hotline.text_encoder import SentenceEncoder

DEV_SET = ROOT / "tests" / "similarity" / "dev_cases.tsv"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PRECISION_GOAL = 0.90
RECALL_GOAL = 0.85
ASK_PRECISION_GOAL = 0.95


# --- the dev set ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """One row of the dev set."""

    index: int
    group: str
    category: str
    location: str
    days_ago: int
    description: str

    @property
    def half(self) -> str:
        """``tune`` for odd ids, ``test`` for even ones."""
        return "tune" if int(self.group[1:]) % 2 else "test"


def load_dev(path: Path = DEV_SET) -> list[Report]:
    """The dev set's rows, in file order."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [
        Report(
            index=i,
            group=r["group"],
            category=r["category"],
            location=r["location"],
            days_ago=int(r["days_ago"]),
            description=r["description"],
        )
        for i, r in enumerate(rows)
    ]


@dataclass
class Query:
    """One report asked about before it was logged, with every candidate's signals."""

    report: Report
    positives: set[int]
    candidates: list[tuple[int, Signals]] = field(default_factory=list)


def replay(reports: Sequence[Report], workdir: Path) -> list[Query]:
    """Logs the reports oldest first into a fresh SQLite database, asking the matcher about
    each one first (see the module docstring)."""
    url = f"sqlite:///{workdir / 'similarity_dev.db'}"
    upgrade(url)
    order = sorted(reports, key=lambda r: (-r.days_ago, r.index))
    seen: dict[str, list[int]] = {}
    by_case: dict[int, int] = {}
    queries = []
    settings = load_settings()
    with transaction(url) as session:
        for step, report in enumerate(order):
            at = NOW - timedelta(days=report.days_ago) + timedelta(seconds=step)
            draft = NewCase(
                category=report.category,
                description=report.description,
                location=report.location,
                channel="rest",
                resident_ref=f"rest:dev-{report.index}",
            )
            probe = matcher.draft_probe(draft, at)
            assert probe is not None
            candidates = matcher.load_candidates(
                session, probe, now=at, window_days=settings.similar_window_days
            )
            sims = matcher.cosines(probe, candidates)
            matcher.load_details(session, candidates, range(len(candidates)))
            query = Query(report, set(seen.get(report.group, [])))
            best = float(sims.max()) if len(candidates) else 0.0
            for i, case_id in enumerate(candidates.ids):
                signals = matcher.signals_for(probe, candidates, i, float(sims[i]), best)
                query.candidates.append((by_case[case_id], signals))
            queries.append(query)
            case, _ = create_case(session, draft, Actor.resident(draft.resident_ref), now=at)
            by_case[case.id] = report.index
            seen.setdefault(report.group, []).append(report.index)
    dispose_engines()
    return queries


# --- scoring and metrics --------------------------------------------------------------------

Scorer = Callable[[Signals], float]


def ranked(query: Query, scorer: Scorer) -> list[tuple[int, float]]:
    """The query's candidates by score, best first (the newer first among equal scores)."""
    scored = [(index, scorer(signals)) for index, signals in query.candidates]
    return sorted(scored, key=lambda pair: (-pair[1], -pair[0]))


@dataclass(frozen=True)
class Metrics:
    """The protocol's figures for one scorer, threshold and half."""

    precision: float
    answered: int
    recall3: float
    positives: int
    recall1: float
    false_alarms: float
    negatives: int


def metrics(queries: Sequence[Query], scorer: Scorer, threshold: float) -> Metrics:
    """Precision of the top suggestion, recall@3 and @1, false alarms (README protocol)."""
    answered = right = found3 = found1 = alarms = positives = negatives = 0
    for query in queries:
        top = [(i, s) for i, s in ranked(query, scorer)[:3] if s >= threshold]
        if query.positives:
            positives += 1
            found3 += any(i in query.positives for i, _ in top)
            found1 += bool(top) and top[0][0] in query.positives
        else:
            negatives += 1
            alarms += bool(top)
        if top:
            answered += 1
            right += top[0][0] in query.positives
    return Metrics(
        precision=right / answered if answered else 1.0,
        answered=answered,
        recall3=found3 / positives if positives else 0.0,
        positives=positives,
        recall1=found1 / positives if positives else 0.0,
        false_alarms=alarms / negatives if negatives else 0.0,
        negatives=negatives,
    )


def pick_threshold(
    queries: Sequence[Query], scorer: Scorer, goal: float, grid: Sequence[float]
) -> float:
    """The lowest threshold whose precision of the top suggestion reaches ``goal``; when none
    does, the lowest one with the best precision (among thresholds that still answer)."""
    results = [(t, metrics(queries, scorer, t)) for t in sorted(grid)]
    for threshold, m in results:
        if m.precision >= goal and m.answered:
            return threshold
    answering = [(t, m) for t, m in results if m.answered] or results
    best = max(m.precision for _, m in answering)
    return next(t for t, m in answering if m.precision == best)


def features(signals: Signals) -> list[float]:
    """The model's inputs, in :class:`Weights` order (after the bias)."""
    return [
        (signals.cosine - matcher.COSINE_CENTRE) / matcher.COSINE_SCALE,
        signals.place if signals.place_known else 0.0,
        0.0 if signals.place_known else 1.0,
        1.0 if signals.related_category else 0.0,
        matcher.age_term(signals.days_apart),
        signals.place_or_mention,
        1.0 if signals.top_description else 0.0,
        1.0 if signals.far_place else 0.0,
    ]


def fit_weights(queries: Sequence[Query], l2: float = 1.0, rounds: int = 50) -> Weights:
    """Logistic regression (Newton's method, L2) on every (query, candidate) pair of these
    queries; the label is whether they are the same problem."""
    rows = [features(s) for q in queries for _, s in q.candidates]
    labels = [float(i in q.positives) for q in queries for i, _ in q.candidates]
    x = np.hstack([np.ones((len(rows), 1)), np.array(rows)])
    y = np.array(labels)
    w = np.zeros(x.shape[1])
    penalty = np.eye(x.shape[1]) * l2
    penalty[0, 0] = 0.0
    for _ in range(rounds):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (p - y) + penalty @ w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty
        w -= np.linalg.solve(hessian, gradient)
    return Weights(
        bias=round(float(w[0]), 2),
        cosine=round(float(w[1]), 2),
        place=round(float(w[2]), 2),
        unknown_place=round(float(w[3]), 2),
        related_category=round(float(w[4]), 2),
        age=round(float(w[5]), 2),
        mention=round(float(w[6]), 2),
        top_description=round(float(w[7]), 2),
        far_place=round(float(w[8]), 2),
    )


GRID = [round(float(x), 2) for x in np.arange(0.05, 1.0, 0.01)]


@dataclass
class QualityReport:
    """What the quality half of the benchmark found."""

    reports: int
    tune: list[Query]
    test: list[Query]
    rows: list[list[object]]
    fitted: Weights
    shipped: Weights
    show: float
    ask: float
    fitted_show: float
    fitted_ask: float
    encode_seconds: float


def quality(workdir: Path) -> QualityReport:
    """Replays the dev set and scores the matcher and the baselines (see the module docs)."""
    reports = load_dev()
    encoder = SentenceEncoder(threads=1)
    started = time.monotonic()
    encoder.encode_many(
        [vectors.problem_text(r.description, r.location) for r in reports], keep=True
    )
    encode_seconds = time.monotonic() - started
    previous = vectors.set_encoder_factory(lambda: encoder)
    try:
        queries = replay(reports, workdir)
    finally:
        vectors.set_encoder_factory(previous)
    tune = [q for q in queries if q.report.half == "tune"]
    test = [q for q in queries if q.report.half == "test"]
    settings = load_settings()
    fitted = fit_weights(tune)
    shipped = matcher.WEIGHTS

    def model(weights: Weights) -> Scorer:
        return lambda s: combine(s, weights)

    def cosine_only(s: Signals) -> float:
        return s.cosine

    def place_only(s: Signals) -> float:
        return s.place if s.place_known else 0.0

    cos_grid = [round(float(x), 3) for x in np.arange(0.80, 1.0, 0.005)]
    rows: list[list[object]] = []
    fitted_show = pick_threshold(tune, model(fitted), PRECISION_GOAL, GRID)
    fitted_ask = pick_threshold(tune, model(fitted), ASK_PRECISION_GOAL, GRID)
    candidates: list[tuple[str, Scorer, float, str]] = [
        (
            "matcher as shipped (WEIGHTS, show threshold)",
            model(shipped),
            settings.similar_show_threshold,
            "settings",
        ),
        (
            "matcher as shipped (WEIGHTS, ask threshold)",
            model(shipped),
            settings.similar_ask_threshold,
            "settings",
        ),
        ("matcher refitted on tune (show)", model(fitted), fitted_show, "tune"),
        ("matcher refitted on tune (ask)", model(fitted), fitted_ask, "tune"),
        (
            "baseline: description cosine only",
            cosine_only,
            pick_threshold(tune, cosine_only, PRECISION_GOAL, cos_grid),
            "tune",
        ),
        (
            "baseline: place only",
            place_only,
            pick_threshold(tune, place_only, PRECISION_GOAL, GRID),
            "tune",
        ),
    ]
    for name, scorer, threshold, source in candidates:
        for half, qs in (("test", test), ("tune", tune)):
            m = metrics(qs, scorer, threshold)
            rows.append(
                [
                    name,
                    half,
                    f"{threshold:g} ({source})",
                    f"{m.precision:.3f} ({m.answered})",
                    f"{m.recall3:.3f} ({m.positives})",
                    f"{m.recall1:.3f}",
                    f"{m.false_alarms:.3f} ({m.negatives})",
                ]
            )
    return QualityReport(
        reports=len(reports),
        tune=tune,
        test=test,
        rows=rows,
        fitted=fitted,
        shipped=shipped,
        show=settings.similar_show_threshold,
        ask=settings.similar_ask_threshold,
        fitted_show=fitted_show,
        fitted_ask=fitted_ask,
        encode_seconds=encode_seconds,
    )


def quality_section(report: QualityReport) -> list[str]:
    """The markdown of the quality half."""
    lines = [
        f"Dev set `tests/similarity/dev_cases.tsv`: {report.reports} reports replayed oldest "
        "first, each asked about before it is logged (README protocol). Weights and thresholds "
        "are chosen on the tune half (odd ids) only; read the test rows. Precision: the top "
        "suggestion above the threshold is the same problem (a negative query with any "
        "suggestion counts as wrong; in brackets, the queries answered). Recall@3 and @1: over "
        "positive queries (in brackets). False alarms: negative queries given any suggestion.",
        "",
        markdown_table(
            ["scorer", "half", "threshold", "precision@1", "recall@3", "recall@1", "false alarms"],
            report.rows,
        ),
        "",
        f"Shipped weights (`hotline/similarity/matcher.py`): `{report.shipped}`. Refitted on "
        f"tune in this run: `{report.fitted}`, thresholds show {report.fitted_show:g}, ask "
        f"{report.fitted_ask:g} (shipped: {report.show:g}, {report.ask:g}).",
        f"Encoding the {report.reports} descriptions took {report.encode_seconds:.1f} s "
        "(one thread, no cache).",
    ]
    return lines


# --- speed at scale -------------------------------------------------------------------------

CATEGORY_MIX = {
    "city_management": 30,
    "property_housing": 22,
    "public_security": 6,
    "mediation": 6,
    "employment": 5,
    "social_security": 5,
    "elderly_care": 4,
    "public_health": 4,
    "social_assistance": 3,
    "household_services": 3,
    "culture_education": 3,
    "other": 3,
    "minors": 2,
    "migrant_services": 1,
    "disability": 1,
    "legal_aid": 1,
    "family_planning": 1,
}
ESTATES = [
    f"{name}{kind}"
    for name in ("幸福", "和平", "阳光", "翠柳", "金沙", "银杏", "梧桐", "民生", "锦绣", "书香")
    for kind in ("小区", "花园", "苑")
]
ROADS = [
    f"{name}路"
    for name in ("桂园", "石桥", "长丰", "新河", "书院", "柳岸", "建设", "工业", "滨江", "青年")
]


def synthetic_place(rng: random.Random) -> str:
    """A location like residents write them: an estate and building, or a road."""
    if rng.random() < 0.7:
        return f"{rng.choice(ESTATES)}{rng.randint(1, 30)}栋"
    return f"{rng.choice(ROADS)}{rng.randint(1, 300)}号"


def synthetic_vectors(n: int, rng: np.random.Generator, centroids: np.ndarray) -> np.ndarray:
    """Unit vectors near problem centroids, with e5-like cosines (0.8-0.97)."""
    picks = rng.integers(0, len(centroids), n)
    noise = rng.standard_normal((n, centroids.shape[1])).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    out = centroids[picks] + 0.35 * noise
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def centroids(rng: np.random.Generator, count: int = 300) -> np.ndarray:
    """Problem centroids sharing a common direction, as e5's embeddings of Chinese reports
    do (unrelated reports around cosine 0.8)."""
    common = rng.standard_normal(384).astype(np.float32)
    common /= np.linalg.norm(common)
    own = rng.standard_normal((count, 384)).astype(np.float32)
    own /= np.linalg.norm(own, axis=1, keepdims=True)
    out = 0.85 * common + 0.55 * own
    return out / np.linalg.norm(out, axis=1, keepdims=True)


OPEN_STATES = ("new", "accepted", "dispatched", "in_progress", "returned")
HOT_SPOTS = 25
"""Problems reported many times in the last week (streetlights, lifts …), for the hotspots."""


@dataclass
class Synthetic:
    """What was generated."""

    cases: int
    open_cases: int
    recent_resolved: int
    seconds: float


def _status(age_days: float, rng: random.Random) -> str:
    """A plausible state for a case this old: most recent cases are open, old ones closed."""
    open_share = 0.85 if age_days < 7 else 0.3 if age_days < 30 else 0.08 if age_days < 90 else 0.01
    if rng.random() < open_share:
        return rng.choice(OPEN_STATES)
    if rng.random() < 0.03:
        return "cancelled"
    return "resolved" if age_days < 10 and rng.random() < 0.5 else "closed"


def generate(url: str, count: int, seed: int = 14) -> Synthetic:
    """Bulk-inserts ``count`` synthetic cases with vectors over the two years before now."""
    from sqlalchemy import insert

    from hotline.casework.places import place_key
    from hotline.models import Case, CaseVector

    started = time.monotonic()
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    cents = centroids(nrng)
    now = datetime.now(UTC)
    categories = list(CATEGORY_MIX)
    weights = list(CATEGORY_MIX.values())
    spots = [
        (rng.choice(categories[:2]), synthetic_place(rng), int(nrng.integers(0, len(cents))))
        for _ in range(HOT_SPOTS)
    ]
    case_rows: list[dict[str, object]] = []
    vector_rows: list[dict[str, object]] = []
    open_cases = recent = 0
    vecs = synthetic_vectors(count, nrng, cents)
    hot = set(rng.sample(range(count), HOT_SPOTS * 8))
    # Cases are logged as they come: ids grow with time, as in a real database.
    ages = sorted((rng.uniform(0, 730) for _ in range(count)), reverse=True)
    for i in range(count):
        age = ages[i]
        if i in hot:
            category, location, centre = spots[i % HOT_SPOTS]
            age = rng.uniform(0, 7)
            vector = cents[centre] + 0.12 * nrng.standard_normal(384).astype(np.float32) / 20
            vecs[i] = vector / np.linalg.norm(vector)
        else:
            category = rng.choices(categories, weights)[0]
            location = synthetic_place(rng)
        created = now - timedelta(days=age)
        status = _status(age, rng)
        resolved = None
        if status in ("resolved", "closed"):
            resolved = min(created + timedelta(days=rng.uniform(0.5, 10)), now)
            recent += resolved >= now - timedelta(days=30)
        open_cases += status in OPEN_STATES
        lat = lon = None
        if rng.random() < 0.3:
            lat, lon = 30.55 + rng.uniform(-0.05, 0.05), 114.30 + rng.uniform(-0.05, 0.05)
        case_rows.append(
            {
                "id": i + 1,
                "number": f"SQB{i + 1:08d}",
                "channel": "telegram",
                "resident_ref": f"tg:{i + 1}",
                "contact_name": "匿名",
                "location": location,
                "latitude": lat,
                "longitude": lon,
                "description": f"合成工单 {i + 1}",
                "category": category,
                "original_category": category,
                "case_type": "help",
                "urgency": "normal",
                "status": status,
                "due_at": created + timedelta(days=7),
                "extended": False,
                "created_at": created,
                "updated_at": resolved or created,
                "resolved_at": resolved,
                "closed_at": resolved if status == "closed" else None,
                "flagged": False,
                "reopen_count": 0,
                "merged_into": "SQB00000001" if rng.random() < 0.02 else None,
                "publish_consent": False,
            }
        )
        vector_rows.append(
            {
                "case_id": i + 1,
                "model": "synthetic",
                "vector": vectors.pack(vecs[i]),
                "place_key": place_key(location),
                "created_at": created,
            }
        )
    with transaction(url) as session:
        for start in range(0, count, 5000):
            session.execute(insert(Case), case_rows[start : start + 5000])
        for start in range(0, count, 5000):
            session.execute(insert(CaseVector), vector_rows[start : start + 5000])
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy import text

            session.execute(
                text("SELECT setval(pg_get_serial_sequence('cases', 'id'), :n)"), {"n": count}
            )
            session.execute(text("ANALYZE"))
        else:
            from sqlalchemy import text

            session.execute(text("ANALYZE"))
    return Synthetic(count, open_cases, recent, time.monotonic() - started)


@dataclass
class Speed:
    """Timings on one engine."""

    engine: str
    data: Synthetic
    similar_ms: list[float]
    similar_cpu_ms: list[float]
    candidates: list[int]
    draft_ms: list[float]
    hotspot_ms: list[float]
    hotspots: int
    pgvector: str = ""


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` percentile (nearest rank) of the values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def measure(engine: str, url: str, count: int, queries: int) -> Speed:
    """Generates the cases, then times the lookups on them (see the module docstring)."""
    from sqlalchemy import select

    from hotline.models import Case
    from hotline.similarity.hotspots import hotspots
    from hotline.similarity.matcher import similar_cases, similar_to_draft

    upgrade(url)
    data = generate(url, count)
    settings = load_settings()
    rng = random.Random(7)
    nrng = np.random.default_rng(7)
    cents = centroids(np.random.default_rng(14))
    with transaction(url) as session:
        recent = list(
            session.scalars(
                select(Case.id).where(Case.created_at >= datetime.now(UTC) - timedelta(days=2))
            )
        )
    picks = [rng.choice(recent) for _ in range(queries + 10)]
    similar_ms: list[float] = []
    similar_cpu: list[float] = []
    sizes: list[int] = []
    for n, case_id in enumerate(picks):
        with transaction(url) as session:
            case = session.get(Case, case_id)
            assert case is not None
            started, cpu = time.perf_counter(), time.process_time()
            similar_cases(session, case)
            elapsed = (time.perf_counter() - started) * 1000
            cpu_ms = (time.process_time() - cpu) * 1000
            if n >= 10:  # warm-up
                similar_ms.append(elapsed)
                similar_cpu.append(cpu_ms)
                probe = matcher.case_probe(session, case)
                assert probe is not None
                sizes.append(
                    len(
                        matcher.load_candidates(
                            session,
                            probe,
                            now=datetime.now(UTC),
                            window_days=settings.similar_window_days,
                        )
                    )
                )
    # A draft (the dialogue's lookup) with a synthetic vector: the encoder's own time (about
    # 30 ms of CPU per text) is measured separately in the quality part.
    draft_vectors = synthetic_vectors(queries + 10, nrng, cents)
    previous = vectors.set_encoder_factory(lambda: _FixedEncoder(draft_vectors))  # type: ignore[arg-type,return-value]
    draft_ms: list[float] = []
    try:
        for n in range(queries + 10):
            draft = NewCase(
                category=rng.choices(list(CATEGORY_MIX), list(CATEGORY_MIX.values()))[0],
                description=f"草稿 {n}",
                location=synthetic_place(rng),
            )
            with transaction(url) as session:
                started = time.perf_counter()
                similar_to_draft(session, draft)
                elapsed = (time.perf_counter() - started) * 1000
            if n >= 10:
                draft_ms.append(elapsed)
    finally:
        vectors.set_encoder_factory(previous)
    hotspot_ms: list[float] = []
    found = 0
    for _ in range(5):
        with transaction(url) as session:
            started = time.perf_counter()
            found = len(hotspots(session, days=7))
            hotspot_ms.append((time.perf_counter() - started) * 1000)
    return Speed(engine, data, similar_ms, similar_cpu, sizes, draft_ms, hotspot_ms, found)


class _FixedEncoder:
    """Stands in for the encoder in the speed runs: hands out precomputed vectors in turn."""

    def __init__(self, vectors_: np.ndarray) -> None:
        self._vectors = vectors_
        self._next = 0

    def encode_one(self, text: str) -> np.ndarray:
        vector = self._vectors[self._next % len(self._vectors)]
        self._next += 1
        return vector


def pgvector_status(url: str) -> str:
    """Whether the PostgreSQL server offers pgvector (``CREATE EXTENSION vector``)."""
    from sqlalchemy import text

    from hotline.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            available = conn.execute(
                text("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'")
            ).scalar()
            if available is None:
                return "not available on this server (`pg_available_extensions` has no `vector`)"
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            conn.commit()
            return f"available (version {available})"
    except Exception as exc:
        return f"`CREATE EXTENSION vector` failed: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()


def speed(workdir: Path) -> list[Speed]:
    """The speed half on SQLite and on PostgreSQL (each in a fresh database)."""
    from hotline import pgadmin

    count = env_int("BENCH_SIMILAR_CASES", 100_000)
    queries = env_int("BENCH_SIMILAR_QUERIES", 200)
    results = []
    url = f"sqlite:///{workdir / 'similarity_speed.db'}"
    print(f"  SQLite: {count} cases", flush=True)
    results.append(measure("SQLite", url, count, queries))
    dispose_engines()
    name = f"bench_similar_{uuid.uuid4().hex[:10]}"
    try:
        with pgadmin.temporary_database(load_settings().pg_admin_url, name) as pg_url:
            print(f"  PostgreSQL: {count} cases", flush=True)
            result = measure("PostgreSQL", pg_url, count, queries)
            result.pgvector = pgvector_status(pg_url)
            results.append(result)
            dispose_engines()
    except Exception as exc:  # PostgreSQL missing: the table says so
        print(f"  PostgreSQL similarity benchmark failed: {exc}", flush=True)
    return results


def speed_section(results: Sequence[Speed]) -> list[str]:
    """The markdown of the speed half."""
    rows = []
    for r in results:
        rows.append(
            [
                r.engine,
                f"{r.data.cases:,}",
                f"{r.data.open_cases:,} / {r.data.recent_resolved:,}",
                f"{statistics.median(r.candidates):.0f} (max {max(r.candidates)})",
                f"{percentile(r.similar_ms, 0.5):.1f}",
                f"{percentile(r.similar_ms, 0.95):.1f}",
                f"{percentile(r.similar_cpu_ms, 0.5):.1f} / "
                f"{percentile(r.similar_cpu_ms, 0.95):.1f}",
                f"{percentile(r.draft_ms, 0.5):.1f}",
                f"{percentile(r.draft_ms, 0.95):.1f}",
                f"{statistics.median(r.hotspot_ms):.0f} (max {max(r.hotspot_ms):.0f})",
                r.hotspots,
                f"{r.data.seconds:.0f}",
            ]
        )
    lines = [
        "Speed with synthetic cases over two years (a district's history: category mix, "
        "states by age, 30% with coordinates, places from estates and roads, vectors near 300 "
        f"problem centroids, {HOT_SPOTS} problems reported 8 times each in the last week), "
        "bulk-inserted; timings in ms over "
        f"{len(results[0].similar_ms) if results else 0} lookups after 10 warm-up ones. "
        "`similar_cases`: a case of the last two days, as the console asks (wall time; CPU: "
        "this process's CPU time, which a quiet machine's wall time approaches, since the "
        "lookup runs on one thread). Draft: "
        "`similar_to_draft` as the dialogue asks, the encoder replaced by precomputed vectors "
        "(its own cost is about 30 ms of CPU per text, once per report, cached). Hotspots: "
        "`hotspots(days=7)`, 5 runs.",
        "",
        markdown_table(
            [
                "database",
                "cases",
                "open / resolved ≤30 d",
                "candidates per lookup",
                "similar p50",
                "similar p95",
                "similar CPU p50 / p95",
                "draft p50",
                "draft p95",
                "hotspots 7 d ms",
                "hotspots",
                "insert s",
            ],
            rows,
        ),
        "",
    ]
    for r in results:
        if r.pgvector:
            lines.append(f"pgvector on the PostgreSQL server: {r.pgvector}.")
    return lines


def section(workdir: Path) -> str:
    """The whole ``Similar cases and hotspots`` section (``BENCH_SIMILAR_ONLY`` picks parts)."""
    workdir.mkdir(parents=True, exist_ok=True)
    only = {x.strip() for x in os.environ.get("BENCH_SIMILAR_ONLY", "").split(",") if x.strip()}
    wanted = only or {"quality", "speed"}
    lines = ["### Similar cases and hotspots", ""]
    if "quality" in wanted:
        print("  dev-set quality", flush=True)
        lines += [*quality_section(quality(workdir)), ""]
    if "speed" in wanted:
        lines += speed_section(speed(workdir))
    return "\n".join(lines)


def main() -> int:
    """``python -m bench.similarity``: prints the section (appends nothing)."""
    with tempfile.TemporaryDirectory(prefix="hotline-similar-") as tmp:
        print(section(Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
