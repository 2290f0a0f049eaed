"""The REST channel the hotline gateway posts to, with the message encoded off the event loop.

Named in ``credentials.yml`` as a custom connector (Rasa's public extension point for input
channels). It is Rasa's ``RestInput`` at the same URL (``/webhooks/rest/webhook``), except that
each message's sentence embedding is computed in a worker thread before the message is handed
to Rasa (:func:`nlu_components.encoder.prefetch`), so that the event loop serves other
conversations while the encoder runs. Measured in docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint

from nlu_components.encoder import prefetch

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def pre_encoding(on_new_message: OnNewMessage) -> OnNewMessage:
    """Wraps Rasa's message handler: the text is encoded (in a thread) before Rasa gets it."""

    async def handler(message: UserMessage) -> Any:
        if isinstance(message.text, str):
            await prefetch(message.text)
        return await on_new_message(message)

    return handler


class PreEncodingRestInput(RestInput):
    """``RestInput`` whose messages are encoded off the event loop first."""

    @classmethod
    def name(cls) -> str:
        """The same name, hence the same webhook URL, as Rasa's REST channel."""
        return "rest"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """Rasa's REST blueprint around the pre-encoding handler."""
        return super().blueprint(pre_encoding(on_new_message))
