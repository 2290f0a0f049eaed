"""Finding the cases that are probably the same problem as a new case or a draft report.

Two steps, so that the lookup stays fast on a district's whole history:

1. **Candidate filter, in SQL, by category, time and place.** Open cases reported in the
   last :data:`OPEN_MAX_DAYS` and cases resolved in the last ``similar_window_days``: of the
   same category, or of a related one (``related:`` in the catalogue) at the same site or
   nearby coordinates; not merged away, not consultations the assistant answered, with a
   stored vector (:mod:`hotline.casework.case_vectors`).
2. **Scoring, in numpy, on those candidates only.** The description's cosine to every
   candidate in one matrix product; the place similarity (:mod:`hotline.casework.places`)
   for the most similar descriptions and for every candidate at the same place; the two
   combined by a logistic model into a score from 0 to 1 (:data:`WEIGHTS`, fitted on the
   tuning half of ``tests/similarity/dev_cases.tsv`` by ``bench/similarity.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import or_, select, union_all
from sqlalchemy.orm import Session

from hotline.casework import case_vectors as vectors
from hotline.casework import duplicate_wording as wording
from hotline.casework.cases import NewCase
from hotline.casework.catalogue import Catalogue, get_catalogue
from hotline.casework.places import (
    SAME_SITE_OTHER_BUILDING,
    geo_similarity,
    mentioned,
    other_buildings,
    place_key,
    place_parts,
    place_similarity,
)
from hotline.casework.workflow import OPEN_STATUSES, CaseStatus
from hotline.config import Settings, load_settings
from hotline.models import Case, CaseVector, utcnow

OPEN_VALUES = tuple(sorted(s.value for s in OPEN_STATUSES))
RECENT_VALUES = (CaseStatus.RESOLVED.value, CaseStatus.CLOSED.value)
PLACE_SHORTLIST = 100
"""Candidates whose place is compared: the most similar descriptions (besides every
candidate at the same site, and every one with coordinates nearby)."""
OPEN_MAX_DAYS = 90
"""Open cases reported longer ago are not candidates: under :data:`WEIGHTS` such a case
reaches the show threshold only with a near-verbatim description at the very same place
(tests/hotline/similarity/test_matcher.py checks this), and old stragglers would make up a
quarter of a district's candidates."""
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
    """Per unit of :func:`age_term` (the log of the days between the reports, after a day)."""
    mention: float
    """Per unit of the better of the place similarity and the mention of either report's
    place in the other's text (:func:`hotline.casework.places.mentioned`)."""
    top_description: float
    """Added to the candidate whose description is the most similar of all candidates."""
    far_place: float
    """Added when both sides name a place and nothing about the places is alike
    (:attr:`Signals.far_place`)."""

    def best_place_logit(self) -> float:
        """The most the place signals can add (the hotspots' prefilter bound)."""
        return max(
            self.place + self.mention, self.unknown_place + self.mention, self.far_place, 0.0
        )


WEIGHTS = Weights(
    bias=-5.81,
    cosine=4.05,
    place=0.93,
    unknown_place=0.75,
    related_category=-1.9,
    age=-1.78,
    mention=2.76,
    top_description=0.55,
    far_place=-2.25,
)
"""Fitted on the tune half of ``tests/similarity/dev_cases.tsv`` by ``bench/similarity.py``
(logistic regression over every (report, earlier candidate) pair; docs/benchmarks.md)."""
COSINE_CENTRE = 0.85
COSINE_SCALE = 0.05
TOP_COSINE_TOLERANCE = 1e-6
AGE_GRACE_DAYS = 1.0
"""Reports this close in time are not told apart by time: 'since yesterday' is one event."""
FAR_PLACE_BELOW = 0.2
"""Known places this little alike (and no mention this strong) are different places."""


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
    text: str = ""
    """Its place and description as :func:`mention_text`, for mentions of a candidate's place."""


def mention_text(description: str | None, location: str | None) -> str:
    """A report's place and description in place-key form, where another report's place is
    looked for (:func:`hotline.casework.places.mentioned`)."""
    return f"{place_key(location)}|{_description_key(description or '')}"


@lru_cache(maxsize=8192)
def _description_key(description: str) -> str:
    # A cache of its own: at a hotspot every lookup reads the same candidates' descriptions
    # again, and descriptions, unique per case, would push places out of place_key's cache.
    return place_key.__wrapped__(description)


@dataclass(frozen=True)
class Detail:
    """What is shown or weighed of a shortlisted candidate only (read in a second query)."""

    number: str
    status: str
    created_at: datetime
    text: str
    """Its :func:`mention_text`."""


