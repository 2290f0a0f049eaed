"""Routing quality: the project's NLU against the ``rasa init`` pipeline and a keyword router.

Category level: a ``report_*`` intent stands for its catalogue category, every other intent
(greetings, FAQ, emergencies, fallback, ...) for ``-`` (no case). The three routers are scored
on the same held-out file, tests/nlu/test_nlu.yml, with :func:`hotline.evaluation.score`.
The project's pipeline is also cross-validated on data/nlu (folds and epochs from
``BENCH_CV_FOLDS`` / ``BENCH_CV_EPOCHS``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.common import (
    MODEL,
    RASA,
    RASA_PYTHON,
    ROOT,
    env_int,
    markdown_table,
    rasa_env,
    run_timed,
)
from hotline.catalogue import Catalogue, get_catalogue
from hotline.evaluation import Example, score
from hotline.keyword_router import KeywordRouter, category_of_intent
from hotline.routing import NO_CASE

TEST_FILE = ROOT / "tests" / "nlu" / "test_nlu.yml"
NLU_DATA = ROOT / "data" / "nlu"
PROJECT_CONFIG = ROOT / "config.yml"


@dataclass
class Prediction:
    """One test message: its gold intent and the predicted one."""

    text: str
    intent: str
    predicted: str


@dataclass
class RouterResult:
    """How one router did on one test set."""

    name: str
    predictions: list[Prediction]
    intent_macro_f1: float | None = None
    train_seconds: float | None = None
    note: str = ""
    category: dict[str, Any] = field(default_factory=dict)


def load_test_examples(path: Path = TEST_FILE) -> list[tuple[str, str]]:
    """``(plain text, intent)`` pairs from a Rasa NLU YAML file, entity markup removed."""
    import re

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    pairs = []
    for block in data.get("nlu", []):
        if "intent" not in block:
            continue
        for line in str(block.get("examples", "")).splitlines():
            line = line.strip()
            if not line.startswith("- "):
                continue
            text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line[2:].strip())
            text = re.sub(r"\[([^\]]+)\]\{[^}]*\}", r"\1", text)
            pairs.append((text, str(block["intent"])))
    return pairs


def category_scores(predictions: Sequence[Prediction], catalogue: Catalogue) -> dict[str, Any]:
    """Scores predicted against gold categories (report intents -> category, else ``-``)."""
    pairs = []
    for p in predictions:
        gold = category_of_intent(p.intent, catalogue)
        predicted = category_of_intent(p.predicted, catalogue)
        pairs.append((Example(p.text, (gold,)), None if predicted == NO_CASE else predicted))
    return score(pairs)


def keyword_result(catalogue: Catalogue) -> RouterResult:
    """The keyword router on the held-out file (its prediction is already a category)."""
    router = KeywordRouter.from_catalogue(catalogue)
    predictions = []
    for text, intent in load_test_examples():
        code = router.route(text)
        predicted = catalogue.get(code).intent if code != NO_CASE else "-"
        predictions.append(Prediction(text, intent, predicted))
    return RouterResult("keyword router (catalogue keywords)", predictions)


def _read_predictions(out: Path) -> list[Prediction]:
    entries: list[dict[str, Any]] = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = out / name
        if path.exists():
            entries += json.loads(path.read_text(encoding="utf-8"))
    return [
        Prediction(
            text=str(e["text"]),
            intent=str(e["intent"]),
            predicted=str((e.get("intent_prediction") or {}).get("name") or "-"),
        )
        for e in entries
    ]


def _intent_macro(out: Path) -> float | None:
    path = out / "intent_report.json"
    if not path.exists():
        return None
    return float(json.loads(path.read_text(encoding="utf-8"))["macro avg"]["f1-score"])


def evaluate_model(model: Path, out: Path, log: Path) -> tuple[list[Prediction], float | None]:
    """``rasa test nlu`` on the held-out file; every prediction and the intent macro-F1."""
    run_timed(
        [
            str(RASA),
            "test",
            "nlu",
            "--nlu",
            str(TEST_FILE),
            "-m",
            str(model),
            "--out",
            str(out),
            "--successes",
        ],
        ROOT,
        log,
        rasa_env(),
    )
    return _read_predictions(out), _intent_macro(out)


def train_nlu(config: Path, out: Path, log: Path) -> float:
    """Trains an NLU-only model on data/nlu into ``out/nlu.tar.gz``; returns seconds."""
    return run_timed(
        [
            str(RASA),
            "train",
            "nlu",
            "-c",
            str(config),
            "--nlu",
            str(NLU_DATA),
            "--out",
            str(out),
            "--fixed-model-name",
            "nlu",
            "--num-threads",
            "2",
        ],
        ROOT,
        log,
        rasa_env(),
    )


def rasa_default_pipeline() -> list[dict[str, Any]]:
    """The pipeline Rasa fills in when config.yml names none (as ``rasa init`` writes it)."""
    path = subprocess.run(
        [
            str(RASA_PYTHON),
            "-c",
            "import rasa.engine.recipes.default_recipe as r, pathlib;"
            "print(pathlib.Path(r.__file__).parent / 'config_files' / 'default_config.yml')",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=rasa_env(),
    ).stdout.strip()
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return list(data["pipeline"])


def default_pipeline_result(
    init_config: Path, workdir: Path, epochs: int | None = None
) -> RouterResult:
    """Trains the ``rasa init`` config (language set to zh) on our data and tests it.

    Rasa fills the empty pipeline with its default, whose WhitespaceTokenizer refuses ``zh``.
    When that happens the same default pipeline is trained with JiebaTokenizer (no project
    dictionary) in the tokenizer's place, the one change needed for Chinese; the note says so.
    ``epochs`` (``BENCH_DEFAULT_EPOCHS``) replaces the default's 100 epochs of DIET and
    ResponseSelector, to fit a small machine; the note says so too.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load(init_config.read_text(encoding="utf-8"))
    config["language"] = "zh"
    config.pop("policies", None)
    first = workdir / "init_zh.yml"
    first.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    out = workdir / "init_zh"
    note = "as `rasa init` writes it, language zh"
    try:
        seconds = train_nlu(first, out, workdir / "train_init_zh.log")
    except subprocess.CalledProcessError as exc:
        if "does not support the currently specified language" not in str(exc.output):
            raise
        pipeline = rasa_default_pipeline()
        for step in pipeline:
            if step.get("name") == "WhitespaceTokenizer":
                step["name"] = "JiebaTokenizer"
            if epochs is not None and "epochs" in step:
                step["epochs"] = epochs
        config["pipeline"] = pipeline
        second = workdir / "init_zh_jieba.yml"
        second.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        out = workdir / "init_zh_jieba"
        seconds = train_nlu(second, out, workdir / "train_init_zh_jieba.log")
        note = (
            "`rasa init` config, language zh: Rasa's default pipeline refuses zh "
            "(WhitespaceTokenizer), so the same pipeline with JiebaTokenizer"
            + (f", epochs {epochs} instead of 100" if epochs is not None else "")
        )
    predictions, macro = evaluate_model(out / "nlu.tar.gz", out / "results", workdir / "test.log")
    return RouterResult(
        "rasa init default pipeline", predictions, macro, train_seconds=seconds, note=note
    )


