"""The evaluation sets stay separate from the training data, and the data sets are big enough.

Training data: every NLU file under data/ (recursively, so data/nlu/reports/*.yml counts too).
Evaluation data: tests/nlu/dev_civic.tsv, tests/nlu/dev_oos.tsv (the independent development
sets, see tests/nlu/README.md), tests/nlu/sealed_civic.tsv, tests/nlu/sealed_oos.tsv,
tests/nlu/sealed{2,…,6}_civic.tsv and tests/nlu/sealed{2,…,6}_oos.tsv (the sealed sets, several
of them now development sets: bench/routing.py's SEALED_SETS),
tests/nlu/dev_faq.tsv (the FAQ development set), tests/nlu/test_nlu.yml and
tests/nlu/routing_holdout.tsv.

No evaluation sentence may be a copy or a near copy of a training example: a near copy is a
difflib ratio of at least NEAR_COPY once punctuation and whitespace are removed.
"""

from __future__ import annotations

import difflib
import re
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.routing import SEALED_SETS  # the prefixes of the sealed sets, and their status
from hotline.config import PROJECT_ROOT

DATA_DIR = PROJECT_ROOT / "data"
NLU_TESTS = PROJECT_ROOT / "tests" / "nlu"
DEV_CIVIC = NLU_TESTS / "dev_civic.tsv"
DEV_OOS = NLU_TESTS / "dev_oos.tsv"
DEV_FAQ = NLU_TESTS / "dev_faq.tsv"
TEST_NLU = NLU_TESTS / "test_nlu.yml"
ROUTING_HOLDOUT = NLU_TESTS / "routing_holdout.tsv"

# [text](entity), [text]{"entity": ...}
ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\{[^}]*\}")
NEAR_COPY = 0.8
# A pair is only scored with difflib when it shares at least this share of the dev sentence's
# character bigrams (and at least one). Over 20,000 random edits of training sentences, pairs
# with a ratio of 0.8 or more kept at least 50 % of the bigrams, so 0.3 is a wide margin; on
# the real data the index finds the same pairs as comparing every pair.
MIN_SHARED_BIGRAMS = 0.3

MIN_DEV_CIVIC = 600
MIN_DEV_OOS = 300
MIN_DEV_PER_CATEGORY = 15
MIN_TRAIN_PER_CATEGORY = 150
MIN_TEST_PER_CATEGORY = 10


# --- reading the data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    category: str | None  # the service category of a report example, else None
    source: str


def strip_annotations(text: str) -> str:
    return ANNOTATION.sub(lambda m: m.group(1) or m.group(2), text).strip()


def _category(intent: str, metadata: Any) -> str | None:
    if isinstance(metadata, dict) and metadata.get("category"):
        return str(metadata["category"])
    if intent.startswith("report_") and intent != "report_start":
        return intent.removeprefix("report_")  # the old one-intent-per-category layout
    return None


def nlu_examples(path: Path) -> Iterator[Example]:
    """The intent examples of one Rasa NLU YAML file (regex, lookup and synonym blocks skipped)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        return
    source = str(path.relative_to(PROJECT_ROOT))
    for block in data.get("nlu") or []:
        if not isinstance(block, dict) or "intent" not in block:
            continue
        intent = str(block["intent"])
        block_category = _category(intent, block.get("metadata"))
        examples = block.get("examples") or ""
        if isinstance(examples, str):
            for line in examples.splitlines():
                line = line.strip()
                if line.startswith("- "):
                    yield Example(strip_annotations(line[2:]), intent, block_category, source)
        else:  # the list form: - text: ...  metadata: ...
            for item in examples:
                text = str(item.get("text", "")) if isinstance(item, dict) else str(item)
                category = block_category
                if isinstance(item, dict) and isinstance(item.get("metadata"), dict):
                    category = _category(intent, item["metadata"]) or category
                yield Example(strip_annotations(text), intent, category, source)


def training_examples() -> list[Example]:
    out: list[Example] = []
    for path in sorted(DATA_DIR.rglob("*.yml")):
        out.extend(nlu_examples(path))
    return out


def read_tsv(path: Path) -> list[tuple[str, list[str]]]:
    """text<TAB>codes lines (codes comma-separated, the first the best)."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        assert len(fields) == 2, f"{path.name}:{number}: expected text<TAB>codes: {line!r}"
        text, codes = fields
        rows.append((text.strip(), [c.strip() for c in codes.split(",") if c.strip()]))
    return rows


