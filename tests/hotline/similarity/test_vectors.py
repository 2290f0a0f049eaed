"""Vectors stored with each case: computed at creation, never at the cost of a case,
backfilled, kept in step with the location; and the real encoder end to end."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy.orm import Session

from hotline.actors import Actor
from hotline.cases import NewCase, create_case
from hotline.cli import main
from hotline.db import transaction
from hotline.models import CaseVector
from hotline.resident import set_location
from hotline.similarity import backfill, likely_duplicate, similar_cases, similar_to_draft, vectors
from hotline.text_encoder import DIM, shared_encoder
from tests.hotline.similarity.conftest import NOW, FakeEncoder, days, log


def test_the_place_is_taken_out_of_what_is_encoded() -> None:
    assert vectors.problem_text("关于滨湖花园北门外路灯长期不亮的问题", "滨湖花园北门") == (
        "关于外路灯长期不亮的问题"
    )
    assert vectors.problem_text("幸福小区三号楼电梯坏了", "武昌区幸福小区3栋") == "三号楼电梯坏了"
    # Too little would be left: the description stays whole.
    assert vectors.problem_text("幸福小区", "幸福小区") == "幸福小区"
    assert vectors.problem_text("路灯坏了好几天", "") == "路灯坏了好几天"


def test_packing_keeps_the_direction() -> None:
    rng = np.random.default_rng(1)
    v = rng.standard_normal(DIM).astype(np.float32)
    v /= np.linalg.norm(v)
    blob = vectors.pack(v)
    assert len(blob) == DIM
    assert float(vectors.unpack(blob) @ v) > 0.999
    assert not vectors.unpack(vectors.pack(np.zeros(DIM))).any()


def test_a_case_is_created_with_its_vector_and_place(
    sqlite_db: Session, fake_encoder: FakeEncoder
) -> None:
    case = log(sqlite_db, "3栋门口路灯坏了", "武昌区幸福小区三号楼")
    row = sqlite_db.get(CaseVector, case.id)
    assert row is not None and row.vector is not None and row.place_key == "幸福小区3栋"
    assert fake_encoder.encoded == 1


def test_a_broken_encoder_never_costs_a_case_and_backfill_repairs(
    sqlite_db: Session, fake_encoder: FakeEncoder, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_encoder.fail = True
    case = log(sqlite_db, "3栋门口路灯坏了", "幸福小区3栋")
    assert case.id is not None
    row = sqlite_db.get(CaseVector, case.id)
    assert row is not None and row.vector is None and row.place_key == "幸福小区3栋"
    other = log(sqlite_db, "另一盏路灯坏了", resident="tg:2")
    assert similar_cases(sqlite_db, other, now=NOW) == []  # no suggestions, no error
    assert vectors.missing_vectors(sqlite_db) == [case, other]
    report = backfill(sqlite_db)
    assert (report.encoded, report.failed) == (0, 2)  # still broken: counted, not raised
    fake_encoder.fail = False
    report = backfill(sqlite_db)
    assert (report.encoded, report.failed) == (2, 0)
    assert sqlite_db.get(CaseVector, case.id).vector is not None  # type: ignore[union-attr]
    assert vectors.missing_vectors(sqlite_db) == []


def test_the_cli_backfills(
    db_url: str, fake_encoder: FakeEncoder, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_encoder.fail = True
    with transaction(db_url) as session:
        number = log(session, "3栋门口路灯坏了", "幸福小区3栋").number
    fake_encoder.fail = False
    assert main(["similar", "backfill"]) == 0
    assert "encoded 1 case(s); 0 failed" in capsys.readouterr().out
    assert main(["similar", "show", number, "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"
    with pytest.raises(SystemExit) as exit_:
        main(["hotspots", "--days", "0"])
    assert exit_.value.code == 2
    assert "not a whole number of days 1–365" in capsys.readouterr().err
    assert main(["hotspots", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"


def test_consultations_answered_by_the_assistant_get_no_vector(
    sqlite_db: Session, fake_encoder: FakeEncoder
) -> None:
    case = log(sqlite_db, "低保怎么申请", category="social_assistance", faq_topic="dibao")
    assert sqlite_db.get(CaseVector, case.id) is None and fake_encoder.encoded == 0
    assert vectors.missing_vectors(sqlite_db) == []


def test_a_location_given_later_updates_the_place(sqlite_db: Session) -> None:
    case = log(sqlite_db, "有人晕倒了", "", urgency="emergency")
    set_location(sqlite_db, case, "幸福社区三幢", Actor.resident("tg:1001"), 30.59, 114.30)
    row = sqlite_db.get(CaseVector, case.id)
    assert row is not None and row.place_key == "幸福小区3栋" and row.vector is not None


def test_with_the_real_encoder_a_draft_finds_its_duplicate_and_is_encoded_once(
    any_db_url: str,
) -> None:
    encoder = shared_encoder()
    with transaction(any_db_url) as session:
        lamp = create_case(
            session,
            NewCase(
                category="city_management",
                description="幸福小区3栋门口那盏路灯坏了好几天，晚上黑漆漆的",
                location="幸福小区3栋",
                channel="telegram",
                resident_ref="tg:1",
            ),
            Actor.resident("tg:1"),
            now=NOW - days(1),
        )[0]
        lift = create_case(
            session,
            NewCase(
                category="property_housing",
                description="幸福小区3栋的电梯又坏了，老人上下楼很困难",
                location="幸福小区3栋",
                channel="telegram",
                resident_ref="tg:2",
            ),
            Actor.resident("tg:2"),
            now=NOW - days(1),
        )[0]
        draft = NewCase(
            category="city_management",
            description="3栋楼下的路灯不亮了，晚上走路看不见",
            location="武昌区幸福社区三幢",
            channel="telegram",
            resident_ref="tg:3",
        )
        found = similar_to_draft(session, draft, now=NOW)
        assert found and found[0].number == lamp.number
        assert lift.number not in [s.number for s in found[:1]]
        duplicate = likely_duplicate(session, draft, now=NOW)
        assert duplicate is not None and duplicate.number == lamp.number
        before = encoder.encoded
        case, _ = create_case(session, draft, Actor.resident("tg:3"), now=NOW)
        assert encoder.encoded == before  # the draft's vector, from the cache
        assert session.get(CaseVector, case.id).vector is not None  # type: ignore[union-attr]