def project_result(workdir: Path) -> RouterResult:
    """The trained project model (models/hotline.tar.gz) on the held-out file."""
    out = workdir / "project"
    predictions, macro = evaluate_model(MODEL, out, workdir / "test_project.log")
    return RouterResult("project (config.yml, models/hotline.tar.gz)", predictions, macro)


def cv_config(workdir: Path, epochs: int | None) -> Path:
    """The project's config.yml, NLU only, with DIET/ResponseSelector epochs overridden."""
    config = yaml.safe_load(PROJECT_CONFIG.read_text(encoding="utf-8"))
    config.pop("policies", None)
    if epochs is not None:
        for step in config["pipeline"]:
            if step.get("name") in ("DIETClassifier", "ResponseSelector"):
                step["epochs"] = epochs
    path = workdir / "cv_config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def cross_validation(workdir: Path, folds: int, epochs: int | None) -> RouterResult:
    """``rasa test nlu --cross-validation`` of the project's pipeline on data/nlu."""
    out = workdir / "crossval"
    seconds = run_timed(
        [
            str(RASA),
            "test",
            "nlu",
            "--nlu",
            str(NLU_DATA),
            "--cross-validation",
            "--folds",
            str(folds),
            "-c",
            str(cv_config(workdir, epochs)),
            "--out",
            str(out),
            "--successes",
        ],
        ROOT,
        workdir / "crossval.log",
        rasa_env(),
    )
    return RouterResult(
        f"project pipeline, {folds}-fold cross-validation on data/nlu",
        _read_predictions(out),
        _intent_macro(out),
        train_seconds=seconds,
        note=f"epochs {epochs if epochs is not None else 'as in config.yml'}",
    )