def read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def sealed_paths(prefix: str) -> tuple[Path, Path]:
    """The civic and out-of-scope files of one sealed set."""
    return NLU_TESTS / f"{prefix}_civic.tsv", NLU_TESTS / f"{prefix}_oos.tsv"


def dev_sentences() -> list[tuple[str, str]]:
    """(sentence, source) for every evaluation sentence."""
    out = [(text, DEV_CIVIC.name) for text, _ in read_tsv(DEV_CIVIC)]
    out += [(text, DEV_OOS.name) for text in read_lines(DEV_OOS)]
    for civic, oos in map(sealed_paths, SEALED_SETS):
        out += [(text, civic.name) for text, _ in read_tsv(civic)]
        out += [(text, oos.name) for text in read_lines(oos)]
    out += [(text, DEV_FAQ.name) for text, _ in read_tsv(DEV_FAQ)]  # text<TAB>topic
    out += [(ex.text, TEST_NLU.name) for ex in nlu_examples(TEST_NLU)]
    out += [(text, ROUTING_HOLDOUT.name) for text, _ in read_tsv(ROUTING_HOLDOUT)]
    return out


# --- the near-copy checker ----------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower case, without punctuation, symbols or whitespace."""
    return "".join(
        ch
        for ch in unicodedata.normalize("NFKC", text).casefold()
        if not ch.isspace() and unicodedata.category(ch)[0] not in "PSZ"
    )


def _bigrams(text: str) -> set[str]:
    padded = f"\x02{text}\x03"  # so that one-character sentences have bigrams too
    return {padded[i : i + 2] for i in range(len(padded) - 1)}


def find_near_copies(
    dev: Iterable[str], train: Iterable[str], threshold: float = NEAR_COPY
) -> list[tuple[str, str, float]]:
    """(dev sentence, training sentence, ratio) for every pair at or above the threshold.

    Candidates come from an inverted index of character bigrams; each is then checked with
    SequenceMatcher, whose second sequence (the one it caches) is the dev sentence, set once.
    """
    train_norm: dict[str, str] = {}
    for sentence in train:
        train_norm.setdefault(normalise(sentence), sentence)
    keys = list(train_norm)
    index: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        for gram in _bigrams(key):
            index[gram].append(i)

    found: list[tuple[str, str, float]] = []
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    for sentence in dict.fromkeys(dev):
        norm = normalise(sentence)
        if not norm:
            continue
        if norm in train_norm:
            found.append((sentence, train_norm[norm], 1.0))
            continue
        grams = _bigrams(norm)
        shared: Counter[int] = Counter()
        for gram in grams:
            shared.update(index.get(gram, ()))
        needed = max(1, int(MIN_SHARED_BIGRAMS * len(grams)))
        matcher.set_seq2(norm)
        for i, count in shared.items():
            if count < needed:
                continue
            matcher.set_seq1(keys[i])
            if (
                matcher.real_quick_ratio() >= threshold
                and matcher.quick_ratio() >= threshold
                and matcher.ratio() >= threshold
            ):
                found.append((sentence, train_norm[keys[i]], round(matcher.ratio(), 3)))
    return found


def _report(pairs: list[tuple[str, str, float]]) -> str:
    return "\n".join(
        f"  {ratio:.2f}  dev: {dev}\n        train: {train}" for dev, train, ratio in pairs
    )


# --- tests: the checker can fail ----------------------------------------------------------------


def test_the_checker_flags_a_planted_near_copy_and_passes_a_different_sentence() -> None:
    train = [
        "关于枫林路夜间施工噪音扰民的问题",
        "我想给家里的老人申请高龄津贴",
        "小区电梯坏了三天没人修",
    ]
    one_character_changed = "关于枫林路夜间施工噪声扰民的问题"
    punctuation_only = "小区电梯坏了，三天没人修！"
    different = "明天早上六点半叫我起床"
    pairs = find_near_copies([one_character_changed, punctuation_only, different], train)
    assert {(dev, train) for dev, train, _ in pairs} == {
        (one_character_changed, "关于枫林路夜间施工噪音扰民的问题"),
        (punctuation_only, "小区电梯坏了三天没人修"),
    }
    assert find_near_copies([different], train) == []


