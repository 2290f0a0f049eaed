"""``python -m bench.hotspot_page [CASES]``: how long the console's hotspot surfaces take with a
district's history in the case database.

Builds, in a temporary var directory, a SQLite case database holding CASES cases (default
100,000) registered over the last 365 days (about 274 a day), each with its stored vector and
place key, as ``hotline.similarity`` writes them. Descriptions come from a pool of reports
written for this benchmark (encoded once each by the project's encoder); places from a pool of
estates and buildings, so most reports stand alone. On top, the last 30 days hold 40 hotspots
of 3 to 12 reports about one problem at one place, the newest 5 growing within the last day.

Then it times, through the real app in-process (``TestClient``; routing, the core, the
queries and the templates, no network), the hotspots page for 1, 7 and 30 days, the
supervisor dashboard (with its hotspot panel) and ``GET /api/v1/hotspots?days=7``: 1 warm-up
and ROUNDS (``BENCH_PAGE_ROUNDS``, default 5) timed requests each; prints the median and the
slowest. For comparison it first times the core alone (``scan_hotspots`` for each window): the
difference is what the console adds (its queries and templates).

``BENCH_PAGE_KEEP=path`` keeps the seeded database there; ``BENCH_PAGE_DB=path`` reuses one
instead of seeding. ``BENCH_PAGE_WINDOWS`` (default ``1,7,30``) picks the windows timed.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

PROBLEMS = [
    ("city_management", "楼下的路灯坏了，晚上一片漆黑"),
    ("city_management", "小区门口的垃圾好几天没人清运，味道很大"),
    ("city_management", "夜市摊贩占道经营，油烟和噪音扰民"),
    ("city_management", "路面塌了一个大坑，电动车差点摔倒"),
    ("city_management", "有人在楼顶私搭乱建，担心不安全"),
    ("city_management", "工地晚上施工噪音太大，影响休息"),
    ("city_management", "下水道堵了，污水漫到路面上"),
    ("city_management", "绿化带里的树枝断了，随时可能砸到人"),
    ("property_housing", "电梯又坏了，老人上下楼很困难"),
    ("property_housing", "楼上漏水到我家卫生间，天花板都泡了"),
    ("property_housing", "整栋楼停水了，也没有提前通知"),
    ("property_housing", "物业不作为，楼道灯坏了很久没人修"),
    ("property_housing", "老旧小区改造拖了半年还没完工"),
    ("property_housing", "单元门门禁坏了，陌生人随便进出"),
    ("public_security", "晚上有陌生人在楼道里徘徊，很害怕"),
    ("public_security", "小区里电动车在楼道充电，有火灾隐患"),
    ("public_security", "接到冒充社保局的诈骗电话，想提醒大家"),
    ("mediation", "楼上邻居每天深夜跺脚，沟通多次无果"),
    ("mediation", "邻居把杂物堆在公共走廊，协商不成"),
    ("elderly_care", "想给独居的母亲申请居家养老上门服务"),
    ("elderly_care", "社区助餐点的饭菜太咸，老人吃不惯"),
    ("employment", "公司拖欠了两个月工资，老板不接电话"),
    ("employment", "想报名参加社区组织的技能培训"),
    ("social_security", "社保卡丢了，想问怎么补办"),
    ("social_security", "退休金这个月没有按时到账"),
    ("social_assistance", "家里老人生病，想申请临时救助"),
    ("public_health", "社区卫生服务站的疫苗预约不上"),
    ("public_health", "附近小饭馆卫生条件很差，吃完拉肚子"),
    ("culture_education", "社区图书室周末总是不开门"),
    ("household_services", "想找靠谱的家政阿姨，社区能推荐吗"),
]
"""Reports written for this benchmark (never taken from a public data set)."""
OPENINGS = ["", "你好，", "我想反映一下，", "麻烦问一下，"]
ESTATES = [
    f"{district}{name}"
    for district in ("武昌区", "洪山区", "江汉区", "青山区", "汉阳区", "江岸区")
    for name in (
        "幸福小区",
        "光谷花园",
        "红钢城",
        "钟家村社区",
        "民权街",
        "中南路街",
        "金银湖街道",
        "丽岛花园",
        "东湖新村",
        "水果湖社区",
        "南湖花园",
        "徐东小区",
        "梅苑小区",
        "百步亭花园",
        "常青花园",
        "后湖街道",
        "首义路社区",
        "白沙洲街道",
        "杨园街道",
        "古田二路社区",
    )
]
HOTSPOTS = 40
GROWING = 5
DAY = timedelta(days=1)


def _seed(url: str, cases: int, rng: random.Random) -> dict[str, int]:
    """Writes the cases and their vectors; returns counts of what was written."""
    from sqlalchemy import insert

    from hotline.casework.case_vectors import encoder, pack
    from hotline.casework.places import place_key
    from hotline.db import transaction
    from hotline.models import Case, CaseVector, utcnow

    texts = [opening + text for _, text in PROBLEMS for opening in OPENINGS]
    vectors = [pack(v) for v in encoder().encode_many(texts)]
    now = utcnow()
    rows: list[dict[str, object]] = []

    def add(problem: int, opening: int, place: str, at: object) -> None:
        category = PROBLEMS[problem][0]
        rows.append(
            {
                "number": f"SQ{len(rows) + 1:08d}",
                "channel": "web",
                "resident_ref": f"web:bench-{len(rows)}",
                "contact_name": "居民",
                "location": place,
                "description": texts[problem * len(OPENINGS) + opening],
                "category": category,
                "original_category": category,
                "case_type": "complaint",
                "urgency": "normal",
                "status": rng.choice(["new", "accepted", "dispatched", "resolved", "closed"]),
                "due_at": at,
                "created_at": at,
                "updated_at": at,
                "_vector": vectors[problem * len(OPENINGS) + opening],
            }
        )

    for spot in range(HOTSPOTS):
        problem = rng.randrange(len(PROBLEMS))
        place = f"{rng.choice(ESTATES)}{rng.randint(1, 30)}栋"
        growing = spot < GROWING
        start = now - (DAY if growing else timedelta(days=rng.uniform(2, 29)))
        for _ in range(rng.randint(6, 12) if growing else rng.randint(3, 8)):
            at = start + timedelta(hours=rng.uniform(0, 23 if growing else 40))
            add(problem, rng.randrange(len(OPENINGS)), place, min(at, now))
    clustered = len(rows)
    while len(rows) < cases:
        at = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
        place = f"{rng.choice(ESTATES)}{rng.randint(1, 30)}栋"
        add(rng.randrange(len(PROBLEMS)), rng.randrange(len(OPENINGS)), place, at)
    rows.sort(key=lambda r: r["created_at"])  # type: ignore[arg-type,return-value]
    for i, row in enumerate(rows, start=1):
        row["id"] = i
    with transaction(url) as session:
        for chunk in range(0, len(rows), 5000):
            part = rows[chunk : chunk + 5000]
            session.execute(
                insert(Case), [{k: v for k, v in r.items() if k != "_vector"} for r in part]
            )
            session.execute(
                insert(CaseVector),
                [
                    {
                        "case_id": r["id"],
                        "model": "multilingual-e5-small-q4",
                        "vector": r["_vector"],
                        "place_key": place_key(str(r["location"]))[:255],
                        "created_at": r["created_at"],
                    }
                    for r in part
                ],
            )
    return {"cases": len(rows), "in_hotspots": clustered, "texts": len(texts)}


def _time(client: object, path: str, rounds: int) -> tuple[float, float]:
    get = client.get  # type: ignore[attr-defined]
    response = get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
    return statistics.median(times), max(times)


def _windows() -> list[int]:
    raw = os.environ.get("BENCH_PAGE_WINDOWS", "").strip() or "1,7,30"
    return [int(w) for w in raw.split(",")]


def _time_core(url: str, rounds: int) -> None:
    from hotline.db import transaction
    from hotline.similarity.hotspots import scan_hotspots

    for days in _windows():
        times = []
        for _ in range(rounds):
            with transaction(url) as session:
                start = time.perf_counter()
                found = scan_hotspots(session, days=days)
                times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(
            f"core scan_hotspots(days={days:<2})    median {median * 1000:6.0f} ms, "
            f"max {max(times) * 1000:6.0f} ms ({len(found.hotspots)} hotspots, "
            f"{len(found.growing)} growing)"
        )


def main(argv: list[str]) -> int:
    """Seeds the database, then prints the timings."""
    cases = int(argv[0]) if argv else 100_000
    rounds = int(os.environ.get("BENCH_PAGE_ROUNDS", "5"))
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        url = f"sqlite:///{var / 'hotline.db'}"
        os.environ.update(
            {
                "HOTLINE_VAR_DIR": str(var),
                "HOTLINE_DATABASE_URL": url,
                "HOTLINE_SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
                "RASA_URL": "http://127.0.0.1:9",
                "ACTION_SERVER_URL": "http://127.0.0.1:9",
            }
        )
        from fastapi.testclient import TestClient

        from console.app import create_app
        from hotline.access import accounts
        from hotline.db import transaction, upgrade

        reuse = os.environ.get("BENCH_PAGE_DB", "").strip()
        if reuse:
            shutil.copy(reuse, var / "hotline.db")
            upgrade(url)
        else:
            upgrade(url)
            started = time.perf_counter()
            counts = _seed(url, cases, random.Random(14))
            print(
                f"seeded {counts['cases']} cases ({counts['in_hotspots']} in {HOTSPOTS} "
                f"hotspots, {counts['texts']} distinct texts) in "
                f"{time.perf_counter() - started:.1f} s"
            )
            keep = os.environ.get("BENCH_PAGE_KEEP", "").strip()
            if keep:
                shutil.copy(var / "hotline.db", keep)
        _time_core(url, rounds)
        with transaction(url) as session:
            user = accounts.create_user(session, "bench", "bench-password-1", "supervisor")
            _, token = accounts.create_token(session, user)
        with TestClient(create_app()) as client:
            page = client.get("/login").text
            csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
            client.post(
                "/login",
                data={"username": "bench", "password": "bench-password-1", "csrf_token": csrf},
            )
            paths = [f"/hotspots?days={days}" for days in _windows()] + ["/dashboard"]
            for path in paths:
                median, slowest = _time(client, path, rounds)
                print(
                    f"GET {path:<24} median {median * 1000:6.0f} ms, max {slowest * 1000:6.0f} ms"
                )
            client.cookies.clear()
            client.headers["Authorization"] = f"Bearer {token}"
            median, slowest = _time(client, "/api/v1/hotspots?days=7", rounds)
            path = "/api/v1/hotspots?days=7"
            print(f"GET {path:<24} median {median * 1000:6.0f} ms, max {slowest * 1000:6.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
