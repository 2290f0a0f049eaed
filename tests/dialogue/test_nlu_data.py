"""The held-out NLU test set stays separate from the training data."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import yaml

from hotline.config import PROJECT_ROOT

ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)|\[([^\]]+)\]\{[^}]+\}")
NEAR_COPY = 0.7


def _examples(path: Path) -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for block in data.get("nlu", []):
        for line in str(block.get("examples", "")).splitlines():
            if line.startswith("- "):
                text = ANNOTATION.sub(lambda m: m.group(1) or m.group(2), line[2:]).strip()
                out[text] = str(block.get("intent"))
    return out


def test_no_test_sentence_is_in_or_near_the_training_data() -> None:
    train: dict[str, str] = {}
    for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")):
        train.update(_examples(path))
    test = _examples(PROJECT_ROOT / "tests" / "nlu" / "test_nlu.yml")
    assert len(test) >= 17 * 10
    assert not set(test) & set(train)
    near = []
    for sentence in test:
        matcher = difflib.SequenceMatcher(None, sentence)
        for candidate in train:
            matcher.set_seq1(candidate)
            if (
                matcher.real_quick_ratio() >= NEAR_COPY
                and matcher.quick_ratio() >= NEAR_COPY
                and matcher.ratio() >= NEAR_COPY
            ):
                near.append((sentence, candidate))
    assert near == []


def test_each_category_intent_has_enough_examples() -> None:
    from hotline.catalogue import get_catalogue

    train: dict[str, str] = {}
    for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")):
        train.update(_examples(path))
    test = _examples(PROJECT_ROOT / "tests" / "nlu" / "test_nlu.yml")
    for category in get_catalogue().categories:
        assert list(train.values()).count(category.intent) >= 40, category.intent
        assert list(test.values()).count(category.intent) >= 10, category.intent
    assert list(test.values()).count("out_of_scope") >= 10
