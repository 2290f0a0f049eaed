"""Routing quality on the real-register dev set: the project's NLU against its candidates.

Every router is scored on the same messages, ``tests/nlu/dev_civic.tsv`` (civic messages, any
listed category is correct) and ``tests/nlu/dev_oos.tsv`` (out of scope: no category is
correct), which are never trained on (``tests/dialogue/test_nlu_data.py`` guards that). The
two-stage figures are the ones the product is judged by: civic accuracy and the share of
out-of-scope messages routed to a category.

Routers:
- the project's model (``config.yml``, ``models/hotline.tar.gz``);
- every candidate pipeline in ``bench/nlu_configs/`` trained on the same data;
- pipelines with one intent per category (the previous design, ``legacy_*.yml``, and the
  ``rasa init`` default pipeline) are trained on the same sentences with each report block
  relabelled ``report_<category>``;
- the keyword router over the catalogue's keywords.
NLU CPU per message is measured in-process by ``bench/nlu_parse.py`` for each model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.common import (
    MODEL,
    ROOT,
    env_int,
    markdown_table,
    rasa_env,
    run_timed,
)
from bench.keyword_router import KeywordRouter
from hotline.casework.catalogue import Catalogue, get_catalogue
from hotline.casework.routing import NO_CASE, REPORT_INTENT, category_for_parse
from hotline.reporting.evaluation import (
    Example,
    parse_out_of_scope,
    parse_tsv,
    score,
    two_stage_summary,
)
from rasa_runtime.command import RASA, RASA_PYTHON

DEV_DIR = ROOT / "tests" / "nlu"
_WRITTEN_APART = "written by a writer who had seen neither the training data nor the dev set"
SEALED_SETS = {
    "sealed": f"{_WRITTEN_APART}; it judged the choice of encoder on 2026-11-27 and is no "
    "longer sealed: a second development set",
    "sealed2": f"{_WRITTEN_APART}, and never used to choose anything",
    "sealed3": f"{_WRITTEN_APART}; it judged the plain-register data and the unsure "
    "out-of-scope rule on 2026-11-27 and is no longer sealed: a third development set",
    "sealed4": f"{_WRITTEN_APART}; it judged the sub-topic training examples on 2026-11-27 and "
    "is no longer sealed: a fourth development set",
    "sealed5": f"{_WRITTEN_APART}, and never used to choose anything",
    "sealed6": f"{_WRITTEN_APART}; it judged the out-of-scope examples with civic words on "
    "2026-11-27 and is no longer sealed: a fifth development set",
}
"""The evaluation sets written like the sealed ones, each with what it has been used for
(tests/nlu/README.md): their prefixes, ``{prefix}_civic.tsv`` and ``{prefix}_oos.tsv``."""
DATA = ROOT / "data"
CONFIGS = ROOT / "bench" / "nlu_configs"
LEGACY_PREFIX = "legacy_"


@dataclass
class RouterResult:
    """How one router did on the dev set."""

    name: str
    predictions: list[str | None]
    train_seconds: float | None = None
    cpu_ms: float | None = None
    note: str = ""
    report: dict[str, Any] = field(default_factory=dict)
    sealed: dict[str, dict[str, Any]] = field(default_factory=dict)
    faq: dict[str, float] = field(default_factory=dict)


def dev_examples(catalogue: Catalogue, prefix: str = "dev") -> list[Example]:
    """The civic messages of ``tests/nlu/{prefix}_civic.tsv`` followed by the out-of-scope ones
    of ``{prefix}_oos.tsv`` (``dev``: the development set; else one of ``SEALED_SETS``)."""
    civic = (DEV_DIR / f"{prefix}_civic.tsv").read_text(encoding="utf-8").splitlines()
    oos = (DEV_DIR / f"{prefix}_oos.tsv").read_text(encoding="utf-8").splitlines()
    return parse_tsv(civic, set(catalogue.codes)) + parse_out_of_scope(oos)


def faq_questions() -> list[tuple[str, str]]:
    """``(question, topic)`` pairs of the FAQ dev set; topic ``-`` when none answers it."""
    path = DEV_DIR / "dev_faq.tsv"
    if not path.exists():
        return []
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if "\t" in line:
            text, topic = line.rsplit("\t", 1)
            pairs.append((text.strip(), topic.strip()))
    return pairs


def faq_scores(parses: list[dict[str, Any]], questions: list[tuple[str, str]]) -> dict[str, float]:
    """How the FAQ answers went: right topic, wrong topic, and unanswerable ones answered."""
    answerable = [(p, t) for p, t in zip(parses, questions, strict=True) if t[1] != NO_CASE]
    unanswerable = [(p, t) for p, t in zip(parses, questions, strict=True) if t[1] == NO_CASE]

    def topic(parse: dict[str, Any]) -> str | None:
        if (parse.get("intent") or {}).get("name") != "faq":
            return None
        selector = (parse.get("response_selector") or {}).get("faq") or {}
        key = str((selector.get("response") or {}).get("intent_response_key") or "")
        return key.split("/", 1)[-1] or None

    right = sum(topic(p) == t[1] for p, t in answerable)
    wrong = sum(topic(p) not in (None, t[1]) for p, t in answerable)
    false = sum(topic(p) is not None for p, _ in unanswerable)
    return {
        "answered_right": right / len(answerable) if answerable else 0.0,
        "answered_wrong": wrong / len(answerable) if answerable else 0.0,
        "unanswerable_answered": false / len(unanswerable) if unanswerable else 0.0,
    }


def per_category_data(target: Path) -> Path:
    """A copy of ``data/`` whose report blocks are intents ``report_<category>`` again."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(DATA, target)
    for path in target.rglob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        blocks = data.get("nlu") if isinstance(data, dict) else None
        if not blocks:
            continue
        changed = False
        for block in blocks:
            category = (block.get("metadata") or {}).get("category")
            if block.get("intent") == REPORT_INTENT and category:
                block["intent"] = f"report_{category}"
                block.pop("metadata")
                changed = True
        if changed:
            path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return target


