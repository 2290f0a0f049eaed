"""Places as residents write them, normalised for comparison, and how alike two places are.

Residents name the same place in many ways: 「武汉市武昌区幸福小区三号楼」, 「幸福小区3栋」,
「幸福社区3幢门口」. :func:`place_key` reduces a location to a comparable key: administrative
prefixes (province, city, district, street office) go, full-width characters become
half-width, Chinese numerals before a unit (号, 栋, 单元 …) become digits, the units are
unified (号楼, 幢, 座 → 栋), and punctuation and filler words (附近, 旁边, 对面 …) go.
:func:`place_similarity` compares two keys by their parts (estate or road, building, unit),
falling back to the overlap of character pairs; :func:`geo_similarity` compares coordinates.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

SAME = 1.0
SAME_SITE_NO_BUILDING = 0.8
"""One key names an estate or road, the other a building in it."""
SAME_SITE_OTHER_BUILDING = 0.55
SAME_BUILDING_OTHER_UNIT = 0.85
MAX_FUZZY = 0.9
"""Character overlap alone never says 'the same place'."""
CONTAINED = 0.8
"""One key is part of the other (「滨湖花园北门」 in 「柳岸路滨湖花园北门」)."""
ON_THE_ROAD = 0.5
"""One names a road, the other a spot on it (a junction, a number): a road is long."""
MIN_CONTAINED = 3
CONTAINMENT_WEIGHT = 0.7
"""Shared character pairs over the shorter key's, weighted down: short and long names of
one place share most of the short one's pairs."""

_COORDINATES = re.compile(r"(位置|坐标)?[:：]?\s*纬度\s*-?[\d.]+\s*[,，]?\s*经度\s*-?[\d.]+")
_PROVINCE = re.compile(r"^[\u4e00-\u9fff]{2,7}?(省|自治区)")
# A city, but not 超市/菜市场/夜市/集市/门市 (places themselves).
_CITY = re.compile(r"^[\u4e00-\u9fff]{2,4}?(?<![超菜夜集门股早花鱼])市(?!场)")
# A district or county, but not 小区/社区/园区/校区/景区/片区/城区/营区/厂区 (places themselves).
_DISTRICT = re.compile(r"^[\u4e00-\u9fff]{1,4}?(?<![小社园校景片城营厂])(区|县)")
_STREET_OFFICE = re.compile(r"^[\u4e00-\u9fff]{2,6}?街道(办事处|办)?")
_NUMERAL = "〇零一二两三四五六七八九十百"
_NUMERAL_UNIT = re.compile(rf"([{_NUMERAL}]+)(?=(号楼|号|栋|幢|座|单元|楼|层|室|期|门|排|组|巷))")
_FILLERS = re.compile(
    r"(附近|旁边|边上|对面|一带|周边|周围|这里|那里|这边|那边|里面|外面|门口|楼下|楼上|"
    r"跟前|前面|后面|处|的)"
)
_NON_WORD = re.compile(r"[^\w]|_")
_SITE = re.compile(
    r"^(.+?(小区|社区|花园|家园|公寓|大厦|广场|苑|园|村|里|城|庭|府|湾|院|路|街|大道|巷|胡同))"
)
_ROAD = re.compile(r"(?:(?![与和及跟同])[\u4e00-\u9fff\d]){1,4}?(?:大道|大街|路|街|巷)")
_JUNCTION = re.compile(r"(与|和|交叉口|交汇处|路口|口$)")
_BUILDING = re.compile(r"(\d+)栋")
_UNIT = re.compile(r"(\d+)单元")
_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}


def _numeral_value(text: str) -> int | None:
    """The value of a Chinese numeral up to the hundreds (三, 十二, 二十, 一百零五)."""
    if all(c in _DIGITS for c in text):
        return int("".join(str(_DIGITS[c]) for c in text))
    total, current = 0, 0
    for char in text:
        if char in _DIGITS:
            current = _DIGITS[char]
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        elif char == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


def _arabic(match: re.Match[str]) -> str:
    value = _numeral_value(match.group(1))
    return match.group(1) if value is None else str(value)


@lru_cache(maxsize=8192)
def place_key(location: str | None) -> str:
    """A location reduced to a key that different wordings of one place share.

    Returns:
        The key; empty when the location names no place (blank, or only coordinates).
    """
    text = unicodedata.normalize("NFKC", location or "").lower()
    text = _COORDINATES.sub("", text)
    text = _NON_WORD.sub("", text)
    for pattern in (_PROVINCE, _CITY, _DISTRICT, _STREET_OFFICE):
        stripped = pattern.sub("", text, count=1)
        # Never strip a whole place away (「幸福区」 alone stays).
        if len(stripped) >= 2:
            text = stripped
    text = text.replace("社区", "小区")
    text = _NUMERAL_UNIT.sub(_arabic, text)
    text = re.sub(r"(\d+)(号楼|幢|座)", r"\1栋", text)
    text = re.sub(r"(\d+)号(?=\d+单元)", r"\1栋", text)
    text = re.sub(r"(\d+)门(?!\w*(口|前))", r"\1单元", text)
    text = _FILLERS.sub("", text)
    return text


@dataclass(frozen=True)
class PlaceParts:
    """What a place key is compared by (computed once per key): its site (estate, road …),
    building and unit numbers, the roads it names, whether it is a junction, and its
    character pairs."""

    site: str
    building: str | None
    unit: str | None
    roads: frozenset[str]
    junction: bool
    bigrams: frozenset[str]