def _per_category_rows(
    held_out: Sequence[RouterResult], crossval: RouterResult | None, catalogue: Catalogue
) -> list[list[Any]]:
    labels = [NO_CASE, *catalogue.codes]
    everything = [*held_out, *([crossval] if crossval else [])]
    rows = []
    for label in labels:
        row: list[Any] = [label]
        for result in everything:
            metrics = result.category["per_category"].get(label)
            row.append(metrics["f1"] if metrics else "n/a")
        for result in [*held_out[:1], *([crossval] if crossval else [])]:
            metrics = result.category["per_category"].get(label)
            row.append(int(metrics["support"]) if metrics else 0)
        rows.append(row)
    return rows


def _confusions(result: RouterResult, limit: int = 8) -> str:
    pairs = result.category["confusion"][:limit]
    if not pairs:
        return "none"
    return ", ".join(f"{c['expected']}→{c['predicted']} ×{c['count']}" for c in pairs)


def run_with_trainings(
    workdir: Path, init_config: Path | None
) -> tuple[str, list[tuple[str, float]]]:
    """Runs the routing benchmark.

    Returns:
        Its markdown section, and the trainings it timed as ``(what, seconds)``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    catalogue = get_catalogue()
    held_out: list[RouterResult] = [project_result(workdir)]
    if init_config is not None:
        default_epochs = env_int("BENCH_DEFAULT_EPOCHS", 0) or None
        held_out.append(default_pipeline_result(init_config, workdir / "default", default_epochs))
    held_out.append(keyword_result(catalogue))
    folds = env_int("BENCH_CV_FOLDS", 5)
    epochs_raw = env_int("BENCH_CV_EPOCHS", 0)
    epochs = epochs_raw or None
    crossval = cross_validation(workdir, folds, epochs) if folds >= 2 else None
    everything = held_out + ([crossval] if crossval else [])
    for result in everything:
        result.category = category_scores(result.predictions, catalogue)

    lines = ["### Routing quality", ""]
    lines.append(
        f"Held-out file `tests/nlu/test_nlu.yml` ({len(held_out[0].predictions)} messages). "
        "Category level: a report intent counts as its category, every other intent as `-`. "
        "Macro-F1 averages the categories (and `-`) that occur in the gold labels."
    )
    lines.append("")
    rows = [
        [
            r.name,
            r.category["macro_f1"],
            r.category["accuracy"],
            r.intent_macro_f1 if r.intent_macro_f1 is not None else "n/a",
            f"{r.train_seconds:.0f}" if r.train_seconds is not None else "–",
            r.note or "–",
        ]
        for r in everything
    ]
    lines.append(
        markdown_table(
            [
                "router",
                "category macro-F1",
                "category accuracy",
                "intent macro-F1",
                "train s",
                "note",
            ],
            rows,
        )
    )
    lines += ["", "Per-category F1:", ""]
    names = [r.name.split(" (")[0].split(",")[0] for r in everything]
    headers = ["category", *names, "held-out support"]
    if crossval:
        headers.append("cross-validation support")
    lines.append(markdown_table(headers, _per_category_rows(held_out, crossval, catalogue)))
    lines += ["", "Most confused pairs (gold→predicted):", ""]
    for result in everything:
        lines.append(f"- {result.name}: {_confusions(result)}")
    trainings = [
        (f"{r.name} ({r.note})" if r.note else r.name, r.train_seconds)
        for r in everything
        if r.train_seconds is not None
    ]
    return "\n".join(lines), trainings
