"""The two stages: what the resident is doing (intent) and which category it concerns."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.linear import (
    LINEAR_DEFAULTS,
    LinearModel,
    SentenceBlocks,
    sentence_blocks,
    sentence_row,
)

log = logging.getLogger(__name__)

CATEGORY = "category"
CATEGORY_RANKING = "category_ranking"


def faq_topic_categories(path: str | Path) -> dict[str, str]:
    """The category of each FAQ topic, by its retrieval key (``faq/<topic>``); empty when the
    topics file is missing."""
    path = Path(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {f"faq/{t['topic']}": str(t["category"]) for t in (data or {}).get("topics", [])}


class _LinearComponent(GraphComponent):
    """Trains a ``LinearModel`` on labelled examples and applies it to messages."""

    def __init__(
        self,
        config: dict[str, Any],
        storage: ModelStorage,
        resource: Resource,
        model: LinearModel | None = None,
    ) -> None:
        self.config = config
        self._storage = storage
        self._resource = resource
        self.model = model

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """See ``LINEAR_DEFAULTS``."""
        return dict(LINEAR_DEFAULTS)

    @staticmethod
    def required_packages() -> list[str]:
        """scikit-learn trains the model."""
        return ["sklearn"]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> _LinearComponent:
        """Creates an untrained component."""
        return cls({**cls.get_default_config(), **config}, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> _LinearComponent:
        """Loads the trained arrays."""
        model = LinearModel.load(model_storage, resource)
        return cls({**cls.get_default_config(), **config}, model_storage, resource, model)

    def label(self, message: Message) -> str | None:
        """The training label of an example, or None to leave it out."""
        raise NotImplementedError

    def train(self, training_data: TrainingData) -> Resource:
        """Fits the model on every labelled example."""
        examples = [
            (m, label)
            for m in training_data.training_examples
            if m.get(TEXT) and (label := self.label(m))
        ]
        labels = [label for _, label in examples]
        if len(set(labels)) < 2:
            log.warning("%s: fewer than two labels, nothing trained", type(self).__name__)
            return self._resource
        x = self._matrix([m for m, _ in examples])
        self.model = LinearModel.fit(x, labels, self.config)
        self.model.save(self._storage, self._resource)
        return self._resource

    def _matrix(self, messages: list[Message]) -> SentenceBlocks:
        weights = self.config["sparse_weight"], self.config["dense_weight"]
        return sentence_blocks(messages, *weights, keep=False)

    def rank(self, messages: list[Message]) -> list[list[dict[str, Any]]]:
        """The model's ranking for each message (empty when untrained)."""
        if self.model is None or not messages:
            return [[] for _ in messages]
        weights = self.config["sparse_weight"], self.config["dense_weight"]
        rows = [sentence_row(m, *weights) for m in messages]
        return self.model.rankings(rows, self.config["ranking_length"])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(_LinearComponent, IntentClassifier):
    """Stage one: the intent (report, faq, check_status, out_of_scope …)."""

    def label(self, message: Message) -> str | None:
        """The example's intent (``faq/…`` counts as ``faq``)."""
        intent = message.get(INTENT)
        return str(intent) if intent else None

    def process(self, messages: list[Message]) -> list[Message]:
        """Sets ``intent`` and ``intent_ranking``."""
        for message, ranking in zip(messages, self.rank(messages), strict=True):
            if ranking:
                message.set(INTENT, ranking[0], add_to_output=True)
                message.set("intent_ranking", ranking, add_to_output=True)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class CategoryClassifier(_LinearComponent):
    """Stage two: the one-stop category of every message, with a ranking.

    Trained on report examples, whose intent block carries ``metadata: {category: code}``, and
    on FAQ questions, whose topic belongs to a category (``data/faq_topics.yml``). Sets
    ``category`` (``{name, confidence}``) and ``category_ranking`` on the parse result.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Linear settings plus the FAQ topics file."""
        return {**LINEAR_DEFAULTS, "faq_topics": "data/faq_topics.yml"}

    def __init__(
        self,
        config: dict[str, Any],
        storage: ModelStorage,
        resource: Resource,
        model: LinearModel | None = None,
    ) -> None:
        super().__init__(config, storage, resource, model)
        self._faq: dict[str, str] | None = None

    def _faq_categories(self) -> dict[str, str]:
        if self._faq is None:
            self._faq = faq_topic_categories(self.config["faq_topics"])
        return self._faq

    def label(self, message: Message) -> str | None:
        """The category of a report example or of a FAQ question."""
        metadata = message.get(METADATA) or {}
        intent_metadata = metadata.get("intent") if isinstance(metadata, dict) else None
        if isinstance(intent_metadata, dict) and intent_metadata.get(CATEGORY):
            return str(intent_metadata[CATEGORY])
        key = message.get(INTENT_RESPONSE_KEY)
        return self._faq_categories().get(str(key)) if key else None

    def process(self, messages: list[Message]) -> list[Message]:
        """Sets ``category`` and ``category_ranking``."""
        for message, ranking in zip(messages, self.rank(messages), strict=True):
            if ranking:
                message.set(CATEGORY, ranking[0], add_to_output=True)
                message.set(CATEGORY_RANKING, ranking, add_to_output=True)
        return messages