def test_the_checker_finds_a_planted_near_copy_among_the_real_training_data() -> None:
    train = [ex.text for ex in training_examples()]
    planted = next(text for text in train if len(normalise(text)) >= 12)
    middle = len(planted) // 2
    changed = planted[:middle] + ("甲" if planted[middle] != "甲" else "乙") + planted[middle + 1 :]
    pairs = find_near_copies([changed], train)
    assert any(found == planted for _, found, _ in pairs), (changed, planted)


# --- tests: the data ----------------------------------------------------------------------------


def test_no_evaluation_sentence_is_in_or_near_the_training_data() -> None:
    train = [ex.text for ex in training_examples()]
    dev = dev_sentences()
    assert len(train) > 0 and len(dev) > 0
    started = time.perf_counter()
    pairs = find_near_copies([text for text, _ in dev], train)
    elapsed = time.perf_counter() - started
    sources = {text: source for text, source in dev}
    pairs = [(f"[{sources[d]}] {d}", t, r) for d, t, r in pairs]
    assert pairs == [], (
        f"{len(pairs)} evaluation sentence(s) copy or nearly copy training examples "
        f"(ratio >= {NEAR_COPY}); rewrite the evaluation sentence, not the training data:\n"
        + _report(pairs)
    )
    assert elapsed < 60, f"the near-copy check took {elapsed:.1f} s"


@pytest.mark.parametrize(
    ("civic_path", "oos_path", "min_civic", "min_oos", "min_per_category"),
    [
        (DEV_CIVIC, DEV_OOS, MIN_DEV_CIVIC, MIN_DEV_OOS, MIN_DEV_PER_CATEGORY),
        (*sealed_paths("sealed"), 400, 190, 8),
        (*sealed_paths("sealed2"), 390, 190, 7),
        (*sealed_paths("sealed3"), 390, 190, 6),
        (*sealed_paths("sealed4"), 390, 190, 6),
        (*sealed_paths("sealed5"), 390, 190, 6),
        (*sealed_paths("sealed6"), 390, 190, 6),
    ],
    ids=["dev", *SEALED_SETS],
)
def test_the_evaluation_sets_are_big_enough_and_use_catalogue_codes(
    civic_path: Path, oos_path: Path, min_civic: int, min_oos: int, min_per_category: int
) -> None:
    from hotline.casework.catalogue import get_catalogue

    codes = {category.code for category in get_catalogue().categories}
    civic = read_tsv(civic_path)
    oos = read_lines(oos_path)
    assert len(civic) >= min_civic, f"{civic_path.name}: {len(civic)} lines"
    assert len(oos) >= min_oos, f"{oos_path.name}: {len(oos)} lines"
    assert all("\t" not in line for line in oos)
    unknown = sorted({c for _, labels in civic for c in labels} - codes)
    assert unknown == [], f"{civic_path.name}: codes not in the catalogue: {unknown}"
    assert all(text and labels for text, labels in civic)
    assert all(len(set(labels)) == len(labels) for _, labels in civic)
    texts = [text for text, _ in civic]
    assert len(set(texts)) == len(texts), f"duplicate lines in {civic_path.name}"
    assert len(set(oos)) == len(oos), f"duplicate lines in {oos_path.name}"
    best = Counter(labels[0] for _, labels in civic)
    thin = {code: best[code] for code in sorted(codes) if best[code] < min_per_category}
    assert thin == {}, f"categories with fewer than {min_per_category} lines: {thin}"


def test_each_category_has_enough_training_examples() -> None:
    from hotline.casework.catalogue import get_catalogue

    counts = Counter(ex.category for ex in training_examples() if ex.category)
    thin = {
        category.code: counts[category.code]
        for category in get_catalogue().categories
        if counts[category.code] < MIN_TRAIN_PER_CATEGORY
    }
    assert thin == {}, (
        f"categories with fewer than {MIN_TRAIN_PER_CATEGORY} training examples (intent 'report' "
        "with metadata category, in data/nlu/reports/<code>.yml and elsewhere under data/, plus "
        f"any old report_<code> blocks): {thin}"
    )


def test_the_old_test_set_covers_every_category() -> None:
    from hotline.casework.catalogue import get_catalogue

    examples = list(nlu_examples(TEST_NLU))
    categories = Counter(ex.category for ex in examples if ex.category)
    for category in get_catalogue().categories:
        assert categories[category.code] >= MIN_TEST_PER_CATEGORY, category.code
    assert sum(ex.intent == "out_of_scope" for ex in examples) >= MIN_TEST_PER_CATEGORY