@lru_cache(maxsize=65536)
def place_parts(key: str) -> PlaceParts:
    """Splits a place key into the parts it is compared by."""
    road = _ROAD.match(key)
    site_match = _SITE.match(key)
    building = _BUILDING.search(key)
    unit = _UNIT.search(key)
    names = frozenset(m.group(0) for m in _ROAD.finditer(key))
    return PlaceParts(
        site=road.group(0) if road is not None else (site_match.group(1) if site_match else ""),
        building=building.group(1) if building else None,
        unit=unit.group(1) if unit else None,
        roads=names,
        junction=len(names) >= 2 and bool(_JUNCTION.search(key)),
        bigrams=_bigrams(key),
    )


def buildings(text: str) -> frozenset[str]:
    """The building numbers a place-key-form text names (「滨湖花园5栋|我家住7栋顶楼」 → 5, 7)."""
    return frozenset(_BUILDING.findall(text))


def other_buildings(a: str, b: str) -> bool:
    """Whether two reports (place-key-form texts) each name a building and share none.

    「反映滨湖花园5栋2单元电梯频繁故障」 and 「滨湖花园1栋电梯按钮失灵」 are at one estate and
    name it alike, but not at one place.
    """
    ours, theirs = buildings(a), buildings(b)
    return bool(ours and theirs) and not ours & theirs


def roads(key: str) -> frozenset[str]:
    """The road names in a place key (「桂园路与石桥路交叉口」 → 桂园路, 石桥路)."""
    return place_parts(key).roads


def _bigrams(text: str) -> frozenset[str]:
    if len(text) < 2:
        return frozenset({text}) if text else frozenset()
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def text_similarity(a: str, b: str) -> float:
    """How alike two place keys are, from 0 (nothing shared, or unknown) to 1 (the same)."""
    if not a or not b:
        return 0.0
    if a == b:
        return SAME
    pa, pb = place_parts(a), place_parts(b)
    if pa.junction and pb.junction and len(pa.roads & pb.roads) >= 2:
        return SAME
    if (pa.junction and b in pa.roads) or (pb.junction and a in pb.roads):
        return ON_THE_ROAD
    if pa.site and pa.site == pb.site:
        if pa.site in pa.roads and not (pa.building or pb.building):
            return ON_THE_ROAD
        if pa.building and pb.building:
            if pa.building != pb.building:
                return SAME_SITE_OTHER_BUILDING
            if pa.unit and pb.unit and pa.unit != pb.unit:
                return SAME_BUILDING_OTHER_UNIT
            return SAME
        return SAME_SITE_NO_BUILDING
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    if len(shorter) >= MIN_CONTAINED and shorter in longer:
        return ON_THE_ROAD if shorter in place_parts(longer).roads else CONTAINED
    ga, gb = pa.bigrams, pb.bigrams
    if not ga or not gb:
        return 0.0
    common = len(ga & gb)
    jaccard = common / (len(ga) + len(gb) - common)
    containment = common / min(len(ga), len(gb))
    return min(max(jaccard, CONTAINMENT_WEIGHT * containment), MAX_FUZZY)


_NUMBERED = re.compile(r"\d+(栋|单元|号|楼|层|室|期|门|排|组|巷)?")
_GENERIC = re.compile(
    r"(小区|社区|花园|家园|公园|广场|大道|大街|中心|公司|学校|小学|中学|医院|市场|菜场|工地|"
    r"地铁|公交|车站|路口|大门|东门|西门|南门|北门|[路街巷站口门村苑园区楼])"
)
"""Words every place has: a shared 「小区」 or 「路口」 names no particular place."""
MIN_MENTION = 2
"""A shared stretch shorter than this is no mention (one character says nothing)."""


def mentioned(key: str, text: str) -> float:
    """How much of a place key another report's text names: the longest stretch of the key
    found in the text, by the characters it shares besides words every place has, over as
    many of the key's.

    Residents name the place in their description as often as in the location
    (「石桥站C口上行扶梯坏了」 at 「地铁石桥站C口」), and two reports of one problem often put
    the place in different fields. Both ``key`` and ``text`` are :func:`place_key` forms.
    Numbered parts (3栋, 2单元, 88号) are left out of the key: every estate has a building 3.
    Words every place has (小区, 路口 …) count neither way: a stretch needs
    :data:`MIN_MENTION` other characters, and 「幸福里」 named in a text is the whole of
    「幸福里小区」.
    """
    key = _NUMBERED.sub("", key)
    size = len(key)
    named = len(_GENERIC.sub("", key))
    if named < MIN_MENTION or not text:
        return 0.0
    best = 0
    for length in range(size, MIN_MENTION - 1, -1):
        if length < best:
            break
        for start in range(size - length + 1):
            stretch = key[start : start + length]
            own = len(_GENERIC.sub("", stretch))
            if own >= MIN_MENTION and own > best and stretch in text:
                best = own
    return min(best / named, 1.0)


EARTH_RADIUS_M = 6_371_000.0
GEO_STEPS = ((50.0, 1.0), (150.0, 0.85), (400.0, 0.6), (1000.0, 0.3))
"""Distance in metres up to which two points count as this alike."""


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points, in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def geo_similarity(
    a: tuple[float | None, float | None], b: tuple[float | None, float | None]
) -> float | None:
    """How near two coordinates are (1 within 50 m … 0 beyond 1 km); None when either is
    missing."""
    if None in a or None in b:
        return None
    metres = distance_m(a[0], a[1], b[0], b[1])  # type: ignore[arg-type]
    for limit, value in GEO_STEPS:
        if metres <= limit:
            return value
    return 0.0


def place_similarity(
    key_a: str,
    key_b: str,
    coords_a: tuple[float | None, float | None] = (None, None),
    coords_b: tuple[float | None, float | None] = (None, None),
) -> float:
    """How alike two places are: the better of their texts and their coordinates."""
    text = text_similarity(key_a, key_b)
    geo = geo_similarity(coords_a, coords_b)
    return text if geo is None else max(text, geo)
