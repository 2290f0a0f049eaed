"""``python -m bench.retention [CONVERSATIONS] [EVENTS]``: how long ``hotline retention run``
takes to delete idle conversations from a SQLite tracker store (and what it leaves).

Builds, in a temporary var directory, a case database and a tracker store with Rasa 3.6's
``events`` table holding CONVERSATIONS conversations (default 2000) of EVENTS events each
(default 20); half of them idle for 400 days. Prints the run's wall time.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

SCHEMA = (
    "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
    "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
    "action_name VARCHAR(255), data TEXT)"
)


def _tracker_store(path: Path, conversations: int, events: int) -> None:
    """Writes the conversations, even ones idle for 400 days, odd ones current."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(SCHEMA)
    con.execute("CREATE INDEX ix_events_sender_id ON events (sender_id)")
    old, now = time.time() - 400 * 86400, time.time()
    rows = []
    for sender in range(conversations):
        for event in range(events):
            at = (old if sender % 2 == 0 else now) + event
            text = f"我的电话是1391234{sender % 10_000:04d}"
            data = json.dumps({"event": "user", "text": text, "timestamp": at})
            rows.append((f"tg:{sender}", "user", at, "inform", None, data))
    con.executemany(
        "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    con.commit()
    con.close()


def main() -> int:
    """Builds the stores, runs the retention, prints the time."""
    conversations = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    events = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    var_dir = Path(tempfile.mkdtemp(prefix="bench-retention-"))
    os.environ.update(
        HOTLINE_VAR_DIR=str(var_dir),
        HOTLINE_DATABASE_URL=f"sqlite:///{var_dir / 'hotline.db'}",
        HOTLINE_TRACKER_STORE_URL=f"sqlite:///{var_dir / 'rasa_tracker.db'}",
    )
    from hotline.casework.actors import Actor
    from hotline.db import upgrade
    from hotline.privacy import retention

    upgrade()
    _tracker_store(var_dir / "rasa_tracker.db", conversations, events)
    size = (var_dir / "rasa_tracker.db").stat().st_size / 1e6
    started = time.perf_counter()
    report = retention.run_retention(365, Actor.system("cli:bench"))
    elapsed = time.perf_counter() - started
    left = sqlite3.connect(var_dir / "rasa_tracker.db").execute(
        "SELECT count(DISTINCT sender_id), count(*) FROM events"
    )
    kept, kept_events = left.fetchone()
    deleted = report.purged.tracker_events if report.purged else 0
    print(
        f"{conversations} conversations x {events} events ({size:.1f} MB): retention run "
        f"{elapsed:.2f} s; deleted {len(report.conversations)} idle conversations "
        f"({deleted} events); kept {kept} ({kept_events} events)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
