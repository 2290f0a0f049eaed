"""Traditional to simplified Chinese, without markup, before anything else reads the message."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

import opencc
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

ORIGINAL_TEXT = "original_text"
"""Parse-data key holding the resident's own words when normalising changed them."""


_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CODE_PUNCTUATION = set(";'\"<>{}()=\\`|")


def strip_markup(text: str) -> str:
    """The text without HTML tags or script content, and, in a Chinese message, without the
    ASCII fragments of code or markup (``';``, ``--``, ``alert('x')``) pasted or typed into it.

    Residents do not write code; such fragments only drown the words the NLU needs. The case
    keeps the resident's text as written.
    """
    cleaned = _TAG.sub(" ", _SCRIPT.sub(" ", text))
    if len(_CJK.findall(cleaned)) < 2:
        return cleaned.strip() or text
    kept = [
        token
        for token in cleaned.split()
        if _CJK.search(token)
        or not (set(token) & _CODE_PUNCTUATION or all(not ch.isalnum() for ch in token))
    ]
    return " ".join(kept) or text


@lru_cache(maxsize=1)
def _converter() -> Any:
    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """Simplified characters, half-width letters and digits (全角 ＡＢＣ１２３ → ABC123), and no
    markup or code fragments (``strip_markup``)."""
    simplified = str(_converter().convert(strip_markup(text)))
    return "".join(
        unicodedata.normalize("NFKC", ch) if "\uff01" <= ch <= "\uff5e" and ch.isalnum() else ch
        for ch in simplified
    )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class ChineseNormaliser(GraphComponent):
    """Rewrites the message text to simplified Chinese (OpenCC ``t2s``).

    The resident's original text stays on the parse result as ``original_text`` whenever it
    differs, so the case keeps their own words.
    """

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ChineseNormaliser:
        """Creates the component (it has nothing to train)."""
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Normalises the training examples the same way as live messages."""
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Normalises each message's text in place."""
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text or text.startswith("/"):
                # Empty, or an intent payload (/inform{"latitude": …}) Rasa parses itself.
                continue
            normalised = normalise(text)
            if normalised != text:
                message.set(ORIGINAL_TEXT, text, add_to_output=True)
                message.set(TEXT, normalised)
        return messages
