"""Finding the cases that are probably the same problem as a new case or a draft report.

Two steps, so that the lookup stays fast on a district's whole history:

1. **Candidate filter, in SQL.** Open cases, and cases resolved in the last
   ``similar_window_days``, of the same or a related category (``related:`` in the
   catalogue), not merged away, not consultations the assistant answered, with a stored
   vector (:mod:`hotline.similarity.vectors`).
2. **Scoring, in numpy, on those candidates only.** The description's cosine to every
   candidate in one matrix product; the place similarity (:mod:`hotline.similarity.places`)
   for the most similar descriptions and for every candidate at the same place; the two
   combined by a logistic model into a score from 0 to 1 (:data:`WEIGHTS`, fitted on the
   tuning half of ``tests/similarity/dev_cases.tsv`` by ``bench/similarity.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from hotline.cases import NewCase
from hotline.catalogue import Catalogue, get_catalogue
from hotline.config import Settings, load_settings
from hotline.models import Case, CaseVector, utcnow
from hotline.similarity import vectors, wording
from hotline.similarity.places import geo_similarity, place_key, place_similarity
from hotline.workflow import OPEN_STATUSES, CaseStatus

OPEN_VALUES = tuple(sorted(s.value for s in OPEN_STATUSES))
RECENT_VALUES = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)
PLACE_SHORTLIST = 200
"""Candidates whose place is compared: the most similar descriptions (besides every
candidate with the very same place key or coordinates nearby)."""
SAME_PLACE_AT = 0.95
NEARBY_PLACE_AT = 0.5
SIMILAR_DESCRIPTION_AT = 0.88
"""Cosine from which the reason names the description (multilingual-e5 puts unrelated
Chinese sentences around 0.80 and paraphrases above 0.90)."""


@dataclass(frozen=True)
class Suggestion:
    """A case that is probably the same problem.

    Attributes:
        number: The case's number.
        score: How likely it is the same problem, from 0 to 1.
        reason: Which signals fired, in Chinese (「同一地点 + 相似描述」).
        status: The case's state (``CaseStatus`` value).
    """

    number: str
    score: float
    reason: str
    status: str


@dataclass(frozen=True)
class Weights:
    """The logistic model combining the signals into a score."""

    bias: float
    cosine: float
    """Per unit of (cosine - 0.85) / 0.05."""
    place: float
    unknown_place: float
    """Added when either side names no place: half-way between 'same' and 'different'."""
    related_category: float
    """Added when the categories differ (related ones)."""
    age: float
    """Per log(1 + days between the two reports)."""


WEIGHTS = Weights(
    bias=-4.0,
    cosine=2.0,
    place=5.0,
    unknown_place=2.5,
    related_category=-1.0,
    age=-0.3,
)
COSINE_CENTRE = 0.85
COSINE_SCALE = 0.05


@dataclass(frozen=True)
class Probe:
    """What is matched: a case or a draft report."""

    vector: np.ndarray
    category: str
    place: str
    latitude: float | None
    longitude: float | None
    at: datetime
    exclude_id: int | None = None


@dataclass(frozen=True)
class Candidates:
    """The candidate cases, as parallel arrays and lists."""

    ids: list[int]
    numbers: list[str]
    statuses: list[str]
    categories: list[str]
    created: list[datetime]
    latitudes: list[float | None]
    longitudes: list[float | None]
    places: list[str]
    matrix: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def candidate_categories(category: str, catalogue: Catalogue | None = None) -> list[str]:
    """The category and its related ones (the one relation lives in the catalogue)."""
    return sorted((catalogue or get_catalogue()).neighbours(category))


def load_candidates(
    session: Session,
    categories: Sequence[str],
    *,
    now: datetime,
    window_days: int,
    open_only: bool = False,
    exclude_id: int | None = None,
) -> Candidates:
    """The candidate filter (see the module docstring), in one SQL statement."""
    columns = (
        Case.id,
        Case.number,
        Case.status,
        Case.category,
        Case.created_at,
        Case.latitude,
        Case.longitude,
        CaseVector.place_key,
        CaseVector.vector,
    )
    base = (
        select(*columns)
        .join(CaseVector, CaseVector.case_id == Case.id)
        .where(
            Case.category.in_(list(categories)),
            Case.merged_into.is_(None),
            Case.faq_topic.is_(None),
            CaseVector.vector.is_not(None),
        )
    )
    if exclude_id is not None:
        base = base.where(Case.id != exclude_id)
    open_cases = base.where(Case.status.in_(OPEN_VALUES))
    if open_only:
        stmt = open_cases
    else:
        recent = base.where(
            Case.status.in_(RECENT_VALUES),
            Case.resolved_at >= now - timedelta(days=window_days),
        )
        stmt = union_all(open_cases, recent)  # type: ignore[assignment]
    rows = session.execute(stmt).all()
    created = [r[4] for r in rows]
    # A UNION loses the column types: the UTC datetime decorator is not applied on SQLite.
    created = [c if not isinstance(c, str) else datetime.fromisoformat(c) for c in created]
    created = [c.replace(tzinfo=now.tzinfo) if c.tzinfo is None else c for c in created]
    return Candidates(
        ids=[r[0] for r in rows],
        numbers=[r[1] for r in rows],
        statuses=[r[2] for r in rows],
        categories=[r[3] for r in rows],
        created=created,
        latitudes=[r[5] for r in rows],
        longitudes=[r[6] for r in rows],
        places=[r[7] or "" for r in rows],
        matrix=vectors.unpack_many([r[8] for r in rows]),
    )


def combine(
    cosine: float,
    place: float,
    *,
    place_known: bool,
    related_category: bool,
    days_apart: float,
    weights: Weights = WEIGHTS,
) -> float:
    """The score from the signals (logistic model, :class:`Weights`)."""
    logit = (
        weights.bias
        + weights.cosine * (cosine - COSINE_CENTRE) / COSINE_SCALE
        + (weights.place * place if place_known else weights.unknown_place)
        + (weights.related_category if related_category else 0.0)
        + weights.age * math.log1p(max(days_apart, 0.0))
    )
    return 1.0 / (1.0 + math.exp(-max(min(logit, 40.0), -40.0)))


@dataclass(frozen=True)
class Scored:
    """One candidate with its signals and score (for the benchmark's breakdowns too)."""

    index: int
    cosine: float
    place: float
    place_known: bool
    score: float


def score_candidates(
    probe: Probe, candidates: Candidates, *, weights: Weights = WEIGHTS
) -> list[Scored]:
    """Scores the candidates worth scoring against the probe, best first."""
    if not len(candidates):
        return []
    cosines = candidates.matrix @ probe.vector.astype(np.float32)
    shortlist = set(np.argsort(-cosines)[:PLACE_SHORTLIST].tolist())
    if probe.place:
        shortlist.update(i for i, p in enumerate(candidates.places) if p == probe.place)
    if probe.latitude is not None and probe.longitude is not None:
        shortlist.update(_near(probe, candidates))
    probe_coords = (probe.latitude, probe.longitude)
    scored = []
    for i in shortlist:
        coords = (candidates.latitudes[i], candidates.longitudes[i])
        known = bool(probe.place and candidates.places[i]) or (
            geo_similarity(probe_coords, coords) is not None
        )
        place = place_similarity(probe.place, candidates.places[i], probe_coords, coords)
        days = abs((probe.at - candidates.created[i]).total_seconds()) / 86400
        score = combine(
            float(cosines[i]),
            place,
            place_known=known,
            related_category=candidates.categories[i] != probe.category,
            days_apart=days,
            weights=weights,
        )
        scored.append(Scored(i, float(cosines[i]), place, known, score))
    scored.sort(key=lambda s: (-s.score, -candidates.created[s.index].timestamp()))
    return scored


NEAR_DEGREES = 0.005
"""About 550 m of latitude: coordinates this close are always compared."""


def _near(probe: Probe, candidates: Candidates) -> list[int]:
    lat = np.array([x if x is not None else np.nan for x in candidates.latitudes], dtype=float)
    lon = np.array([x if x is not None else np.nan for x in candidates.longitudes], dtype=float)
    with np.errstate(invalid="ignore"):
        close = (np.abs(lat - probe.latitude) < NEAR_DEGREES) & (
            np.abs(lon - probe.longitude) < NEAR_DEGREES
        )
    return np.flatnonzero(close).tolist()


def _reason(scored: Scored) -> str:
    return wording.reason(
        same_place=scored.place_known and scored.place >= SAME_PLACE_AT,
        nearby_place=scored.place_known and scored.place >= NEARBY_PLACE_AT,
        similar_description=scored.cosine >= SIMILAR_DESCRIPTION_AT,
    )


def _suggest(
    session: Session,
    probe: Probe,
    *,
    limit: int,
    min_score: float,
    now: datetime,
    open_only: bool,
    settings: Settings,
) -> list[Suggestion]:
    candidates = load_candidates(
        session,
        candidate_categories(probe.category),
        now=now,
        window_days=settings.similar_window_days,
        open_only=open_only,
        exclude_id=probe.exclude_id,
    )
    out: list[Suggestion] = []
    for scored in score_candidates(probe, candidates):
        if scored.score < min_score or len(out) >= limit:
            break
        out.append(
            Suggestion(
                number=candidates.numbers[scored.index],
                score=round(scored.score, 3),
                reason=_reason(scored),
                status=candidates.statuses[scored.index],
            )
        )
    return out


def case_probe(session: Session, case: Case) -> Probe:
    """What a case is matched by: its stored vector (encoded now if it has none)."""
    row = session.get(CaseVector, case.id)
    if row is not None and row.vector is not None:
        vector = vectors.unpack(row.vector)
        place = row.place_key
    else:
        vector = vectors.encode(case.description)
        place = place_key(case.location)
    return Probe(
        vector=vector,
        category=case.category,
        place=place,
        latitude=case.latitude,
        longitude=case.longitude,
        at=case.created_at,
        exclude_id=case.id,
    )


def draft_probe(draft: NewCase, now: datetime) -> Probe:
    """What a draft report is matched by (its description is encoded, and cached)."""
    return Probe(
        vector=vectors.encode(draft.description or ""),
        category=draft.category,
        place=place_key(draft.location),
        latitude=draft.latitude,
        longitude=draft.longitude,
        at=now,
    )


def similar_cases(
    session: Session,
    case: Case,
    *,
    limit: int = 5,
    now: datetime | None = None,
    min_score: float | None = None,
) -> list[Suggestion]:
    """The cases probably the same problem as this one, best first (for the console).

    Excludes the case itself and cases merged away; only scores from
    ``similar_show_threshold`` (or ``min_score``) are returned.
    """
    settings = load_settings()
    return _suggest(
        session,
        case_probe(session, case),
        limit=limit,
        min_score=settings.similar_show_threshold if min_score is None else min_score,
        now=now or utcnow(),
        open_only=False,
        settings=settings,
    )


def similar_to_draft(
    session: Session,
    draft: NewCase,
    *,
    limit: int = 3,
    now: datetime | None = None,
    min_score: float | None = None,
) -> list[Suggestion]:
    """The cases probably the same problem as a report not yet logged (the dialogue), best
    first, from ``similar_show_threshold`` (or ``min_score``)."""
    settings = load_settings()
    now = now or utcnow()
    return _suggest(
        session,
        draft_probe(draft, now),
        limit=limit,
        min_score=settings.similar_show_threshold if min_score is None else min_score,
        now=now,
        open_only=False,
        settings=settings,
    )


def likely_duplicate(
    session: Session, draft: NewCase, *, now: datetime | None = None
) -> Suggestion | None:
    """The open case a draft report most probably duplicates, if its score reaches
    ``similar_ask_threshold`` (then the assistant asks the resident); else None."""
    settings = load_settings()
    now = now or utcnow()
    found = _suggest(
        session,
        draft_probe(draft, now),
        limit=1,
        min_score=settings.similar_ask_threshold,
        now=now,
        open_only=True,
        settings=settings,
    )
    return found[0] if found else None
