"""A multinomial logistic regression over the message's sentence features.

Shared by the intent and the category classifiers. Sparse features (character n-gram counts)
are log-scaled and L2-normalised so that their scale matches the encoder's unit vectors; each
part then gets its configured weight. The model is stored as plain arrays (no pickle).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

LINEAR_DEFAULTS: dict[str, Any] = {
    "C": 10.0,
    "max_iter": 400,
    "sparse_weight": 1.0,
    "dense_weight": 1.0,
    "ranking_length": 10,
}


def sentence_matrix(
    messages: Iterable[Message], sparse_weight: float, dense_weight: float
) -> sp.csr_matrix:
    """One row per message: weighted, normalised sparse and dense sentence features.

    Each message keeps its row (a private, non-output property), so the intent and the
    category classifiers, which read the same features, build it once per message.
    """
    messages = list(messages)
    key = f"{_ROW_PREFIX}{sparse_weight}:{dense_weight}"
    rows = [m.get(key) for m in messages]
    if messages and all(r is not None for r in rows):
        return sp.vstack(rows).tocsr()
    matrix = _build_matrix(messages, sparse_weight, dense_weight)
    for i, message in enumerate(messages):
        message.set(key, matrix[i])
    return matrix


_ROW_PREFIX = "__linear_row:"


def _build_matrix(
    messages: list[Message], sparse_weight: float, dense_weight: float
) -> sp.csr_matrix:
    sparse_rows: list[Any] = []
    dense_rows: list[Any] = []
    for message in messages:
        _, sparse = message.get_sparse_features(TEXT)
        _, dense = message.get_dense_features(TEXT)
        sparse_rows.append(sp.csr_matrix(sparse.features) if sparse is not None else None)
        dense_rows.append(np.asarray(dense.features).reshape(1, -1) if dense is not None else None)
    parts = []
    if any(r is not None for r in sparse_rows):
        width = next(r.shape[1] for r in sparse_rows if r is not None)
        rows = [r if r is not None else sp.csr_matrix((1, width)) for r in sparse_rows]
        block = sp.vstack(rows).tocsr().astype(np.float64)
        block.data = np.log1p(block.data)
        parts.append(normalize(block) * sparse_weight)
    if any(r is not None for r in dense_rows):
        width = next(r.shape[1] for r in dense_rows if r is not None)
        rows = [r if r is not None else np.zeros((1, width)) for r in dense_rows]
        parts.append(sp.csr_matrix(np.vstack(rows) * dense_weight))
    return sp.hstack(parts).tocsr() if parts else sp.csr_matrix((len(sparse_rows), 0))


class LinearModel:
    """Weights, biases and class names of a trained multinomial logistic regression."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: list[str]) -> None:
        self.coef = coef
        self.intercept = intercept
        self.classes = classes

    @classmethod
    def fit(cls, x: sp.csr_matrix, labels: list[str], config: dict[str, Any]) -> LinearModel:
        """Trains on the rows of ``x`` (at least two distinct labels)."""
        clf = LogisticRegression(
            C=config["C"], max_iter=config["max_iter"], class_weight="balanced", random_state=42
        )
        clf.fit(x, labels)
        coef, intercept = clf.coef_, clf.intercept_
        if coef.shape[0] == 1:  # sklearn keeps one row for two classes
            coef = np.vstack([-coef[0], coef[0]]) / 2
            intercept = np.array([-intercept[0], intercept[0]]) / 2
        return cls(coef, intercept, [str(c) for c in clf.classes_])

    def probabilities(self, x: sp.csr_matrix) -> np.ndarray:
        """Class probabilities, one row per input row."""
        scores = np.asarray(x @ self.coef.T) + self.intercept
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def rankings(self, x: sp.csr_matrix, length: int) -> list[list[dict[str, Any]]]:
        """For each row, the classes by descending probability: ``{name, confidence}``."""
        out = []
        for row in self.probabilities(x):
            order = np.argsort(-row)[: length or None]
            out.append([{"name": self.classes[i], "confidence": float(row[i])} for i in order])
        return out

    def save(self, storage: ModelStorage, resource: Resource) -> None:
        """Writes the arrays into the model's storage."""
        with storage.write_to(resource) as directory:
            np.savez(
                directory / "linear.npz",
                coef=self.coef,
                intercept=self.intercept,
                classes=np.array(self.classes),
            )

    @classmethod
    def load(cls, storage: ModelStorage, resource: Resource) -> LinearModel | None:
        """Reads the arrays back; None when the component was never trained."""
        try:
            with storage.read_from(resource) as directory:
                data = np.load(directory / "linear.npz", allow_pickle=False)
                return cls(data["coef"], data["intercept"], [str(c) for c in data["classes"]])
        except (ValueError, FileNotFoundError):
            return None
