"""Routing quality: accuracy, per-category precision/recall/F1 and a confusion table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hotline.casework.routing import NO_CASE
from hotline.errors import ValidationError


@dataclass(frozen=True)
class Example:
    """One labelled line: the text and the acceptable categories (``-`` for no category)."""

    text: str
    expected: tuple[str, ...]


def parse_tsv(lines: Iterable[str], known: set[str]) -> list[Example]:
    """Reads ``text<TAB>expected`` lines; ``expected`` may list codes joined by ``|`` or ``,``.

    Raises:
        ValidationError: Naming the line that is malformed or names an unknown code.
    """
    examples = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\n").rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        if "\t" not in line:
            raise ValidationError(f"line {number}", "expected 'text<TAB>expected'")
        text, expected = line.rsplit("\t", 1)
        codes = tuple(c.strip() for c in expected.replace(",", "|").split("|") if c.strip())
        unknown = [c for c in codes if c != NO_CASE and c not in known]
        if not text.strip() or not codes or unknown:
            raise ValidationError(
                f"line {number}", f"bad text or unknown code {unknown or expected!r}"
            )
        examples.append(Example(text=text, expected=codes))
    return examples


def parse_out_of_scope(lines: Iterable[str]) -> list[Example]:
    """Reads one out-of-scope utterance per line: each expects no category (``-``)."""
    return [
        Example(text=line.strip(), expected=(NO_CASE,))
        for line in lines
        if line.strip() and not line.startswith("#")
    ]


def two_stage_summary(pairs: list[tuple[Example, str | None]]) -> dict[str, Any]:
    """Civic accuracy (messages that expect a category) and the out-of-scope routed rate."""
    civic = [(e, p) for e, p in pairs if NO_CASE not in e.expected]
    oos = [(e, p) for e, p in pairs if NO_CASE in e.expected]
    civic_ok = sum(p in e.expected for e, p in civic)
    civic_none = sum(p is None for _, p in civic)
    routed = sum(p is not None for _, p in oos)
    return {
        "civic": len(civic),
        "civic_accuracy": civic_ok / len(civic) if civic else 0.0,
        "civic_no_category": civic_none / len(civic) if civic else 0.0,
        "out_of_scope": len(oos),
        "out_of_scope_routed": routed / len(oos) if oos else 0.0,
    }


def score(pairs: list[tuple[Example, str | None]]) -> dict[str, Any]:
    """Scores predictions (None = no category) against the examples.

    A prediction that is any of the acceptable codes counts as correct and as that code.
    """
    gold_pred: list[tuple[str, str]] = []
    for example, predicted in pairs:
        label = predicted or NO_CASE
        gold = label if label in example.expected else example.expected[0]
        gold_pred.append((gold, label))
    total = len(gold_pred)
    correct = sum(g == p for g, p in gold_pred)
    labels = sorted({g for g, _ in gold_pred} | {p for _, p in gold_pred})
    per_label: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(g == p == label for g, p in gold_pred)
        fp = sum(p == label and g != label for g, p in gold_pred)
        fn = sum(g == label and p != label for g, p in gold_pred)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": float(tp + fn),
        }
    supported = [v["f1"] for v in per_label.values() if v["support"] > 0]
    confusion = Counter(gold_pred)
    return {
        "total": total,
        "accuracy": correct / total if total else 0.0,
        "macro_f1": sum(supported) / len(supported) if supported else 0.0,
        "per_category": per_label,
        "confusion": [
            {"expected": g, "predicted": p, "count": n}
            for (g, p), n in sorted(confusion.items(), key=lambda kv: (-kv[1], kv[0]))
            if g != p
        ],
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as text tables."""
    lines = []
    if "two_stage" in report:
        t = report["two_stage"]
        lines += [
            f"civic accuracy        {t['civic_accuracy']:.3f} ({t['civic']} messages; "
            f"{t['civic_no_category']:.3f} got no category)",
            f"out of scope routed   {t['out_of_scope_routed']:.3f} ({t['out_of_scope']} messages)",
            "",
        ]
    lines += [
        f"examples  {report['total']}",
        f"accuracy  {report['accuracy']:.3f}",
        f"macro-F1  {report['macro_f1']:.3f}",
        "",
        f"{'category':22} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>7}",
    ]
    for label, m in report["per_category"].items():
        lines.append(
            f"{label:22} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1']:6.3f} "
            f"{int(m['support']):7d}"
        )
    lines += ["", "confusions (expected -> predicted: count)"]
    lines += [f"  {c['expected']} -> {c['predicted']}: {c['count']}" for c in report["confusion"]]
    if not report["confusion"]:
        lines.append("  none")
    return "\n".join(lines)
