"""Policy questions answered by nearest-neighbour search over the FAQ examples.

The question's encoder embedding is compared with every training question of every FAQ topic
(cosine; the embeddings are unit vectors). The best topic is written where Rasa's
``ResponseSelector`` writes it, so ``utter_faq`` and the actions read it unchanged. Below the
threshold no topic is chosen and the intent becomes ``report`` (a consultation the
assistant has no ready answer for) when the category stage is confident enough, and
``nlu_fallback`` otherwise: a wrong policy answer is worse than asking again.

Residents often put a policy question in the written register of a report (咨询…事宜, 关于…的咨询),
which the intent stage calls ``report``. A report that reads as a question (a question word,
no complaint word) and is nearer than ``question_threshold`` to a topic is answered as a
policy question too; measured on the FAQ dev set in docs/nlu.md.

A topic is not answered when the category stage is sure the question concerns another
category (``category_veto``): 灵活就业人员怎么办就业登记 is near a topic on 灵活就业人员's
insurance, but it is an employment matter, and a wrong policy answer is worse than a
consultation case. The next topic above the threshold whose category agrees is answered
instead, if there is one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.classifiers import CATEGORY, faq_topic_categories
from nlu_components.encoder import sentence_vector

RESPONSE_SELECTOR = "response_selector"
QUESTION_WORDS = (
    "请问", "咨询", "怎么", "如何", "哪里", "哪儿", "在哪", "什么", "吗", "么", "能否", "可否",
    "是否", "多久", "多少", "？", "?", "啥", "咋", "几", "要不要", "能不能", "可不可以", "有没有",
)  # fmt: skip
"""Words that make a report read as a question."""
COMPLAINT_WORDS = (
    "投诉", "举报", "反映", "没到账", "还没", "一直", "拖欠", "至今", "迟迟", "不给", "不予",
    "为什么", "为何", "凭什么", "不作为",
)  # fmt: skip
"""Words that make it a complaint, which a policy answer would not settle."""


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FaqRetriever(GraphComponent):
    """Chooses the FAQ topic nearest to a question that the intent stage called ``faq``."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The settings.

        ``retrieval_intent``: the retrieval intent; ``threshold``: least cosine to answer;
        ``consult_intent``: the intent of a question no topic answers whose category
        confidence is at least ``consult_min_category``; ``fallback_intent``: the intent of
        the other unanswered questions; ``featurizers``: the names (aliases) of the dense
        featurizers whose embedding is compared, all of them when empty (the threshold
        belongs to one encoder's cosines); ``faq_topics``: the file that gives each topic's
        category (read when training); ``category_veto``: the category confidence at which a
        topic of another category is not answered.
        """
        return {
            "retrieval_intent": "faq",
            "threshold": 0.925,
            "consult_intent": "report",
            "consult_min_category": 0.5,
            "fallback_intent": "nlu_fallback",
            "question_intents": ["report"],
            "question_threshold": 0.93,
            "question_words": list(QUESTION_WORDS),
            "complaint_words": list(COMPLAINT_WORDS),
            "ranking_length": 5,
            "featurizers": [],
            "faq_topics": "data/faq_topics.yml",
            "category_veto": 0.9,
        }

    def __init__(
        self,
        config: dict[str, Any],
        storage: ModelStorage,
        resource: Resource,
        vectors: np.ndarray | None = None,
        keys: list[str] | None = None,
        categories: dict[str, str] | None = None,
    ) -> None:
        self.config = config
        self._storage = storage
        self._resource = resource
        self.vectors = vectors if vectors is not None else np.zeros((0, 0), dtype=np.float32)
        self.keys = keys or []
        self.categories = categories or {}
        """Each topic's category, by its retrieval key."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> FaqRetriever:
        """Creates an empty index."""
        return cls({**cls.get_default_config(), **config}, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Indexes the embedding of every question of every topic."""
        prefix = self.config["retrieval_intent"] + "/"
        rows, keys = [], []
        for message in training_data.training_examples:
            key = message.get(INTENT_RESPONSE_KEY)
            _, dense = message.get_dense_features(TEXT, self.config["featurizers"])
            if key and str(key).startswith(prefix) and dense is not None:
                rows.append(np.asarray(dense.features, dtype=np.float32).reshape(-1))
                keys.append(str(key))
        self.vectors = np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
        self.keys = keys
        known = faq_topic_categories(self.config["faq_topics"])
        self.categories = {key: known[key] for key in set(keys) if key in known}
        topics = sorted(self.categories)
        with self._storage.write_to(self._resource) as directory:
            np.savez(
                directory / "faq.npz",
                vectors=self.vectors,
                keys=np.array(keys),
                topics=np.array(topics),
                categories=np.array([self.categories[t] for t in topics]),
            )
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> FaqRetriever:
        """Loads the index."""
        merged = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as directory:
                data = np.load(directory / "faq.npz", allow_pickle=False)
                categories = (
                    dict(zip(map(str, data["topics"]), map(str, data["categories"]), strict=True))
                    if "topics" in data
                    else {}
                )
                keys = [str(k) for k in data["keys"]]
                return cls(merged, model_storage, resource, data["vectors"], keys, categories)
        except (ValueError, FileNotFoundError):
            return cls(merged, model_storage, resource)

    def topics(self, vector: np.ndarray) -> list[tuple[str, float]]:
        """Topics by their nearest question's cosine to ``vector``, best first."""
        if not len(self.keys) or not vector.any():
            return []
        sims = self.vectors @ vector
        best: dict[str, float] = {}
        for key, sim in zip(self.keys, sims, strict=True):
            if sim > best.get(key, -1.0):
                best[key] = float(sim)
        return sorted(best.items(), key=lambda kv: -kv[1])

    def _contradicted(self, message: Message, key: str) -> bool:
        """Whether the category stage is sure the message concerns another category than the
        topic's."""
        category = message.get(CATEGORY) or {}
        topic_category = self.categories.get(key)
        return (
            topic_category is not None
            and bool(category.get("name"))
            and category.get("name") != topic_category
            and float(category.get("confidence") or 0.0) >= self.config["category_veto"]
        )

    def _unanswered(self, message: Message) -> str:
        """The intent of a question no topic answers (see ``get_default_config``)."""
        category = message.get(CATEGORY) or {}
        if float(category.get("confidence") or 0.0) >= self.config["consult_min_category"]:
            return str(self.config["consult_intent"])
        return str(self.config["fallback_intent"])

    def reads_as_question(self, text: str) -> bool:
        """Whether a report is worded as a question rather than a complaint."""
        return any(w in text for w in self.config["question_words"]) and not any(
            w in text for w in self.config["complaint_words"]
        )

    def process(self, messages: list[Message]) -> list[Message]:
        """Answers policy questions, and reports that are really policy questions."""
        intent_name = self.config["retrieval_intent"]
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get("name") not in (intent_name, *self.config["question_intents"]):
                continue
            ranked = [
                (key, sim)
                for key, sim in self.topics(sentence_vector(message, self.config["featurizers"]))
                if not self._contradicted(message, key)
            ]
            if (
                intent.get("name") in self.config["question_intents"]
                and ranked
                and ranked[0][1] >= self.config["question_threshold"]
                and self.reads_as_question(str(message.get(TEXT) or ""))
            ):
                message.set(
                    INTENT,
                    {"name": intent_name, "confidence": intent.get("confidence", 0.0)},
                    add_to_output=True,
                )
                intent = message.get(INTENT)
            if intent.get("name") != intent_name:
                continue
            if not ranked or ranked[0][1] < self.config["threshold"]:
                unanswered = {
                    "name": self._unanswered(message),
                    "confidence": intent.get("confidence", 0.0),
                }
                message.set(INTENT, unanswered, add_to_output=True)
                continue
            key, confidence = ranked[0]
            message.set(
                RESPONSE_SELECTOR,
                {
                    "all_retrieval_intents": [intent_name],
                    intent_name: {
                        "response": {
                            "responses": None,
                            "confidence": confidence,
                            "intent_response_key": key,
                            "utter_action": f"utter_{key}",
                        },
                        "ranking": [
                            {"id": i, "confidence": c, "intent_response_key": k}
                            for i, (k, c) in enumerate(ranked[: self.config["ranking_length"]])
                        ],
                    },
                },
                add_to_output=True,
            )
        return messages
