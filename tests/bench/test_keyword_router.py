"""The keyword router baseline: pure, from catalogue keywords."""

from __future__ import annotations

from bench.keyword_router import KeywordRouter
from hotline.casework.catalogue import get_catalogue


def _router() -> KeywordRouter:
    return KeywordRouter(
        [
            ("city_management", ["路灯", "垃圾", "噪音"]),
            ("property_housing", ["物业", "电梯", "小区", "维修"]),
            ("household_services", ["维修", "家电维修", "保洁"]),
        ]
    )


def test_no_keyword_routes_to_dash() -> None:
    router = _router()
    assert router.route("你好") == "-"
    assert router.route("") == "-"
    assert router.matches("谢谢") == []


def test_single_keyword() -> None:
    assert _router().route("楼下的路灯坏了") == "city_management"


def test_most_matches_win() -> None:
    # 小区 + 电梯 (two for property_housing) beats 垃圾 (one for city_management).
    assert _router().route("小区电梯旁边堆满了垃圾") == "property_housing"


def test_longer_match_breaks_a_count_tie() -> None:
    # household_services matches two keywords (维修, 家电维修), property_housing one (维修).
    assert _router().route("家电维修师傅不上门") == "household_services"
    # 物业+维修 against 维修+保洁: same count, same length -> catalogue order.
    assert _router().route("物业的维修和保洁") == "property_housing"
    # One match each: the longer matched keyword wins.
    router = KeywordRouter([("a", ["水"]), ("b", ["漏水"])])
    assert router.route("厨房漏水") == "b"


def test_catalogue_order_breaks_a_full_tie() -> None:
    assert KeywordRouter([("a", ["灯"]), ("b", ["灯"])]).route("灯坏了") == "a"
    assert KeywordRouter([("b", ["灯"]), ("a", ["灯"])]).route("灯坏了") == "b"


def test_case_and_blank_keywords() -> None:
    router = KeywordRouter([("a", ["ATM", "  ", ""]), ("b", ["atm", "atm"])])
    assert router.route("社保卡在atm上吞了") == "a"
    assert router.matches("ATM")[1].keywords == ("atm",)


def test_from_catalogue_routes_by_real_keywords() -> None:
    catalogue = get_catalogue()
    router = KeywordRouter.from_catalogue(catalogue)
    assert router.route("我家楼下的路灯坏了好几天了") == "city_management"
    assert router.route("想办个居住证") == "migrant_services"
    assert router.route("今天天气不错") == "-"
    assert KeywordRouter.from_categories(catalogue.categories[:1]).route("路灯坏了") == "-"