@dataclass
class Candidates:
    """The candidate cases, as parallel lists and one matrix of their vectors.

    The filter's query reads only what every candidate is compared on; the rest
    (:class:`Detail`) is read for the shortlist, by :func:`load_details`.
    """

    ids: list[int]
    categories: list[str]
    latitudes: list[float | None]
    longitudes: list[float | None]
    places: list[str]
    matrix: np.ndarray
    details: dict[int, Detail] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def candidate_categories(category: str, catalogue: Catalogue | None = None) -> list[str]:
    """The category and its related ones (the one relation lives in the catalogue)."""
    return sorted((catalogue or get_catalogue()).neighbours(category))


def load_candidates(
    session: Session,
    probe: Probe,
    *,
    now: datetime,
    window_days: int,
    open_only: bool = False,
    catalogue: Catalogue | None = None,
) -> Candidates:
    """The candidate filter, in one SQL statement (see the module docstring).

    Open cases reported in the last :data:`OPEN_MAX_DAYS`, and cases resolved in the last
    ``window_days``: of the probe's category; and of a related category only at the same
    site (estate, road …) or with coordinates nearby. Not merged away, not consultations,
    with a vector. Each part reads one range of a covering index.
    """
    related = [c for c in candidate_categories(probe.category, catalogue) if c != probe.category]
    near = _place_condition(probe)
    columns = (
        Case.id,
        Case.category,
        Case.latitude,
        Case.longitude,
        CaseVector.place_key,
        CaseVector.vector,
    )

    def select_where(*conditions: Any) -> Any:
        query = (
            select(*columns)
            .join(CaseVector, CaseVector.case_id == Case.id)
            .where(
                *conditions,
                Case.merged_into.is_(None),
                Case.faq_topic.is_(None),
                CaseVector.vector.is_not(None),
            )
        )
        return query if probe.exclude_id is None else query.where(Case.id != probe.exclude_id)

    opened = now - timedelta(days=OPEN_MAX_DAYS)
    parts = [
        select_where(
            Case.category == probe.category,
            Case.status.in_(OPEN_VALUES),
            Case.created_at >= opened,
        )
    ]
    if related and near is not None:
        parts.append(
            select_where(
                Case.category.in_(related),
                Case.status.in_(OPEN_VALUES),
                Case.created_at >= opened,
                near,
            )
        )
    if not open_only:
        # Recently resolved cases come from the resolved_at index. `|| ''` keeps the planners
        # off the category and state indexes here, which would walk every closed case.
        resolved = Case.resolved_at >= now - timedelta(days=window_days)
        in_recent_state = (Case.status + "").in_(RECENT_VALUES)
        parts.append(select_where(resolved, in_recent_state, Case.category + "" == probe.category))
        if related and near is not None:
            parts.append(
                select_where(resolved, in_recent_state, (Case.category + "").in_(related), near)
            )
    stmt = parts[0] if len(parts) == 1 else union_all(*parts)
    # The DBAPI's rows as they come: these columns need no conversion, and skipping the ORM's
    # per-row processing halves the cost of reading a few thousand candidates.
    result = session.connection().execute(stmt)
    try:
        rows = result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()
    return Candidates(
        ids=[r[0] for r in rows],
        categories=[r[1] for r in rows],
        latitudes=[r[2] for r in rows],
        longitudes=[r[3] for r in rows],
        places=[r[4] or "" for r in rows],
        matrix=vectors.unpack_many([r[5] for r in rows]),
    )


def _place_condition(probe: Probe) -> Any:
    """Same site as the probe, or coordinates within about 550 m; None if it has neither."""
    conditions = []
    if probe.place:
        site = place_parts(probe.place).site or probe.place
        conditions.append(CaseVector.place_key.startswith(site, autoescape=True))
    if probe.latitude is not None and probe.longitude is not None:
        conditions.append(
            Case.latitude.between(probe.latitude - NEAR_DEGREES, probe.latitude + NEAR_DEGREES)
            & Case.longitude.between(probe.longitude - NEAR_DEGREES, probe.longitude + NEAR_DEGREES)
        )
    return or_(*conditions) if conditions else None


def load_details(session: Session, candidates: Candidates, indices: Sequence[int]) -> None:
    """Reads the :class:`Detail` of these candidates (by index) into ``candidates.details``."""
    wanted = sorted({candidates.ids[i] for i in indices} - candidates.details.keys())
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(
                Case.id,
                Case.number,
                Case.status,
                Case.created_at,
                Case.description,
                Case.location,
            ).where(Case.id.in_(wanted[start : start + 500]))
        )
        for case_id, number, status, created_at, description, location in rows:
            text = mention_text(description, location)
            candidates.details[case_id] = Detail(number, status, created_at, text)


