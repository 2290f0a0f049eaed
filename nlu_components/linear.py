"""A multinomial logistic regression over the message's sentence features.

Shared by the intent and the category classifiers. Sparse features (character n-gram counts)
are log-scaled and L2-normalised so that their scale matches the encoder's unit vectors; each
part then gets its configured weight. The model is stored as plain arrays (no pickle).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from sklearn.linear_model import LogisticRegression

LINEAR_DEFAULTS: dict[str, Any] = {
    "C": 10.0,
    "max_iter": 400,
    "sparse_weight": 1.0,
    "dense_weight": 1.0,
    "ranking_length": 10,
}


@dataclass(frozen=True)
class SentenceRow:
    """One message's features as the model reads them, weighted and normalised.

    The model's columns are the sparse features (``sparse_width`` of them), then the dense
    ones. Only the sparse part's non-zero entries are kept (``indices``, ``values``), so that
    a message is scored with a few hundred multiplications instead of a sparse matrix built for
    one row.
    """

    indices: np.ndarray
    values: np.ndarray
    sparse_width: int
    dense: np.ndarray | None


_ROW_PREFIX = "__linear_row:"


def sentence_counts(message: Message) -> sp.csr_matrix | None:
    """The message's sparse sentence features of its text, side by side in the order the
    featurizers added them, with repeated entries summed (as counts mean); None without any.

    This is the sentence half of Rasa's ``Message.get_sparse_features``, column for column.
    That method also combines the sequence features (one row per token, deep-copied), which
    no stage here reads: a third of the intent stage's time per message (docs/benchmarks.md).
    """
    parts = [
        sp.coo_matrix(f.features)
        for f in message.features
        if f.attribute == TEXT and f.is_sparse() and f.type == FEATURE_TYPE_SENTENCE
    ]
    if not parts:
        return None
    offsets = np.cumsum([0, *(p.shape[1] for p in parts)])
    columns = np.concatenate([p.col + offset for p, offset in zip(parts, offsets, strict=False)])
    data = np.concatenate([p.data for p in parts])
    counts = sp.csr_matrix(
        (data, (np.zeros(len(columns), dtype=np.int32), columns)), shape=(1, int(offsets[-1]))
    )
    counts.sum_duplicates()
    return counts


def sentence_row(message: Message, sparse_weight: float, dense_weight: float) -> SentenceRow:
    """The message's :class:`SentenceRow`: sparse counts log-scaled, L2-normalised and weighted;
    the dense sentence vector weighted.

    The row is kept on the message (a private, non-output property), so the intent and the
    category classifiers, which read the same features, build it once per message.
    """
    key = f"{_ROW_PREFIX}{sparse_weight}:{dense_weight}"
    cached = message.get(key)
    if isinstance(cached, SentenceRow):
        return cached
    _, dense = message.get_dense_features(TEXT)
    indices, values, width = np.zeros(0, dtype=np.int32), np.zeros(0), 0
    counts = sentence_counts(message)
    if counts is not None:
        indices, width = counts.indices, counts.shape[1]
        values = np.log1p(counts.data.astype(np.float64))
        norm = float(np.sqrt(values @ values))
        if norm > 0:
            values = values / norm
        values = values * sparse_weight
    dense_part = (
        np.asarray(dense.features, dtype=np.float64).reshape(-1) * dense_weight
        if dense is not None
        else None
    )
    row = SentenceRow(indices, values, width, dense_part)
    message.set(key, row)
    return row


def sentence_matrix(
    messages: Iterable[Message], sparse_weight: float, dense_weight: float
) -> sp.csr_matrix:
    """One row per message (:func:`sentence_row`), as a sparse matrix (training).

    A message without sparse (or dense) features gets zeros where the others have them.
    """
    rows = [sentence_row(m, sparse_weight, dense_weight) for m in messages]
    parts = []
    width = next((r.sparse_width for r in rows if r.sparse_width), 0)
    if width:
        pointers = np.cumsum([0, *(len(r.indices) for r in rows)])
        parts.append(
            sp.csr_matrix(
                (
                    np.concatenate([r.values for r in rows]),
                    np.concatenate([r.indices for r in rows]),
                    pointers,
                ),
                shape=(len(rows), width),
            )
        )
    dense_width = next((len(r.dense) for r in rows if r.dense is not None), 0)
    if dense_width:
        block = np.zeros((len(rows), dense_width))
        for i, row in enumerate(rows):
            if row.dense is not None:
                block[i] = row.dense
        parts.append(sp.csr_matrix(block))
    return sp.hstack(parts).tocsr() if parts else sp.csr_matrix((len(rows), 0))


class LinearModel:
    """Weights, biases and class names of a trained multinomial logistic regression."""

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, classes: list[str]) -> None:
        self.coef = coef
        self.intercept = intercept
        self.classes = classes
        self._by_feature = np.ascontiguousarray(coef.T)
        """One row of class weights per feature: a message's few non-zero features are read
        as a few contiguous rows."""

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

    def row_probabilities(self, rows: Sequence[SentenceRow]) -> np.ndarray:
        """Class probabilities of messages given as rows: the same figures as
        :meth:`probabilities` of their :func:`sentence_matrix`, without building it."""
        scores = np.tile(self.intercept, (len(rows), 1)).astype(np.float64)
        for i, row in enumerate(rows):
            if len(row.indices):
                scores[i] += row.values @ self._by_feature[row.indices]
            if row.dense is not None:
                start = row.sparse_width
                scores[i] += row.dense @ self._by_feature[start : start + len(row.dense)]
        return _softmax(scores)

    def probabilities(self, x: sp.csr_matrix) -> np.ndarray:
        """Class probabilities, one row per input row."""
        return _softmax(np.asarray(x @ self.coef.T) + self.intercept)

    def rankings(self, rows: Sequence[SentenceRow], length: int) -> list[list[dict[str, Any]]]:
        """For each message, the classes by descending probability: ``{name, confidence}``."""
        out = []
        for row in self.row_probabilities(rows):
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


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)
