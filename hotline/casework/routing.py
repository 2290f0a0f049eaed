"""Routing helpers: categories named in a resident's words, case types, emergencies, FAQ topics."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from hotline.casework.catalogue import Catalogue, Category, get_catalogue
from hotline.casework.vocab import CaseType
from hotline.config import PROJECT_ROOT
from hotline.errors import ValidationError

VAGUE_PLACES = frozenset(
    [
        "小区",
        "家",
        "家里",
        "我家",
        "楼下",
        "楼上",
        "门口",
        "路边",
        "路上",
        "街上",
        "这里",
        "那里",
        "这边",
        "那边",
        "附近",
        "单位",
        "公司",
        "学校",
        "医院",
        "社区",
        "楼道",
        "外面",
        "对面",
        "隔壁",
    ]
)
"""Place words too vague for anyone to find the problem."""

CONFIDENT_ROUTE = 0.55
"""Below this intent confidence the resident chooses the category from buttons."""
REPORT_MIN_CHARS = 10
"""Characters of words (entities aside) that make an unclear message a description."""
UNCLEAR_INTENTS = frozenset({"inform", "nlu_fallback"})
"""Intents that, outside a form, say the NLU could not tell what the message asks for."""
OUT_OF_SCOPE = "out_of_scope"
UNSURE_OUT_OF_SCOPE = 0.8
"""Below this intent confidence, ``out_of_scope`` may be a terse or angry report (docs/nlu.md)."""
CLEAR_CATEGORY = 0.6
"""The category confidence that makes such a message a report."""
OUT_OF_SCOPE_REPORT_MIN_CHARS = 12
"""Characters of words (entities aside) that such a message needs to be a description."""
CIVIC_INTENTS = frozenset({"report", "faq"})
"""Intents that both say the message is a matter for the hotline (a problem or a question)."""

_CASE_TYPE_WORDS: tuple[tuple[CaseType, tuple[str, ...]], ...] = (
    (CaseType.PRAISE, ("表扬", "点赞", "感谢信", "锦旗")),
    (CaseType.COMPLAINT, ("投诉", "举报", "太差", "不作为", "乱收费")),
    (CaseType.SUGGESTION, ("建议", "希望能", "能不能增加", "提议")),
    (CaseType.CONSULTATION, ("咨询", "请问", "问一下", "怎么办理", "需要什么材料", "什么条件")),
)


_POSITION_WORDS = ("附近", "周边", "里面", "外面", "内", "里", "外", "旁", "边", "中")


def is_vague_location(text: str) -> bool:
    """Whether a location names no findable place (``小区``, ``楼下``, ``小区内`` …)."""
    cleaned = (text or "").strip().strip("，。,.!！ ")
    for prefix in ("在", "就在", "我们", "我", "这个", "那个"):
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix) :]
    for word in _POSITION_WORDS:
        if cleaned.endswith(word) and cleaned[: -len(word)] in VAGUE_PLACES:
            cleaned = cleaned[: -len(word)]
            break
    return len(cleaned) < 2 or cleaned in VAGUE_PLACES


_REPORT_VERBS = ("反映", "关于", "请求", "投诉", "举报", "建议", "咨询", "希望", "我要")
_NOT_IN_A_PLACE = ("不", "没")


def plausible_place(text: str) -> bool:
    """Whether a place the entity extractor tagged in a longer message can be a real place.

    The extractor sometimes tags the words around a place (反映小区 out of 反映小区东门路灯损坏,
    看不清路): a tagged span that starts with a report verb over a vague place, or that holds
    a negation, is not taken as the resident's place; the form then asks for it.
    """
    cleaned = (text or "").strip()
    for verb in _REPORT_VERBS:
        if cleaned.startswith(verb):
            cleaned = cleaned[len(verb) :]
    return not is_vague_location(cleaned) and not any(w in cleaned for w in _NOT_IN_A_PLACE)


def infer_case_type(text: str, stated: str | None = None) -> CaseType:
    """The case type the resident stated, else the one their words suggest, else 求助."""
    if stated:
        try:
            return CaseType.parse(stated, "type")
        except ValidationError:
            pass
    for case_type, words in _CASE_TYPE_WORDS:
        if any(word in text for word in words):
            return case_type
    return CaseType.HELP


def category_from_text(text: str, catalogue: Catalogue | None = None) -> Category | None:
    """The category a resident named, by code, Chinese name or a keyword (longest match wins)."""
    catalogue = catalogue or get_catalogue()
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    for category in catalogue.categories:
        if cleaned in (category.code, category.name) or category.name in cleaned:
            return category
    for category in catalogue.categories:
        if len(cleaned) >= 2 and cleaned in category.name:
            return category
    best: tuple[int, Category] | None = None
    for category in catalogue.categories:
        for keyword in category.keywords:
            if keyword in cleaned and (best is None or len(keyword) > best[0]):
                best = (len(keyword), category)
    return best[1] if best else None


@dataclass(frozen=True)
class EmergencyKind:
    """One kind of emergency: what to tell the resident first, and where the case goes."""

    kind: str
    keywords: tuple[str, ...]
    numbers: tuple[str, ...]
    advice: str
    category: str


@lru_cache(maxsize=1)
def emergency_kinds(
    path: Path = PROJECT_ROOT / "data" / "emergencies.yml",
) -> tuple[EmergencyKind, ...]:
    """The emergency kinds, in matching order (the last is the default)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(
        EmergencyKind(
            kind=k["kind"],
            keywords=tuple(k["keywords"]),
            numbers=tuple(str(n) for n in k["numbers"]),
            advice=k["advice"],
            category=k["category"],
        )
        for k in data["kinds"]
    )