@dataclass(frozen=True)
class Signals:
    """What is known about one candidate against the probe.

    Attributes:
        cosine: The descriptions' cosine.
        place: How alike the places are (0–1), when known.
        place_known: Whether both sides name a place (text or coordinates).
        related_category: Whether the categories differ (they are related ones).
        days_apart: Days between the two reports.
        mention: How much of either report's place the other one's text names (0–1).
        top_description: Whether no other candidate has a more similar description.
    """

    cosine: float
    place: float
    place_known: bool
    related_category: bool
    days_apart: float
    mention: float = 0.0
    top_description: bool = False

    @property
    def place_or_mention(self) -> float:
        """The better of the place similarity (when known) and the mention."""
        return max(self.place if self.place_known else 0.0, self.mention)

    @property
    def far_place(self) -> bool:
        """Whether both sides name a place and neither it nor a mention is alike: two
        similar descriptions at unrelated places (the same kind of problem elsewhere)."""
        return self.place_known and self.place_or_mention < FAR_PLACE_BELOW


def age_terms(days_apart: np.ndarray) -> np.ndarray:
    """How far apart in time pairs of reports are, as the model reads it: log(1 + days) after
    the first :data:`AGE_GRACE_DAYS` (0 within it)."""
    return np.log1p(np.maximum(np.abs(days_apart) - AGE_GRACE_DAYS, 0.0))


def age_term(days_apart: float) -> float:
    """:func:`age_terms` of one pair, in plain floats: :func:`combine` runs it for every
    scored pair, where numpy's per-call overhead would cost ten times the arithmetic."""
    return math.log1p(max(abs(days_apart) - AGE_GRACE_DAYS, 0.0))


def combine(signals: Signals, weights: Weights = WEIGHTS) -> float:
    """The score from the signals (logistic model, :class:`Weights`)."""
    logit = (
        weights.bias
        + weights.cosine * (signals.cosine - COSINE_CENTRE) / COSINE_SCALE
        + (weights.place * signals.place if signals.place_known else weights.unknown_place)
        + (weights.related_category if signals.related_category else 0.0)
        + weights.age * age_term(signals.days_apart)
        + weights.mention * signals.place_or_mention
        + (weights.top_description if signals.top_description else 0.0)
        + (weights.far_place if signals.far_place else 0.0)
    )
    return 1.0 / (1.0 + math.exp(-max(min(logit, 40.0), -40.0)))


@dataclass(frozen=True)
class Scored:
    """One candidate (by index), its signals and its score."""

    index: int
    signals: Signals
    score: float


def signals_for(
    probe: Probe, candidates: Candidates, index: int, cosine: float, best_cosine: float
) -> Signals:
    """The signals of one candidate against the probe (its details must be loaded).

    Args:
        best_cosine: The highest description cosine among all the probe's candidates.
    """
    probe_coords = (probe.latitude, probe.longitude)
    detail = candidates.details[candidates.ids[index]]
    place = candidates.places[index]
    coords = (candidates.latitudes[index], candidates.longitudes[index])
    known = bool(probe.place and place) or (geo_similarity(probe_coords, coords) is not None)
    similarity = place_similarity(probe.place, place, probe_coords, coords)
    mention = max(mentioned(probe.place, detail.text), mentioned(place, probe.text))
    if other_buildings(probe.text, detail.text):
        # Buildings are left out of mentions, and a description's building out of the
        # location's comparison: two named buildings that differ are other places.
        similarity = min(similarity, SAME_SITE_OTHER_BUILDING)
        mention = min(mention, SAME_SITE_OTHER_BUILDING)
    return Signals(
        cosine=cosine,
        place=similarity,
        place_known=known,
        related_category=candidates.categories[index] != probe.category,
        days_apart=abs((probe.at - detail.created_at).total_seconds()) / 86400,
        mention=mention,
        top_description=cosine >= best_cosine - TOP_COSINE_TOLERANCE,
    )


def cosines(probe: Probe, candidates: Candidates) -> np.ndarray:
    """The description cosine of every candidate (one matrix product)."""
    # einsum, not BLAS: a matrix-vector product this size is faster on one thread than
    # OpenBLAS's threads are to wake (and they spin on a busy machine).
    return np.einsum("ij,j->i", candidates.matrix, probe.vector.astype(np.float32))


