"""Place normalisation and place similarity."""

from __future__ import annotations

import pytest

from hotline.casework.places import (
    CONTAINED,
    ON_THE_ROAD,
    SAME_SITE_NO_BUILDING,
    SAME_SITE_OTHER_BUILDING,
    distance_m,
    geo_similarity,
    mentioned,
    other_buildings,
    place_key,
    place_similarity,
    text_similarity,
)
from hotline.similarity.matcher import mention_text


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("武汉市武昌区幸福小区三号楼", "幸福小区3栋"),
        ("幸福社区3幢门口", "幸福小区3栋"),
        ("幸福小区３栋", "幸福小区3栋"),
        ("湖北省武汉市洪山区珞喻路与鲁磨路交叉口", "珞喻路与鲁磨路交叉口"),
        ("丽岛花园7号楼3门", "丽岛花园7栋3单元"),
        ("幸福小区十二栋二单元", "幸福小区12栋2单元"),
        ("武昌区中南路街道中南二路", "中南二路"),
        ("新华路菜市场旁边", "新华路菜市场"),
        ("家乐福超市门口", "家乐福超市"),
        ("位置：纬度 30.5928，经度 114.3055", ""),
        ("", ""),
        ("幸福区", "幸福区"),
    ],
)
def test_wordings_of_one_place_share_a_key(written: str, key: str) -> None:
    assert place_key(written) == key


def test_a_district_name_is_stripped_but_an_estate_ending_in_qu_is_kept() -> None:
    assert place_key("江岸区百步亭花园二期") == "百步亭花园2期"
    assert place_key("幸福小区3栋") == "幸福小区3栋"  # 小区 is not a district


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("幸福小区3栋", "幸福社区三幢门口", 1.0),
        ("幸福小区3栋", "幸福小区5栋", SAME_SITE_OTHER_BUILDING),
        ("幸福小区", "幸福小区3栋", SAME_SITE_NO_BUILDING),
        ("桂园路石桥路口", "桂园路与石桥路交叉口", 1.0),
        ("建设二路金沙大道路口", "金沙大道与建设二路交叉口", 1.0),
        ("新河街", "新河街与书院街交叉口", ON_THE_ROAD),
        ("桂园路桂园小学门口", "桂园路石桥路口", ON_THE_ROAD),
        ("滨湖花园北门", "柳岸路滨湖花园北门", CONTAINED),
        ("幸福小区3栋", "", 0.0),
    ],
)
def test_place_similarity(a: str, b: str, expected: float) -> None:
    assert text_similarity(place_key(a), place_key(b)) == pytest.approx(expected)


def test_unrelated_places_are_far_apart_and_similarity_is_symmetric() -> None:
    a, b = place_key("幸福小区3栋"), place_key("解放路88号")
    assert text_similarity(a, b) < 0.2
    c, d = place_key("滨江绿道"), place_key("滨江大道绿道江岸名都段")
    assert text_similarity(c, d) == text_similarity(d, c)
    assert 0.3 < text_similarity(c, d) < CONTAINED


def test_coordinates_decide_when_both_have_them() -> None:
    here = (30.5928, 114.3055)
    assert distance_m(*here, 30.5928, 114.3060) == pytest.approx(48, abs=2)
    assert geo_similarity(here, (30.5928, 114.3060)) == 1.0
    assert geo_similarity(here, (30.60, 114.40)) == 0.0
    assert geo_similarity(here, (None, None)) is None
    # Unrelated texts, same spot: the coordinates win.
    assert place_similarity("甲", "乙", here, (30.5929, 114.3055)) == 1.0


@pytest.mark.parametrize(
    ("location", "description", "other_location", "expected"),
    [
        # The other report names this place in its description, not in its location.
        ("工业三路", "工业三路那边晚上总有一股刺鼻的化学味", "华泰电子厂附近", 1.0),
        # 地铁 and 站 are words every place has: 石桥 … C is all this key names.
        ("地铁石桥站C口", "石桥站C口上行扶梯坏了一个多月", "石桥地铁站", 1.0),
        ("幸福里小区", "反映书院街幸福里物业乱收费", "书院街", 1.0),
        ("金沙大道锦绣华庭工地", "锦绣华庭二期晚上施工", "", 4 / 6),
        # Words every place has, and building numbers, name no particular place.
        ("幸福小区3栋", "小区门口夜市油烟和噪音很大", "中南路街", 0.0),
        ("幸福小区3栋", "3栋门口路灯坏了", "解放路88号", 0.0),
        ("柳岸公园", "", "", 0.0),
    ],
)
def test_a_place_named_in_the_other_reports_text_is_a_mention(
    location: str, description: str, other_location: str, expected: float
) -> None:
    text = mention_text(description, other_location)
    assert mentioned(place_key(location), text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("a", "b", "other"),
    [
        # The building in a location or in a description, in any wording.
        (
            ("反映滨湖花园5栋2单元电梯频繁故障的问题", "滨湖花园5栋2单元"),
            ("电梯按钮失灵", "滨湖花园1栋"),
            True,
        ),
        (("我家住7栋顶楼，一下雨就漏水", "翠柳苑"), ("楼上漏水", "翠柳苑三号楼"), True),
        (("五栋电梯又坏了", "滨湖花园"), ("电梯困人", "滨湖花园5栋"), False),
        # Another unit of the same building, or no building on one side, is no conflict.
        (("电梯坏了", "银杏苑2栋1单元"), ("电梯异响", "银杏苑2栋3单元"), False),
        (("小区监控坏了", "滨湖花园"), ("防火门坏了", "滨湖花园5栋"), False),
    ],
)
def test_reports_naming_different_buildings_are_at_other_places(
    a: tuple[str, str], b: tuple[str, str], other: bool
) -> None:
    assert other_buildings(mention_text(*a), mention_text(*b)) is other
    assert other_buildings(mention_text(*b), mention_text(*a)) is other