def classify_emergency(text: str) -> EmergencyKind:
    """The emergency kind whose keywords appear in the text; the default kind otherwise."""
    kinds = emergency_kinds()
    for kind in kinds[:-1]:
        if any(word in text for word in kind.keywords):
            return kind
    return kinds[-1]


@dataclass(frozen=True)
class FaqTopic:
    """A policy question the assistant answers, and the category it is counted under."""

    topic: str
    title: str
    category: str


@lru_cache(maxsize=1)
def faq_topics(path: Path = PROJECT_ROOT / "data" / "faq_topics.yml") -> dict[str, FaqTopic]:
    """FAQ topics by name (the part after ``faq/``)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        t["topic"]: FaqTopic(topic=t["topic"], title=t["title"], category=t["category"])
        for t in data["topics"]
    }


NO_CASE = "-"
"""The label of messages that open no case (greetings, chit-chat, out of scope, fallback)."""

REPORT_INTENT = "report"
"""The intent of a resident reporting a problem; its category comes from the category stage."""


@dataclass(frozen=True)
class RankedCategory:
    """A category the NLU's category stage proposes, with its confidence."""

    code: str
    confidence: float


def category_ranking(
    parse: dict[str, Any], catalogue: Catalogue | None = None
) -> list[RankedCategory]:
    """The category stage's ranking on a parsed message (known codes only), best first."""
    catalogue = catalogue or get_catalogue()
    ranking = parse.get("category_ranking") or []
    if not ranking and isinstance(parse.get("category"), dict):
        ranking = [parse["category"]]
    out = []
    for entry in ranking if isinstance(ranking, list) else []:
        if not isinstance(entry, dict):
            continue
        code = str(entry.get("name") or "")
        if catalogue.has(code):
            out.append(RankedCategory(code, float(entry.get("confidence") or 0.0)))
    return out


def intent_name(parse: dict[str, Any]) -> str:
    """The name of the intent on a parsed message, or ``""`` when it carries none."""
    intent = parse.get("intent") or {}
    return str(intent.get("name") or "") if isinstance(intent, dict) else ""


def intent_confidence(parse: dict[str, Any]) -> float:
    """The confidence of the intent on a parsed message, 0 when it carries none."""
    intent = parse.get("intent") or {}
    return float(intent.get("confidence") or 0.0) if isinstance(intent, dict) else 0.0


def _best_confidence(parse: dict[str, Any], catalogue: Catalogue | None) -> float:
    """The category stage's confidence in its first choice, 0 when it ranked nothing."""
    ranked = category_ranking(parse, catalogue)
    return ranked[0].confidence if ranked else 0.0


def top_category(parse: dict[str, Any], catalogue: Catalogue | None = None) -> str | None:
    """The code the category stage ranks first on a parsed message, or None."""
    ranked = category_ranking(parse, catalogue)
    return ranked[0].code if ranked else None


def faq_topic_of(parse: dict[str, Any]) -> FaqTopic | None:
    """The FAQ topic chosen for a parsed policy question, if any."""
    selector = parse.get("response_selector") or {}
    if not isinstance(selector, dict):
        return None
    chosen = selector.get("faq") or selector.get("default") or {}
    key = str((chosen.get("response") or {}).get("intent_response_key") or "")
    return faq_topics().get(key.split("/", 1)[-1]) if key else None