def shortlist(probe: Probe, candidates: Candidates, sims: np.ndarray) -> list[int]:
    """The candidates worth a place comparison: the most similar descriptions, every
    candidate at the same site (estate, road …), and every one with coordinates nearby."""
    if len(sims) <= PLACE_SHORTLIST:
        chosen = set(range(len(sims)))
    else:
        chosen = set(np.argpartition(-sims, PLACE_SHORTLIST)[:PLACE_SHORTLIST].tolist())
    if probe.place:
        site = place_parts(probe.place).site or probe.place
        chosen.update(i for i, p in enumerate(candidates.places) if p.startswith(site))
    if probe.latitude is not None and probe.longitude is not None:
        chosen.update(_near(probe, candidates))
    return sorted(chosen)


def score_candidates(
    session: Session, probe: Probe, candidates: Candidates, *, weights: Weights = WEIGHTS
) -> list[Scored]:
    """Scores the candidates worth scoring against the probe, best first (the newer first
    among equal scores)."""
    if not len(candidates):
        return []
    sims = cosines(probe, candidates)
    chosen = shortlist(probe, candidates, sims)
    load_details(session, candidates, chosen)
    best = float(sims.max())
    scored = []
    for i in chosen:
        signals = signals_for(probe, candidates, i, float(sims[i]), best)
        scored.append(Scored(i, signals, combine(signals, weights)))
    scored.sort(key=lambda s: (-s.score, -candidates.ids[s.index]))
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


def reason_for(signals: Signals) -> str:
    """The reason shown with a suggestion, from the signals that fired."""
    return wording.reason(
        same_place=signals.place_known and signals.place >= SAME_PLACE_AT,
        nearby_place=signals.place_known and signals.place >= NEARBY_PLACE_AT,
        similar_description=signals.cosine >= SIMILAR_DESCRIPTION_AT,
    )


def _suggest(
    session: Session,
    probe: Probe | None,
    *,
    limit: int,
    min_score: float,
    now: datetime,
    open_only: bool,
    settings: Settings,
) -> list[Suggestion]:
    if probe is None:
        return []
    candidates = load_candidates(
        session,
        probe,
        now=now,
        window_days=settings.similar_window_days,
        open_only=open_only,
    )
    out: list[Suggestion] = []
    for scored in score_candidates(session, probe, candidates):
        if scored.score < min_score or len(out) >= limit:
            break
        detail = candidates.details[candidates.ids[scored.index]]
        out.append(
            Suggestion(
                number=detail.number,
                score=round(scored.score, 3),
                reason=reason_for(scored.signals),
                status=detail.status,
            )
        )
    return out


def case_probe(session: Session, case: Case) -> Probe | None:
    """What a case is matched by: its stored vector (encoded now if it has none; None when
    that fails, so that a broken encoder means no suggestions, never an error)."""
    row = session.get(CaseVector, case.id)
    if row is not None and row.vector is not None:
        vector: np.ndarray | None = vectors.unpack(row.vector)
        place = row.place_key
    else:
        vector = vectors.try_encode(case.description, case.location)
        place = place_key(case.location)
    if vector is None:
        return None
    return Probe(
        vector=vector,
        category=case.category,
        place=place,
        latitude=case.latitude,
        longitude=case.longitude,
        at=case.created_at,
        exclude_id=case.id,
        text=mention_text(case.description, case.location),
    )


def draft_probe(draft: NewCase, now: datetime) -> Probe | None:
    """What a draft report is matched by (its description is encoded, and cached; None when
    the encoder fails: the report is then simply logged)."""
    vector = vectors.try_encode(draft.description or "", draft.location)
    if vector is None:
        return None
    return Probe(
        vector=vector,
        category=draft.category,
        place=place_key(draft.location),
        latitude=draft.latitude,
        longitude=draft.longitude,
        at=now,
        text=mention_text(draft.description, draft.location),
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


def asks(settings: Settings) -> bool:
    """Whether the assistant asks residents about likely duplicates at all (an ask threshold
    of 1 turns the question off)."""
    return settings.similar_ask_threshold < 1.0


def prepare_draft(draft: NewCase) -> None:
    """Encodes a draft's problem ahead of :func:`likely_duplicate`, which then finds the vector
    in the encoder's cache. A caller on an event loop runs it in a worker thread: the encoder
    releases the GIL while it runs. Nothing is encoded when the question is turned off; a
    failure is logged and left to the lookup."""
    if asks(load_settings()):
        vectors.try_encode(draft.description or "", draft.location)


def likely_duplicate(
    session: Session, draft: NewCase, *, now: datetime | None = None
) -> Suggestion | None:
    """The open case a draft report most probably duplicates, if its score reaches
    ``similar_ask_threshold`` (then the assistant asks the resident); else None. A threshold
    of 1 turns the question off: nothing is looked up."""
    settings = load_settings()
    if not asks(settings):
        return None
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