def as_two_stage(parse: dict[str, Any], catalogue: Catalogue) -> dict[str, Any]:
    """A parse by a per-category-intent model, restated as intent ``report`` plus category."""
    intent = parse.get("intent") or {}
    name = str(intent.get("name") or "")
    code = name.removeprefix("report_")
    if name.startswith("report_") and catalogue.has(code):
        ranking = [
            {"name": r["name"].removeprefix("report_"), "confidence": r.get("confidence", 0.0)}
            for r in parse.get("intent_ranking") or []
            if str(r.get("name", "")).startswith("report_")
        ]
        return {**parse, "intent": {**intent, "name": REPORT_INTENT}, "category_ranking": ranking}
    return parse


def parse_with(model: Path, texts: list[str], log: Path) -> tuple[list[dict[str, Any]], float]:
    """Every text parsed in-process by ``model``; and the NLU CPU ms per message."""
    proc = subprocess.run(
        [str(RASA_PYTHON), "-m", "bench.nlu_parse", str(model)],
        input="\n".join(t.replace("\n", " ") for t in texts) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=rasa_env(),
        check=False,
    )
    log.write_text(proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, output=proc.stderr[-3000:])
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    summary = lines.pop()["summary"]
    return lines, 1000 * summary["cpu_seconds"] / max(summary["messages"], 1)