def reads_as_report(message: dict[str, Any], min_chars: int = REPORT_MIN_CHARS) -> bool:
    """Whether a message the NLU did not take for a report still describes a problem.

    A long message that, once its place, phone and other entities are taken out, still has
    ``min_chars`` characters of words is a description (我是光明路88号的居民，楼下垃圾好几天
    没人清了，我手机138…), not a bare answer (幸福小区3栋2单元, 13812345678, 王先生).
    """
    text = str(message.get("text") or "")
    spans = sorted(
        (int(e["start"]), int(e["end"]))
        for e in message.get("entities") or []
        if isinstance(e.get("start"), int) and isinstance(e.get("end"), int)
    )
    kept, at = [], 0
    for start, end in spans:
        kept.append(text[at:start])
        at = max(at, end)
    kept.append(text[at:])
    words = [ch for ch in "".join(kept) if ch.isalpha()]
    return len(words) >= min_chars


def _torn_between_civic_intents(parse: dict[str, Any]) -> bool:
    """Whether the intent stage's two best guesses, under the fallback, were report and FAQ."""
    ranking = [
        str(entry.get("name") or "")
        for entry in parse.get("intent_ranking") or []
        if isinstance(entry, dict) and entry.get("name") != "nlu_fallback"
    ]
    return set(ranking[:2]) == CIVIC_INTENTS


def unclear_message_is_report(parse: dict[str, Any], catalogue: Catalogue | None = None) -> bool:
    """Whether a message outside any form that the NLU did not take for a report still starts
    one.

    A message taken for a form answer (``inform``) or not placed (``nlu_fallback``) does when
    it reads as a description and either the NLU took it for an answer, or the category stage
    is confident, or the intent stage only hesitated between a report and a policy question
    (二手房过户以后不动产证一般多久能拿到: a matter for the hotline either way; the form then
    confirms the category or offers the likeliest ones). A message taken for ``out_of_scope``
    without conviction does when it reads as a longer description and its category is clear:
    residents' terse or angry complaints (城北大排档的油烟能把人熏死) have neither report verbs
    nor politeness, and the intent stage leans to ``out_of_scope`` on them.
    """
    name = intent_name(parse)
    if name == OUT_OF_SCOPE:
        return (
            intent_confidence(parse) < UNSURE_OUT_OF_SCOPE
            and reads_as_report(parse, OUT_OF_SCOPE_REPORT_MIN_CHARS)
            and _best_confidence(parse, catalogue) >= CLEAR_CATEGORY
        )
    if name not in UNCLEAR_INTENTS or not reads_as_report(parse):
        return False
    return (
        name == "inform"
        or _torn_between_civic_intents(parse)
        or _best_confidence(parse, catalogue) >= CONFIDENT_ROUTE
    )


def emergency_category(parse: dict[str, Any], catalogue: Catalogue | None = None) -> str:
    """The category of an emergency case on a parsed message.

    An emergency of a known kind (fire, gas, violence …) goes to its kind's category. One of no
    known kind goes to the category the category stage names when it is confident
    (清水湖边有人往湖里倒废油: city management, not the police); to the default kind's otherwise.
    The resident is given the emergency numbers either way.
    """
    kind = classify_emergency(str(parse.get("text") or ""))
    if kind == emergency_kinds()[-1]:
        ranked = category_ranking(parse, catalogue)
        if ranked and ranked[0].confidence >= CONFIDENT_ROUTE:
            return ranked[0].code
    return kind.category


def category_for_parse(parse: dict[str, Any], catalogue: Catalogue | None = None) -> str | None:
    """The category the assistant would open a case under for a parsed message, or None.

    Reports take the category stage's best guess, and so does a long description the NLU
    took for a form answer or could not place (:func:`unclear_message_is_report`: the
    assistant starts the report for it); emergencies their kind's category; policy questions
    their topic's category. Everything else (greetings, chit-chat, out of scope, other
    fallbacks, status lookups) opens no case.
    """
    catalogue = catalogue or get_catalogue()
    name = intent_name(parse)
    if name == REPORT_INTENT or unclear_message_is_report(parse, catalogue):
        return top_category(parse, catalogue)
    if name == "emergency":
        return emergency_category(parse, catalogue)
    if name == "faq":
        topic = faq_topic_of(parse)
        return topic.category if topic is not None else top_category(parse, catalogue)
    return None
