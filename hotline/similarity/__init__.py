"""One problem, many callers: similar cases, co-reporters and hotspots.

- :mod:`.places`: locations normalised for comparison, and place similarity.
- :mod:`.vectors`: each case's description embedding, stored with the case.
- :mod:`.matcher`: the cases probably the same problem as a case or a draft report.
- :mod:`.reporters`: residents who join an existing case instead of opening another.
- :mod:`.hotspots`: clusters of reports about one problem, and their alerts.
- :mod:`.wording`: every text of these features.

The encoder is the project's one sentence encoder (:mod:`hotline.text_encoder`), which the
NLU uses too.
"""

from hotline.models import CaseReporter
from hotline.similarity.hotspots import (
    Hotspot,
    HotspotScan,
    due_hotspot_alerts,
    growing_hotspots,
    hotspots,
    scan_hotspots,
)
from hotline.similarity.matcher import (
    Suggestion,
    likely_duplicate,
    similar_cases,
    similar_to_draft,
)
from hotline.similarity.reporters import (
    co_reported_cases,
    co_reporters,
    join_as_co_reporter,
    notice_recipients,
    rate_as_co_reporter,
)
from hotline.similarity.vectors import backfill

__all__ = [
    "CaseReporter",
    "Hotspot",
    "HotspotScan",
    "Suggestion",
    "backfill",
    "co_reported_cases",
    "co_reporters",
    "due_hotspot_alerts",
    "growing_hotspots",
    "hotspots",
    "join_as_co_reporter",
    "likely_duplicate",
    "notice_recipients",
    "rate_as_co_reporter",
    "scan_hotspots",
    "similar_cases",
    "similar_to_draft",
]
