"""The action server as ``python -m actions.server`` runs it, except that it ignores the report
vectors Rasa shares (``actions.shared_vectors``) and encodes every report itself, as before
that change: the baseline of the load benchmark's ``single-no-share`` stack
(``bench/conversation.py``), measured in the same run. Benchmark only.

Usage: ``python -m bench.unshared_actions -p PORT`` (the action server's own arguments).
"""

from __future__ import annotations

import sys

import actions.report
from actions import server


def _nothing_remembered(tracker: object) -> int:
    return 0


if __name__ == "__main__":
    actions.report.remember_shared_vectors = _nothing_remembered
    sys.exit(server.main())
