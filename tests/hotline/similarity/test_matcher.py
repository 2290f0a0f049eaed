"""The matcher: candidate filter, scoring, reasons, drafts (on SQLite and PostgreSQL)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy.orm import Session

from hotline.casework.actors import Actor
from hotline.casework.cases import ActionInput, NewCase, apply_action
from hotline.config import load_settings
from hotline.similarity.matcher import (
    Signals,
    age_term,
    age_terms,
    combine,
    likely_duplicate,
    prepare_draft,
    reason_for,
    similar_cases,
    similar_to_draft,
)
from tests.hotline.similarity.conftest import NOW, FakeEncoder, act, days, log

LAMP = "幸福小区3栋门口的路灯坏了，晚上一片漆黑"
LAMP_AGAIN = "3栋门口路灯坏了，晚上一片漆黑没法走"
LIFT = "3栋的电梯又停了，老人下不了楼"


def numbers(found: list) -> list[str]:  # type: ignore[type-arg]
    return [s.number for s in found]


def test_the_same_problem_at_the_same_place_comes_first_with_its_reason(db: Session) -> None:
    lamp = log(db, LAMP, "幸福小区3栋", at=NOW - days(2))
    lift = log(db, LIFT, "幸福小区3栋", at=NOW - days(1))
    elsewhere = log(db, LAMP_AGAIN, "解放路88号", at=NOW - days(1))
    new = log(db, LAMP_AGAIN, "幸福社区三幢", resident="tg:2002", at=NOW)
    found = similar_cases(db, new, now=NOW, min_score=0.0)
    assert found[0].number == lamp.number
    assert found[0].reason == "同一地点 + 相似描述"
    assert found[0].status == "new"
    assert found[0].score >= load_settings().similar_show_threshold
    assert new.number not in numbers(found)  # never the case itself
    scores = {s.number: s.score for s in found}
    assert scores[lamp.number] > scores[lift.number]
    assert scores[lamp.number] > scores[elsewhere.number]


def test_only_scores_from_the_show_threshold_are_suggested(db: Session) -> None:
    log(db, "小区健身器材坏了好几个月", "和平花园", at=NOW - days(1))
    new = log(db, LAMP, "幸福小区3栋", at=NOW)
    assert similar_cases(db, new, now=NOW) == []


def test_candidate_filter_windows_merges_and_categories(db: Session) -> None:
    open_old = log(db, LAMP, "幸福小区3栋", at=NOW - days(80))
    open_too_old = log(db, LAMP, "幸福小区3栋", at=NOW - days(100))
    recent = act(
        db,
        log(db, LAMP, "幸福小区3栋", at=NOW - days(20)),
        "accept",
        "dispatch",
        "resolve",
        at=NOW - days(10),
    )
    stale = act(
        db,
        log(db, LAMP, "幸福小区3栋", at=NOW - days(60)),
        "accept",
        "dispatch",
        "resolve",
        at=NOW - days(31),
    )
    act(db, stale, "close", at=NOW - days(30))
    target = log(db, LAMP, "幸福小区3栋", at=NOW - days(3))
    # Resolved, reopened, then merged away: closed, with a recent resolution time.
    merged = act(
        db,
        log(db, LAMP, "幸福小区3栋", at=NOW - days(6)),
        "accept",
        "dispatch",
        "resolve",
        at=NOW - days(5),
    )
    act(db, merged, "reopen", "merge", at=NOW - days(4), target=target.number)
    assert merged.status == "closed" and merged.resolved_at is not None
    other_family = log(db, LAMP, "幸福小区3栋", category="employment", at=NOW - days(1))
    related = log(db, LAMP, "幸福小区3栋", category="property_housing", at=NOW - days(1))
    related_elsewhere = log(db, LAMP, "解放路88号", category="property_housing", at=NOW - days(1))
    withdrawn = log(db, LAMP, "幸福小区3栋", at=NOW - days(1))
    apply_action(db, withdrawn, "cancel", Actor.resident("tg:1001"), ActionInput(), now=NOW)
    new = log(db, LAMP, "幸福小区3栋", resident="tg:9", at=NOW)
    found = numbers(similar_cases(db, new, now=NOW, min_score=0.0, limit=50))
    assert open_old.number in found  # open cases reported in the last 90 days
    assert open_too_old.number not in found
    assert recent.number in found  # resolved 10 days ago
    assert stale.number not in found  # resolved 31 days ago
    assert merged.number not in found and target.number in found
    assert other_family.number not in found
    assert related.number in found  # a related category at the same site
    assert related_elsewhere.number not in found
    assert withdrawn.number not in found
    # A related category weighs less than the same one, other things equal.
    same = log(db, LAMP_AGAIN, "幸福小区3栋", at=NOW - days(1))
    related_too = log(db, LAMP_AGAIN, "幸福小区3栋", category="property_housing", at=NOW - days(1))
    scores = {s.number: s.score for s in similar_cases(db, new, now=NOW, min_score=0.0, limit=50)}
    assert scores[same.number] > scores[related_too.number]


def test_a_shorter_window_drops_resolved_cases(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolved = act(
        db,
        log(db, LAMP, "幸福小区3栋", at=NOW - days(12)),
        "accept",
        "dispatch",
        "resolve",
        at=NOW - days(10),
    )
    new = log(db, LAMP, "幸福小区3栋", resident="tg:9", at=NOW)
    assert resolved.number in numbers(similar_cases(db, new, now=NOW, min_score=0.0))
    monkeypatch.setenv("HOTLINE_SIMILAR_WINDOW_DAYS", "7")
    assert resolved.number not in numbers(similar_cases(db, new, now=NOW, min_score=0.0))


def test_a_draft_is_matched_before_any_case_exists(db: Session) -> None:
    lamp = log(db, LAMP, "幸福小区3栋", at=NOW - days(1))
    resolved = act(
        db,
        log(db, LAMP, "幸福小区3栋", at=NOW - days(5)),
        "accept",
        "dispatch",
        "resolve",
        at=NOW - days(2),
    )
    draft = NewCase(category="city_management", description=LAMP_AGAIN, location="幸福社区3幢")
    found = similar_to_draft(db, draft, now=NOW)
    assert {lamp.number, resolved.number} <= set(numbers(found))
    # Asking the resident: open cases only, from the ask threshold.
    duplicate = likely_duplicate(db, draft, now=NOW)
    assert duplicate is not None and duplicate.number == lamp.number
    assert duplicate.score >= load_settings().similar_ask_threshold
    act(db, lamp, "accept", "dispatch", "resolve", at=NOW)
    assert likely_duplicate(db, draft, now=NOW) is None  # only resolved ones left
    unrelated = NewCase(
        category="city_management", description="广场舞音响太吵", location="柳岸公园"
    )
    assert likely_duplicate(db, unrelated, now=NOW) is None


def test_an_ask_threshold_of_one_turns_the_question_off(
    db: Session, fake_encoder: FakeEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    log(db, LAMP, "幸福小区3栋", at=NOW - days(1))
    draft = NewCase(category="city_management", description=LAMP, location="幸福小区3栋")
    assert likely_duplicate(db, draft, now=NOW) is not None
    encoded = fake_encoder.encoded
    monkeypatch.setenv("HOTLINE_SIMILAR_ASK_THRESHOLD", "1")
    prepare_draft(draft)
    assert likely_duplicate(db, draft, now=NOW) is None
    assert fake_encoder.encoded == encoded  # nothing was encoded or looked up


def test_preparing_a_draft_encodes_its_problem_once(fake_encoder: FakeEncoder) -> None:
    draft = NewCase(category="city_management", description=LAMP, location="幸福小区3栋")
    encoded = fake_encoder.encoded
    prepare_draft(draft)
    assert fake_encoder.encoded == encoded + 1


def test_coordinates_alone_place_two_reports_together(db: Session) -> None:
    first = log(db, LAMP, "", latitude=30.5928, longitude=114.3055, at=NOW - days(1))
    far = log(db, LAMP, "", latitude=30.70, longitude=114.50, at=NOW - days(1))
    draft = NewCase(
        category="city_management", description=LAMP_AGAIN, latitude=30.5929, longitude=114.3056
    )
    found = similar_to_draft(db, draft, now=NOW, min_score=0.0)
    assert found[0].number == first.number and found[0].reason.startswith("同一地点")
    far_score = next(s.score for s in found if s.number == far.number)
    assert far_score < found[0].score


def test_open_cases_older_than_the_cutoff_could_not_reach_the_threshold() -> None:
    from hotline.similarity.matcher import OPEN_MAX_DAYS

    old = Signals(0.95, 1.0, True, False, OPEN_MAX_DAYS)
    assert combine(old) < load_settings().similar_show_threshold


def test_the_score_rises_with_each_signal() -> None:
    base = Signals(cosine=0.9, place=0.5, place_known=True, related_category=False, days_apart=1)
    score = combine(base)
    assert 0 < score < 1
    assert combine(Signals(0.95, 0.5, True, False, 1)) > score
    assert combine(Signals(0.9, 1.0, True, False, 1)) > score
    assert combine(Signals(0.9, 0.5, True, True, 1)) < score
    assert combine(Signals(0.9, 0.5, True, False, 20)) < score
    # An unknown place counts less than the same place, more than another place.
    unknown = combine(Signals(0.9, 0.0, False, False, 1))
    assert (
        combine(Signals(0.9, 0.0, True, False, 1))
        < unknown
        < combine(Signals(0.9, 1.0, True, False, 1))
    )


def test_time_apart_counts_only_after_a_day() -> None:
    """「昨天就坏了」 and 「今天还是坏的」 are one event; from the second day on, the further
    apart two reports are, the less likely they are one problem."""
    apart = (0, 0.5, 1, 2, 7)
    at = [combine(Signals(0.9, 0.8, True, False, days)) for days in apart]
    assert at[0] == at[1] == at[2]
    assert at[2] > at[3] > at[4]
    # The hotspots' numpy prefilter reads time the same way.
    assert age_terms(np.array(apart)).tolist() == pytest.approx([age_term(d) for d in apart])


def test_a_similar_description_at_an_unrelated_place_is_not_enough() -> None:
    """The same kind of problem elsewhere (「丽景苑二期今晚停电」 against 「康泰小区晚上突然整片
    停电」, cosine 0.925 in the dev set): two places that share nothing count against the pair."""
    far = Signals(0.925, 0.0, True, False, 0, top_description=True)
    assert far.far_place
    assert not Signals(0.95, 0.0, False, False, 0).far_place
    assert not Signals(0.95, 0.1, True, False, 0, mention=0.5).far_place
    assert combine(far) < load_settings().similar_show_threshold
    assert combine(Signals(0.925, 0.0, False, False, 0, top_description=True)) > combine(far)


def test_another_building_named_in_a_description_is_another_place(db: Session) -> None:
    """Both reports name the estate (a full mention), but different buildings."""
    log(db, "反映滨湖花园1栋电梯按钮失灵的问题", "滨湖花园1栋", at=NOW - days(1))
    same = log(db, "反映滨湖花园5栋电梯按钮失灵的问题", "滨湖花园5栋", at=NOW - days(1))
    new = log(db, "滨湖花园5栋电梯按钮又失灵了", "滨湖花园", resident="tg:2002", at=NOW)
    found = similar_cases(db, new, now=NOW, min_score=0.0)
    assert found[0].number == same.number
    assert found[0].score > 2 * found[1].score


@pytest.mark.parametrize(
    ("signals", "reason"),
    [
        (Signals(0.95, 1.0, True, False, 0), "同一地点 + 相似描述"),
        (Signals(0.95, 0.6, True, False, 0), "附近地点 + 相似描述"),
        (Signals(0.95, 0.0, False, False, 0), "相似描述"),
        (Signals(0.80, 1.0, True, False, 0), "同一地点"),
        (Signals(0.80, 0.3, True, False, 0), "相关类别"),
    ],
)
def test_reasons_name_the_signals_that_fired(signals: Signals, reason: str) -> None:
    assert reason_for(signals) == reason
