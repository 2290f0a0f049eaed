"""Hotspots (热点): many reports about one problem at one place in a short time.

A hotspot is a cluster of cases reported in a window (default 7 days): two cases belong
together when the matcher would call them the same problem (:func:`matcher.combine` of their
description cosine, place similarity, categories and days apart reaches
``similar_show_threshold``, as for the console's suggestions), and clusters are the connected
groups of such pairs (union-find).
Pairs are only compared within related categories, and the place is compared only for pairs
whose description could still make the threshold, so a week of a district's cases takes
milliseconds.

A report is a case or a co-reporter who joined one: since a resident who reports a known
problem joins its case instead of opening another, hotspots count reports, not cases.

:func:`due_hotspot_alerts` picks the hotspots that grew past ``hotspot_alert_size`` within
the last day (and then past each doubling of it) and records them, so each is alerted once
per size.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.casework import case_vectors as vectors
from hotline.casework.catalogue import get_catalogue
from hotline.casework.places import place_similarity
from hotline.casework.workflow import CaseStatus
from hotline.config import load_settings
from hotline.models import Case, CaseReporter, CaseVector, HotspotAlert, utcnow
from hotline.privacy.redact import remove_numbers
from hotline.similarity.matcher import (
    COSINE_CENTRE,
    COSINE_SCALE,
    WEIGHTS,
    Signals,
    age_terms,
    combine,
)
from hotline.text_encoder import DIM

TOPIC_CHARS = 40
ALERT_WINDOW_DAYS = 7
GROWTH_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Hotspot:
    """A cluster of reports about one problem.

    Attributes:
        key: Stable while the cluster grows: ``H`` and its first case's number.
        category: The most common category code of its cases.
        place: The location as a resident wrote it (the most common place among its cases).
        topic: What it is about: the most central case's description, phone numbers removed.
        count: Reports in the window (cases and co-reporters).
        latest_at: The latest report.
        case_numbers: Its cases, newest first.
    """

    key: str
    category: str
    place: str
    topic: str
    count: int
    latest_at: datetime
    case_numbers: list[str]


@dataclass
class _Cases:
    ids: list[int]
    numbers: list[str]
    categories: list[str]
    created: list[datetime]
    locations: list[str]
    places: list[str]
    latitudes: list[float | None]
    longitudes: list[float | None]
    descriptions: list[str]
    matrix: np.ndarray
    has_vector: np.ndarray
    reports: list[list[datetime]]


def _load(session: Session, since: datetime, now: datetime) -> _Cases:
    """Cases with a report in the window: created in it, or joined by a co-reporter in it."""
    joined: dict[int, list[datetime]] = defaultdict(list)
    for case_id, at in session.execute(
        select(CaseReporter.case_id, CaseReporter.created_at).where(
            CaseReporter.created_at >= since, CaseReporter.created_at <= now
        )
    ):
        joined[case_id].append(at)
    in_window = (Case.created_at >= since) & (Case.created_at <= now)
    stmt = (
        select(
            Case.id,
            Case.number,
            Case.category,
            Case.created_at,
            Case.location,
            CaseVector.place_key,
            Case.latitude,
            Case.longitude,
            Case.description,
            CaseVector.vector,
        )
        .outerjoin(CaseVector, CaseVector.case_id == Case.id)
        .where(
            or_(in_window, Case.id.in_(sorted(joined))) if joined else in_window,
            Case.merged_into.is_(None),
            Case.faq_topic.is_(None),
            Case.anonymised_at.is_(None),
            Case.status != CaseStatus.CANCELLED.value,
        )
        .order_by(Case.created_at, Case.id)
    )
    rows = session.execute(stmt).all()
    blobs = [r[9] for r in rows]
    has_vector = np.array([b is not None for b in blobs], dtype=bool)
    matrix = np.zeros((len(rows), DIM), dtype=np.float32)
    if has_vector.any():
        matrix[has_vector] = vectors.unpack_many([b for b in blobs if b is not None])
    reports = []
    for r in rows:
        times = [r[3]] if since <= r[3] <= now else []
        reports.append(sorted(times + joined.get(r[0], [])))
    return _Cases(
        ids=[r[0] for r in rows],
        numbers=[r[1] for r in rows],
        categories=[r[2] for r in rows],
        created=[r[3] for r in rows],
        locations=[r[4] or "" for r in rows],
        places=[r[5] or "" for r in rows],
        latitudes=[r[6] for r in rows],
        longitudes=[r[7] for r in rows],
        descriptions=[r[8] or "" for r in rows],
        matrix=matrix,
        has_vector=has_vector,
        reports=reports,
    )


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _clusters(cases: _Cases, threshold: float) -> list[list[int]]:
    """Union-find over the pairs the matcher scores at least ``threshold``.

    Everything but the place is scored in numpy for every pair of related categories; the
    place (Python) only for pairs that the best place could still lift over the threshold.
    """
    n = len(cases.ids)
    found = _UnionFind(n)
    catalogue = get_catalogue()
    by_category: dict[str, list[int]] = defaultdict(list)
    for i, category in enumerate(cases.categories):
        by_category[category].append(i)
    needed = math.log(threshold / (1 - threshold)) - WEIGHTS.best_place_logit()
    days = np.array([c.timestamp() for c in cases.created]) / 86400
    place_memo: dict[tuple[str, str], float] = {}
    for category, members in by_category.items():
        for related in sorted(catalogue.neighbours(category)):
            if related < category or related not in by_category:
                continue
            rows = np.array(members)
            cols = np.array(by_category[related])
            cosines = cases.matrix[rows] @ cases.matrix[cols].T
            partial = (
                WEIGHTS.bias
                + WEIGHTS.cosine * (cosines - COSINE_CENTRE) / COSINE_SCALE
                + WEIGHTS.age * age_terms(days[rows][:, None] - days[cols][None, :])
                + (WEIGHTS.related_category if related != category else 0.0)
            )
            possible = (
                (partial >= needed)
                & cases.has_vector[rows][:, None]
                & cases.has_vector[cols][None, :]
            )
            if related == category:
                possible &= rows[:, None] < cols[None, :]
            for a, b in zip(*np.nonzero(possible), strict=True):
                i, j = int(rows[a]), int(cols[b])
                if found.find(i) == found.find(j):
                    continue
                if _pair_score(cases, i, j, float(cosines[a, b]), place_memo) >= threshold:
                    found.union(i, j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[found.find(i)].append(i)
    return list(groups.values())


def _pair_score(
    cases: _Cases, i: int, j: int, cosine: float, memo: dict[tuple[str, str], float]
) -> float:
    key = (cases.places[i], cases.places[j])
    coords_i = (cases.latitudes[i], cases.longitudes[i])
    coords_j = (cases.latitudes[j], cases.longitudes[j])
    has_coords = None not in coords_i and None not in coords_j
    if has_coords:
        place = place_similarity(key[0], key[1], coords_i, coords_j)
    else:
        if key not in memo:
            memo[key] = place_similarity(key[0], key[1])
        place = memo[key]
    days = abs((cases.created[i] - cases.created[j]).total_seconds()) / 86400
    return combine(
        Signals(
            cosine=cosine,
            place=place,
            place_known=bool(key[0] and key[1]) or has_coords,
            related_category=cases.categories[i] != cases.categories[j],
            days_apart=days,
        )
    )


def _describe(cases: _Cases, members: list[int]) -> Hotspot:
    members = sorted(members, key=lambda i: (cases.created[i], cases.ids[i]))
    reports = sorted(t for i in members for t in cases.reports[i])
    category = Counter(cases.categories[i] for i in members).most_common(1)[0][0]
    places = Counter(cases.places[i] for i in members if cases.places[i])
    place = ""
    if places:
        common = places.most_common(1)[0][0]
        place = next(cases.locations[i] for i in members if cases.places[i] == common)
    with_vectors = [i for i in members if cases.has_vector[i]]
    if with_vectors:
        block = cases.matrix[with_vectors]
        central = with_vectors[int(np.argmax((block @ block.T).sum(axis=1)))]
    else:
        central = members[0]
    topic = remove_numbers(cases.descriptions[central]).strip()
    if len(topic) > TOPIC_CHARS:
        topic = topic[: TOPIC_CHARS - 1] + "…"
    return Hotspot(
        key=f"H{cases.numbers[members[0]]}",
        category=category,
        place=place,
        topic=topic,
        count=len(reports),
        latest_at=reports[-1] if reports else cases.created[members[-1]],
        case_numbers=[cases.numbers[i] for i in reversed(members)],
    )


def _all(
    session: Session, *, days: int, now: datetime, min_count: int
) -> list[tuple[Hotspot, list[datetime]]]:
    """The window's clusters with at least ``min_count`` reports (only those are described:
    a week of a district holds hundreds of single reports), ranked."""
    cases = _load(session, now - timedelta(days=days), now)
    out = []
    for members in _clusters(cases, load_settings().similar_show_threshold):
        if sum(len(cases.reports[i]) for i in members) < min_count:
            continue
        spot = _describe(cases, members)
        out.append((spot, sorted(t for i in members for t in cases.reports[i])))
    out.sort(key=lambda pair: (-pair[0].count, -pair[0].latest_at.timestamp(), pair[0].key))
    return out


def hotspots(
    session: Session, *, days: int = 7, now: datetime | None = None, min_count: int = 2
) -> list[Hotspot]:
    """The hotspots of the last ``days`` days with at least ``min_count`` reports, ranked by
    reports, then by the latest report."""
    now = now or utcnow()
    return [spot for spot, _ in _all(session, days=days, now=now, min_count=min_count)]


def alert_levels(size: int, count: int) -> list[int]:
    """The sizes at which a hotspot is alerted, up to ``count``: the alert size, then each
    doubling of it."""
    levels = []
    level = size
    while level <= count:
        levels.append(level)
        level *= 2
    return levels


def _growing(
    found: list[tuple[Hotspot, list[datetime]]], now: datetime
) -> list[tuple[Hotspot, int]]:
    size = load_settings().hotspot_alert_size
    growing = []
    for spot, reports in found:
        levels = alert_levels(size, spot.count)
        if not levels:
            continue
        day_ago = sum(1 for t in reports if t <= now - GROWTH_WINDOW)
        if day_ago < levels[-1]:
            growing.append((spot, levels[-1]))
    return growing


def growing_hotspots(session: Session, *, now: datetime | None = None) -> list[tuple[Hotspot, int]]:
    """The hotspots whose reports in the last 7 days grew past ``hotspot_alert_size``, or a
    doubling of it (10, 20 …), within the last day, each with the size it grew past; biggest
    first. Records nothing: the dashboard and the hotspots page warn with it, and
    :func:`due_hotspot_alerts` alerts each once."""
    now = now or utcnow()
    size = load_settings().hotspot_alert_size
    return _growing(_all(session, days=ALERT_WINDOW_DAYS, now=now, min_count=size), now)


@dataclass(frozen=True)
class HotspotScan:
    """A window's hotspots, and the hotspots growing past the alert size (of the alert window,
    :func:`growing_hotspots`), from as few clusterings as possible."""

    hotspots: list[Hotspot]
    growing: list[tuple[Hotspot, int]]


def scan_hotspots(
    session: Session, *, days: int = 7, now: datetime | None = None, min_count: int = 2
) -> HotspotScan:
    """:func:`hotspots` and :func:`growing_hotspots` together: one clustering when ``days`` is
    the alert window (7), the page's and the dashboard's usual case."""
    now = now or utcnow()
    size = load_settings().hotspot_alert_size
    found = _all(session, days=days, now=now, min_count=min(min_count, size))
    alert_window = (
        found
        if days == ALERT_WINDOW_DAYS
        else _all(session, days=ALERT_WINDOW_DAYS, now=now, min_count=size)
    )
    return HotspotScan(
        hotspots=[spot for spot, _ in found if spot.count >= min_count],
        growing=_growing(alert_window, now),
    )


def due_hotspot_alerts(session: Session, *, now: datetime | None = None) -> list[Hotspot]:
    """The hotspots to alert operators about now, recorded so that each is alerted once.

    A hotspot is due when it is growing (:func:`growing_hotspots`) and no alert at that size
    was recorded for it (by key, or for a cluster sharing one of its cases).
    """
    now = now or utcnow()
    since = now - timedelta(days=ALERT_WINDOW_DAYS)
    previous = list(session.scalars(select(HotspotAlert).where(HotspotAlert.created_at >= since)))
    due = []
    for spot, level in growing_hotspots(session, now=now):
        members = set(spot.case_numbers)
        if any(
            a.level >= level and (a.key == spot.key or members & set(a.case_numbers or []))
            for a in previous
        ):
            continue
        alert = HotspotAlert(
            key=spot.key,
            level=level,
            category=spot.category,
            place=spot.place,
            case_numbers=spot.case_numbers,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(alert)
                session.flush()
        except IntegrityError:  # another process recorded it first
            continue
        previous.append(alert)
        due.append(spot)
    return due
