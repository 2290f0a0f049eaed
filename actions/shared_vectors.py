"""Reusing the embeddings Rasa already made of a resident's report.

Rasa's NLU encodes every report (``nlu_components.encoder``); its ``ReportVectorSharer`` puts
that vector on the parse result (``text_vector``). The action server encodes a report's problem
too, for the similar-case lookup and the case's stored vector. When the resident gave the place
apart from the description, the problem is the very text Rasa encoded: remembering Rasa's vector
in this process's encoder spares one encoding per report, on a machine whose CPU the encoder
dominates (docs/benchmarks.md). The encoder's cache is keyed by the exact text, so a vector is
only ever reused for the text it was made of.
"""

from __future__ import annotations

from rasa_sdk import Tracker

from hotline.casework import case_vectors
from hotline.text_encoder import SHARED_VECTOR, shared_vector


def remember_shared_vectors(tracker: Tracker) -> int:
    """Caches the vectors Rasa put on this conversation's reports in the action server's
    encoder. Returns how many were kept."""
    kept = 0
    for event in tracker.events:
        if event.get("event") != "user":
            continue
        parse = event.get("parse_data") or {}
        vector = shared_vector(parse.get(SHARED_VECTOR))
        text = parse.get("text") or event.get("text")
        if vector is not None and isinstance(text, str):
            kept += case_vectors.encoder().remember(text, vector)
    return kept
