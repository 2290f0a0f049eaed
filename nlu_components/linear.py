"""A multinomial logistic regression over the message's sentence features.

Shared by the intent and the category classifiers. Sparse features (character n-gram counts)
are log-scaled and L2-normalised so that their scale matches the encoder's unit vectors; each
part then gets its configured weight. The model is stored as plain arrays (no pickle).

The regression is fitted here rather than by scikit-learn's ``LogisticRegression``, on the same
objective and with the same optimiser (scipy's L-BFGS-B): that class takes one matrix, so the
384 dense encoder columns of every example had to be stored as sparse entries, four fifths of
the matrix, and every gradient multiplied them as sparse (docs/nlu.md: the two fits of a
training went from 64 s to 42 s).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from scipy.optimize import minimize

LINEAR_DEFAULTS: dict[str, Any] = {
    "C": 10.0,
    "max_iter": 400,
    "tol": 1e-4,
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
log = logging.getLogger(__name__)


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


def sentence_row(
    message: Message, sparse_weight: float, dense_weight: float, *, keep: bool = True
) -> SentenceRow:
    """The message's :class:`SentenceRow`: sparse counts log-scaled, L2-normalised and weighted;
    the dense sentence vector weighted.

    With ``keep`` the row is kept on the message (a private, non-output property), so the intent
    and the category classifiers, which read the same features, build it once per live
    message. Training does not keep it: Rasa fingerprints every training message after each
    graph node, and a row on the message cost 12 s of a cold training there (docs/nlu.md).
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
    if keep:
        message.set(key, row)
    return row


@dataclass(frozen=True)
class SentenceBlocks:
    """The rows of many messages (:func:`sentence_row`) as the model's two blocks of columns:
    the sparse counts, then the dense vectors. A block no message has is 0 columns wide."""

    sparse: sp.csr_matrix
    dense: np.ndarray

    def matrix(self) -> sp.csr_matrix:
        """The two blocks side by side, as one sparse matrix."""
        rows = self.sparse.shape[0]
        if not self.sparse.shape[1] + self.dense.shape[1]:
            return sp.csr_matrix((rows, 0))
        return sp.hstack([self.sparse, sp.csr_matrix(self.dense)]).tocsr()


def sentence_blocks(
    messages: Iterable[Message], sparse_weight: float, dense_weight: float, *, keep: bool = True
) -> SentenceBlocks:
    """One row per message (:func:`sentence_row`; ``keep`` as there), in two blocks.

    A message without sparse (or dense) features gets zeros where the others have them.
    """
    rows = [sentence_row(m, sparse_weight, dense_weight, keep=keep) for m in messages]
    width = next((r.sparse_width for r in rows if r.sparse_width), 0)
    pointers = np.cumsum([0, *(len(r.indices) if width else 0 for r in rows)])
    sparse = sp.csr_matrix(
        (
            np.concatenate([np.zeros(0), *(r.values for r in rows if width)]),
            np.concatenate([np.zeros(0, dtype=np.int32), *(r.indices for r in rows if width)]),
            pointers,
        ),
        shape=(len(rows), width),
    )
    dense_width = next((len(r.dense) for r in rows if r.dense is not None), 0)
    dense = np.zeros((len(rows), dense_width))
    for i, row in enumerate(rows):
        if dense_width and row.dense is not None:
            dense[i] = row.dense
    return SentenceBlocks(sparse, dense)


def sentence_matrix(
    messages: Iterable[Message], sparse_weight: float, dense_weight: float
) -> sp.csr_matrix:
    """One row per message (:func:`sentence_row`), as one sparse matrix."""
    return sentence_blocks(messages, sparse_weight, dense_weight).matrix()


def fit_multinomial(
    blocks: SentenceBlocks, labels: np.ndarray, n_classes: int, config: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Weights and biases of an L2-regularised multinomial logistic regression.

    scikit-learn's objective for ``LogisticRegression(C, class_weight="balanced")`` (its
    version 1.1, which Rasa 3.6 pins): each example's log loss weighted by
    ``n / (n_classes * count of its class)``, plus ``||W||^2 / (2 C)``, the biases not
    penalised; minimised from zeros by scipy's L-BFGS-B with its ``gtol`` and ``maxiter``. Only
    the products differ: the sparse block is multiplied as sparse, the dense one by BLAS.

    Args:
        labels: Each row's class, 0 to ``n_classes`` - 1.
        config: ``C``, ``max_iter`` and ``tol``.
    """
    sparse, dense = blocks.sparse, blocks.dense
    n, sparse_width, dense_width = len(labels), sparse.shape[1], dense.shape[1]
    width = sparse_width + dense_width + 1
    weight = (n / (n_classes * np.bincount(labels, minlength=n_classes)))[labels]
    onehot = np.zeros((n, n_classes))
    onehot[np.arange(n), labels] = 1.0
    sparse_t = sparse.T.tocsr()
    penalty = 1.0 / config["C"]

    def loss_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        w = flat.reshape(n_classes, width)
        w_sparse, w_dense, bias = w[:, :sparse_width], w[:, sparse_width:-1], w[:, -1]
        raw = np.asarray(sparse @ w_sparse.T) + dense @ w_dense.T + bias
        top = raw.max(axis=1, keepdims=True)
        exp = np.exp(raw - top)
        total = exp.sum(axis=1, keepdims=True)
        log_loss = np.log(total[:, 0]) + top[:, 0] - raw[np.arange(n), labels]
        weights = w[:, :-1]
        loss = float(weight @ log_loss) + 0.5 * penalty * float(np.sum(weights * weights))
        residual = weight[:, None] * (exp / total - onehot)
        grad = np.empty_like(w)
        grad[:, :sparse_width] = np.asarray(sparse_t @ residual).T
        grad[:, sparse_width:-1] = residual.T @ dense
        grad[:, :-1] += penalty * weights
        grad[:, -1] = residual.sum(axis=0)
        return loss, grad.ravel()

    result = minimize(
        loss_and_gradient,
        np.zeros(n_classes * width),
        method="L-BFGS-B",
        jac=True,
        options={"gtol": config["tol"], "maxiter": config["max_iter"]},
    )
    if not result.success:
        log.warning(
            "the regression did not converge in %d iterations: %s", result.nit, result.message
        )
    w = result.x.reshape(n_classes, width)
    return w[:, :-1].copy(), w[:, -1].copy()


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
    def fit(cls, blocks: SentenceBlocks, labels: list[str], config: dict[str, Any]) -> LinearModel:
        """Trains on the rows of ``blocks`` (at least two distinct labels)."""
        classes, indices = np.unique(np.asarray(labels), return_inverse=True)
        coef, intercept = fit_multinomial(blocks, indices, len(classes), config)
        return cls(coef, intercept, [str(c) for c in classes])

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
