"""The action server reuses the embedding Rasa put on a report instead of encoding it again."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from rasa_sdk import Tracker

from actions.shared_vectors import remember_shared_vectors
from hotline.casework import case_vectors
from hotline.text_encoder import (
    DIM,
    MODEL_NAME,
    SHARED_VECTOR,
    SentenceEncoder,
    share_vector,
    shared_vector,
)

REPORT = "小区东门的路灯坏了好几天了，晚上黑乎乎的"


@pytest.fixture(scope="module")
def real_encoder() -> SentenceEncoder:
    return SentenceEncoder(threads=1)


@pytest.fixture
def encoder() -> Iterator[SentenceEncoder]:
    """The action server's encoder, new (empty cache, nothing encoded) for each test."""
    fresh = SentenceEncoder(threads=1)
    previous = case_vectors.set_encoder_factory(lambda: fresh)
    yield fresh
    case_vectors.set_encoder_factory(previous)


def tracker(*parse: dict[str, Any]) -> Tracker:
    events = [
        {"event": "user", "text": p.get("text"), "parse_data": p, "timestamp": 1.0 + i}
        for i, p in enumerate(parse)
    ]
    events.insert(0, {"event": "action", "name": "action_listen", "timestamp": 0.5})
    return Tracker("rest:1", {}, parse[-1], events, False, None, {}, "action_listen")


def test_a_shared_vector_spares_the_encoding_of_the_same_text(
    encoder: SentenceEncoder, real_encoder: SentenceEncoder
) -> None:
    vector = real_encoder.encode_one(REPORT)
    parse = {"text": REPORT, "intent": {"name": "report"}, SHARED_VECTOR: share_vector(vector)}
    assert remember_shared_vectors(tracker(parse, {"text": "幸福小区3栋"})) == 1
    np.testing.assert_array_equal(case_vectors.encode(REPORT, "幸福小区3栋"), vector)
    assert encoder.encoded == 0
    # Another text (the place taken out of the description) is encoded as before.
    case_vectors.encode("关于幸福小区3栋门口路灯坏了好几天的问题", "幸福小区3栋")
    assert encoder.encoded == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"model": "another-encoder", "vector": share_vector(np.ones(DIM))["vector"]},
        {"model": MODEL_NAME, "vector": "not base64!"},
        {"model": MODEL_NAME, "vector": base64.b64encode(b"\0" * 16).decode()},
        {"model": MODEL_NAME, "vector": share_vector(np.full(DIM, np.nan))["vector"]},
        "a string",
        None,
    ],
)
def test_a_payload_that_is_not_this_models_vector_is_ignored(
    payload: Any, encoder: SentenceEncoder
) -> None:
    assert shared_vector(payload) is None
    parse = {"text": REPORT, SHARED_VECTOR: payload}
    assert remember_shared_vectors(tracker(parse)) == 0
    case_vectors.encode(REPORT)
    assert encoder.encoded == 1


def test_a_text_this_encoder_would_cut_is_not_remembered(encoder: SentenceEncoder) -> None:
    long_text = REPORT * 10
    parse = {"text": long_text, SHARED_VECTOR: share_vector(np.ones(DIM) / np.sqrt(DIM))}
    assert remember_shared_vectors(tracker(parse)) == 0
    assert not encoder.is_cached(long_text)


def test_the_vector_round_trips_exactly() -> None:
    vector = np.random.default_rng(1).standard_normal(DIM).astype(np.float32)
    restored = shared_vector(share_vector(vector))
    assert restored is not None
    np.testing.assert_array_equal(restored, vector)
