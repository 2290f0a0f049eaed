"""Routing helpers and the evaluation report, without a Rasa server."""

from __future__ import annotations

import pytest

from hotline.casework.catalogue import get_catalogue
from hotline.casework.routing import (
    category_for_parse,
    category_from_text,
    classify_emergency,
    emergency_category,
    faq_topics,
    infer_case_type,
    plausible_place,
    reads_as_report,
)
from hotline.casework.vocab import CaseType
from hotline.errors import ValidationError
from hotline.reporting.evaluation import Example, format_report, parse_tsv, score
from tests.parses import entity_at


def test_category_for_parse() -> None:
    report = {
        "intent": {"name": "report"},
        "category": {"name": "mediation", "confidence": 0.8},
        "category_ranking": [
            {"name": "mediation", "confidence": 0.8},
            {"name": "legal_aid", "confidence": 0.1},
        ],
    }
    assert category_for_parse(report) == "mediation"
    # The category stage runs on every message; only reports, FAQ and emergencies use it.
    assert category_for_parse({**report, "intent": {"name": "out_of_scope"}}) is None
    assert category_for_parse({"intent": {"name": "report"}}) is None
    unknown = {"intent": {"name": "report"}, "category_ranking": [{"name": "nope"}]}
    assert category_for_parse(unknown) is None
    assert category_for_parse({"intent": {"name": "greet"}}) is None
    assert category_for_parse({"intent": {"name": "nlu_fallback"}}) is None
    assert category_for_parse({"intent": {"name": "out_of_scope"}}) is None
    assert category_for_parse({"intent": {"name": "emergency"}, "text": "孩子走丢了"}) == "minors"
    faq = {
        "intent": {"name": "faq"},
        "response_selector": {"faq": {"response": {"intent_response_key": "faq/gaoling_jintie"}}},
    }
    assert category_for_parse(faq) == "elderly_care"


def test_an_emergency_of_no_known_kind_goes_where_the_category_stage_is_sure_it_belongs() -> None:
    def emergency(text: str, category: str, confidence: float) -> dict[str, object]:
        return {
            "intent": {"name": "emergency", "confidence": 0.6},
            "text": text,
            "category_ranking": [{"name": category, "confidence": confidence}],
        }

    assert emergency_category(emergency("清水湖边有人往湖里倒废油", "city_management", 0.86)) == (
        "city_management"
    )
    assert category_for_parse(emergency("村口有人烧垃圾", "city_management", 0.9)) == (
        "city_management"
    )
    # Unsure: the default kind's category.
    assert emergency_category(emergency("路边有人在杀活鸡", "city_management", 0.5)) == (
        "public_security"
    )
    # A known kind keeps its own category whatever the category stage says.
    assert emergency_category(emergency("楼道着火了", "property_housing", 0.95)) == (
        "public_security"
    )
    assert emergency_category({"intent": {"name": "emergency"}, "text": "救命"}) == (
        "public_security"
    )


def test_category_for_parse_follows_the_dialogue_for_unclear_long_descriptions() -> None:
    title = "417路公交站台顶棚破损多日无人维修"
    ranking = [{"name": "city_management", "confidence": 0.4}]
    # Taken for a form answer outside any form: the assistant starts the report.
    inform = {"text": title, "intent": {"name": "inform"}, "category_ranking": ranking}
    assert category_for_parse(inform) == "city_management"
    # Not placed at all: a report only when the category stage is confident.
    fallback = {**inform, "intent": {"name": "nlu_fallback"}}
    assert category_for_parse(fallback) is None
    confident = [{"name": "city_management", "confidence": 0.9}]
    assert category_for_parse({**fallback, "category_ranking": confident}) == "city_management"
    # A bare answer is no description, whatever the category stage says.
    place = {"text": "滨湖花园5栋", "intent": {"name": "inform"}, "category_ranking": confident}
    assert category_for_parse(place) is None
    # Out of scope, said with conviction, stays out of scope.
    sure = {"name": "out_of_scope", "confidence": 0.9}
    assert category_for_parse({**inform, "intent": sure, "category_ranking": confident}) is None


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("faq", "report", "property_housing"),  # a question or a report: either way a case
        ("report", "faq", "property_housing"),
        ("faq", "out_of_scope", None),  # maybe nothing for the hotline
        ("report", "greet", None),
    ],
)
def test_a_fallback_torn_between_report_and_faq_is_a_report(first, second, expected) -> None:
    parse = {
        "text": "二手房过户以后不动产证一般多久能拿到",
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.3},
            {"name": first, "confidence": 0.41},
            {"name": second, "confidence": 0.39},
            {"name": "out_of_scope" if second != "out_of_scope" else "greet", "confidence": 0.1},
        ],
        "category_ranking": [{"name": "property_housing", "confidence": 0.33}],
    }

    assert category_for_parse(parse) == expected
    # Not for a bare answer, whatever the intents.
    assert category_for_parse({**parse, "text": "滨湖花园5栋"}) is None


