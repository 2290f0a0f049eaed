"""What the same-problem question costs one report: ``likely_duplicate`` timed in a small loop.

The report form calls :func:`hotline.similarity.likely_duplicate` once per report, when the
category and the place are known (actions/duplicates.py). This measures, on a SQLite case
database of ``--cases`` open cases (street lamps, lifts, rubbish, noise … at many places):

- ``cold``: a description the encoder has not seen: encode + candidate filter + scoring;
- ``warm``: the same call again (the encoder's cache hit): the lookup alone.

The encode is not all extra: the encoder caches the draft's vector, so logging the case right
after does not encode the description again. A small loop, not the load benchmark:

    .venv/bin/python -m bench.duplicate_question --cases 1000 --drafts 40
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path

from hotline.casework.actors import Actor
from hotline.casework.cases import NewCase, create_case
from hotline.db import transaction, upgrade
from hotline.similarity.matcher import likely_duplicate

PROBLEMS = (
    ("city_management", "门口的路灯坏了，晚上一片漆黑"),
    ("city_management", "垃圾桶满了好几天没人清运，味道很大"),
    ("city_management", "路边有人摆摊占道，车都过不去"),
    ("property_housing", "电梯停了两天，老人上下楼很困难"),
    ("property_housing", "楼顶漏水，下雨天家里墙面都湿了"),
    ("mediation", "楼上邻居半夜装修，吵得睡不着"),
    ("public_security", "小区门禁坏了，陌生人随便进出"),
    ("city_management", "井盖松动，踩上去晃得厉害"),
)
ESTATES = ("幸福小区", "滨湖花园", "枫林湾", "锦绣华庭", "光明里", "梧桐苑", "翠竹园", "东湖新村")
DRAFTS = (
    "{place}那边的路灯不亮好几天了，走夜路很不方便",
    "反映{place}附近路灯长期不亮的问题",
    "{place}的电梯又坏了，一直没人来修",
    "{place}楼上天天半夜有噪音，影响休息",
)


def place(i: int) -> str:
    return f"{ESTATES[i % len(ESTATES)]}{i % 40 + 1}栋"


def seed(url: str, count: int) -> None:
    """Logs ``count`` open cases, each with its stored vector (as a real report has)."""
    with transaction(url) as session:
        for i, (category, words) in zip(range(count), itertools.cycle(PROBLEMS), strict=False):
            where = place(i * 7)
            create_case(
                session,
                NewCase(
                    category=category,
                    description=f"{where}{words}（第{i}次反映）",
                    location=where,
                    channel="web",
                    resident_ref=f"web:seed{i}",
                ),
                Actor.resident(f"web:seed{i}"),
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--drafts", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'hotline.db'}"
        upgrade(url)
        started = time.perf_counter()
        seed(url, args.cases)
        print(f"seeded {args.cases} cases in {time.perf_counter() - started:.1f} s")
        cold: list[float] = []
        warm: list[float] = []
        asked = 0
        for i in range(args.drafts):
            where = place(i * 7)
            draft = NewCase(
                category="city_management",
                description=DRAFTS[i % len(DRAFTS)].format(place=where) + f"，编号{i}",
                location=where,
                channel="web",
                resident_ref=f"web:draft{i}",
            )
            with transaction(url) as session:
                t0 = time.perf_counter()
                found = likely_duplicate(session, draft)
                t1 = time.perf_counter()
                likely_duplicate(session, draft)
                t2 = time.perf_counter()
            cold.append((t1 - t0) * 1000)
            warm.append((t2 - t1) * 1000)
            asked += found is not None
        for name, values in (("cold (encode + lookup)", cold), ("warm (lookup only)", warm)):
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
            print(
                f"{name}: median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms, "
                f"max {max(values):.1f} ms over {len(values)} drafts"
            )
        print(f"a match to ask about for {asked} of {args.drafts} drafts")


if __name__ == "__main__":
    main()