def train_nlu(config: Path, data: Path, out: Path, log: Path) -> float:
    """Trains an NLU-only model into ``out/nlu.tar.gz``; returns seconds."""
    return run_timed(
        [
            str(RASA),
            "train",
            "nlu",
            "-c",
            str(config),
            "--nlu",
            str(data),
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


def model_result(
    name: str,
    model: Path,
    examples: list[Example],
    workdir: Path,
    legacy: bool,
    catalogue: Catalogue,
) -> RouterResult:
    """Scores one trained model on the dev set and on the FAQ dev set."""
    questions = faq_questions()
    texts = [e.text for e in examples] + [q for q, _ in questions]
    parses, cpu_ms = parse_with(model, texts, workdir / f"{model.stem}.log")
    routed, asked = parses[: len(examples)], parses[len(examples) :]
    if legacy:
        routed = [as_two_stage(p, catalogue) for p in routed]
    result = RouterResult(name, [category_for_parse(p, catalogue) for p in routed], cpu_ms=cpu_ms)
    result.faq = faq_scores(asked, questions) if questions else {}
    return result


def candidate_result(
    config: Path, examples: list[Example], workdir: Path, catalogue: Catalogue
) -> RouterResult:
    """Trains one candidate pipeline on the project's data and scores it."""
    legacy = config.stem.startswith(LEGACY_PREFIX)
    data = per_category_data(workdir / "legacy_data") if legacy else DATA / "nlu"
    out = workdir / config.stem
    seconds = train_nlu(config, data, out, workdir / f"train_{config.stem}.log")
    result = model_result(
        f"candidate {config.stem}", out / "nlu.tar.gz", examples, out, legacy, catalogue
    )
    result.train_seconds = seconds
    result.note = _first_comment(config)
    return result


def init_pipeline_result(
    init_config: Path, examples: list[Example], workdir: Path, catalogue: Catalogue
) -> RouterResult:
    """The ``rasa init`` config (language zh, JiebaTokenizer) with one intent per category."""
    config = yaml.safe_load(init_config.read_text(encoding="utf-8"))
    config["language"] = "zh"
    config.pop("policies", None)
    if not config.get("pipeline"):
        config["pipeline"] = rasa_default_pipeline()
    epochs = env_int("BENCH_DEFAULT_EPOCHS", 0) or None
    for step in config["pipeline"]:
        if step.get("name") == "WhitespaceTokenizer":
            step["name"] = "JiebaTokenizer"
        if epochs is not None and "epochs" in step:
            step["epochs"] = epochs
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "init_zh.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    result = candidate_result(path, examples, workdir, catalogue)
    result.name = "rasa init default pipeline (JiebaTokenizer), one intent per category"
    result.note = "Rasa's default pipeline refuses zh with WhitespaceTokenizer" + (
        f"; epochs {epochs} instead of 100" if epochs is not None else ""
    )
    return result


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


def keyword_result(examples: list[Example], catalogue: Catalogue) -> RouterResult:
    """The keyword router: a category whenever a catalogue keyword occurs."""
    router = KeywordRouter.from_catalogue(catalogue)
    predictions: list[str | None] = []
    for example in examples:
        code = router.route(example.text)
        predictions.append(None if code == NO_CASE else code)
    return RouterResult("keyword router (catalogue keywords)", predictions, cpu_ms=None)


def _sealed_tables(results: list[RouterResult]) -> list[str]:
    """One table per sealed set: every router's scores on it."""
    lines = []
    for prefix, status in SEALED_SETS.items():
        first = results[0].sealed[prefix]
        lines += [
            f"Set `tests/nlu/{prefix}_civic.tsv` ({first['civic']} civic messages) and "
            f"`tests/nlu/{prefix}_oos.tsv` ({first['out_of_scope']} out-of-scope utterances): "
            f"{status} (tests/nlu/README.md):",
            "",
            markdown_table(
                ["router", "civic accuracy", "civic: no category", "out of scope routed"],
                [
                    [
                        r.name,
                        r.sealed[prefix]["civic_accuracy"],
                        r.sealed[prefix]["civic_no_category"],
                        r.sealed[prefix]["out_of_scope_routed"],
                    ]
                    for r in results
                ],
            ),
            "",
        ]
    return lines


def _first_comment(config: Path) -> str:
    for line in config.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def _rows(results: list[RouterResult]) -> list[list[Any]]:
    rows = []
    for r in results:
        t = r.report["two_stage"]
        rows.append(
            [
                r.name,
                t["civic_accuracy"],
                t["civic_no_category"],
                t["out_of_scope_routed"],
                r.report["macro_f1"],
                f"{r.cpu_ms:.1f}" if r.cpu_ms is not None else "–",
                f"{r.train_seconds:.0f}" if r.train_seconds is not None else "–",
                r.note or "–",
            ]
        )
    return rows


def _confusions(result: RouterResult, limit: int = 8) -> str:
    pairs = result.report["confusion"][:limit]
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
    dev = dev_examples(catalogue)
    sealed = {prefix: dev_examples(catalogue, prefix) for prefix in SEALED_SETS}
    # Every router parses all sets at once; the scores are taken on each part.
    examples = dev + [example for part in sealed.values() for example in part]
    results = [
        model_result(
            "project (config.yml, models/hotline.tar.gz)",
            MODEL,
            examples,
            workdir,
            False,
            catalogue,
        )
    ]
    baseline = os.environ.get("BENCH_BASELINE_MODEL", "").strip()
    if baseline:
        result = model_result(
            "previous design as shipped (its own model and data)",
            Path(baseline),
            examples,
            workdir,
            True,
            catalogue,
        )
        result.note = f"`{Path(baseline).name}`, trained before the two-stage design"
        results.append(result)
    wanted = {
        n.strip() for n in os.environ.get("BENCH_ROUTING_CONFIGS", "").split(",") if n.strip()
    }
    for config in sorted(CONFIGS.glob("*.yml")):
        if not wanted or config.stem in wanted:
            results.append(candidate_result(config, examples, workdir, catalogue))
    if init_config is not None:
        results.append(init_pipeline_result(init_config, examples, workdir / "init", catalogue))
    results.append(keyword_result(examples, catalogue))
    for result in results:
        pairs = list(zip(examples, result.predictions, strict=True))
        result.report = score(pairs[: len(dev)])
        result.report["two_stage"] = two_stage_summary(pairs[: len(dev)])
        start = len(dev)
        for prefix, part in sealed.items():
            result.sealed[prefix] = two_stage_summary(pairs[start : start + len(part)])
            start += len(part)

    civic = results[0].report["two_stage"]["civic"]
    oos = results[0].report["two_stage"]["out_of_scope"]
    lines = [
        "### Routing quality",
        "",
        f"Dev set `tests/nlu/dev_civic.tsv` ({civic} civic messages in the residents' written "
        f"and spoken register) and `tests/nlu/dev_oos.tsv` ({oos} out-of-scope utterances), "
        "never trained on. Civic accuracy: the category is one of the acceptable ones. "
        "Out of scope routed: the share of out-of-scope messages given a category. NLU CPU is "
        "per message, in-process, after load.",
        "",
        markdown_table(
            [
                "router",
                "civic accuracy",
                "civic: no category",
                "out of scope routed",
                "macro-F1",
                "NLU CPU ms/msg",
                "train s",
                "note",
            ],
            _rows(results),
        ),
        "",
        *_sealed_tables(results),
    ]
    faq_rows = [
        [r.name, r.faq["answered_right"], r.faq["answered_wrong"], r.faq["unanswerable_answered"]]
        for r in results
        if r.faq
    ]
    if faq_rows:
        lines += [
            "",
            f"FAQ answers on `tests/nlu/dev_faq.tsv` ({len(faq_questions())} questions, never "
            "trained on; some have no topic that answers them):",
            "",
            markdown_table(
                ["router", "right topic", "wrong topic", "unanswerable but answered"], faq_rows
            ),
        ]
    lines += ["", "Most confused pairs (gold→predicted):", ""]
    lines += [f"- {r.name}: {_confusions(r)}" for r in results]
    trainings = [(r.name, r.train_seconds) for r in results if r.train_seconds is not None]
    return "\n".join(lines), trainings