@pytest.mark.parametrize(
    ("text", "intent_confidence", "category_confidence", "expected"),
    [
        # A terse complaint the intent stage was unsure of, with a clear category.
        ("城北大排档的油烟能把人熏死，天天这样", 0.45, 0.72, "city_management"),
        ("城北大排档的油烟能把人熏死，天天这样", 0.85, 0.72, None),  # out of scope for sure
        ("城北大排档的油烟能把人熏死，天天这样", 0.45, 0.55, None),  # category not clear
        ("城北大排档油烟熏人", 0.45, 0.9, None),  # too short to be a description
    ],
)
def test_an_unsure_out_of_scope_with_a_clear_category_is_a_report(
    text, intent_confidence, category_confidence, expected
) -> None:
    parse = {
        "text": text,
        "intent": {"name": "out_of_scope", "confidence": intent_confidence},
        "category_ranking": [{"name": "city_management", "confidence": category_confidence}],
    }

    assert category_for_parse(parse) == expected


def test_every_faq_topic_names_a_catalogue_category() -> None:
    codes = set(get_catalogue().codes)
    topics = faq_topics()
    assert len(topics) >= 20
    assert all(t.category in codes for t in topics.values())


@pytest.mark.parametrize(
    ("tagged", "plausible"),
    [
        ("滨湖花园5栋", True),
        ("光谷一路公交站", True),
        ("反映东湖小区", True),
        ("反映小区", False),
        ("关于楼下", False),
        ("看不清路", False),
        ("没人管的路口", False),
        ("小区", False),
        ("小区内", False),
        ("楼道里", False),
        ("学校附近", False),
        ("东湖小区内", True),
    ],
)
def test_plausible_place(tagged: str, plausible: bool) -> None:
    assert plausible_place(tagged) is plausible


def test_emergency_kinds_and_case_types() -> None:
    assert classify_emergency("楼道着火了").numbers == ("119",)
    assert "110" in classify_emergency("有人拿刀砍人").numbers
    assert classify_emergency("老人摔倒起不来了").kind == "medical"
    assert classify_emergency("不知道怎么回事").kind == "other"
    assert infer_case_type("我要投诉物业") is CaseType.COMPLAINT
    assert infer_case_type("请问低保怎么申请") is CaseType.CONSULTATION
    assert infer_case_type("路灯坏了") is CaseType.HELP
    assert infer_case_type("路灯坏了", "建议") is CaseType.SUGGESTION


def test_category_from_text() -> None:
    assert category_from_text("城市管理").code == "city_management"  # type: ignore[union-attr]
    assert category_from_text("mediation").code == "mediation"  # type: ignore[union-attr]
    assert category_from_text("是物业的事").code == "property_housing"  # type: ignore[union-attr]
    assert category_from_text("天气") is None


def test_parse_tsv_and_errors() -> None:
    examples = parse_tsv(
        [
            "路灯坏了\tcity_management",
            "# comment",
            "",
            "你好\t-",
            "物业吵架\tmediation|property_housing",
        ],
        {"city_management", "mediation", "property_housing"},
    )
    assert [e.expected for e in examples] == [
        ("city_management",),
        ("-",),
        ("mediation", "property_housing"),
    ]
    with pytest.raises(ValidationError, match="line 1"):
        parse_tsv(["no tab here"], set())
    with pytest.raises(ValidationError, match="line 2"):
        parse_tsv(["a\t-", "b\tweather"], set())


def test_score_known_answer() -> None:
    a = Example("a", ("city_management",))
    b = Example("b", ("mediation", "property_housing"))
    c = Example("c", ("-",))
    d = Example("d", ("mediation",))
    report = score(
        [(a, "city_management"), (b, "property_housing"), (c, None), (d, "city_management")]
    )
    assert report["total"] == 4
    assert report["accuracy"] == pytest.approx(0.75)
    city = report["per_category"]["city_management"]
    assert city["precision"] == pytest.approx(0.5) and city["recall"] == pytest.approx(1.0)
    assert report["per_category"]["mediation"]["recall"] == 0.0
    assert report["confusion"] == [
        {"expected": "mediation", "predicted": "city_management", "count": 1}
    ]
    text = format_report(report)
    assert "accuracy  0.750" in text and "mediation -> city_management: 1" in text


@pytest.mark.parametrize(
    ("text", "entities", "expected"),
    [
        (
            "你好我是光明路88号的居民，楼下垃圾好几天没人清了，我手机13812345678",
            [("location", "光明路88号"), ("phone", "13812345678")],
            True,
        ),
        ("幸福小区3栋2单元门口", [("location", "幸福小区3栋2单元")], False),
        ("联系电话：13712345678", [("phone", "13712345678")], False),
        ("王先生", [], False),
        ("谢谢，我住在幸福小区3栋", [("location", "幸福小区3栋")], False),
    ],
)
def test_reads_as_report_when_words_remain_beside_the_entities(text, entities, expected):
    message = {"text": text, "entities": [entity_at(text, e, v) for e, v in entities]}

    assert reads_as_report(message) is expected
