"""Rasa custom actions: thin adapters over :mod:`hotline`.

The action server (``python -m rasa_sdk --actions actions``) imports this package first, so
this is where its process masks personal data in every log record (:mod:`hotline.privacy.logmask`).
"""

from hotline.privacy import logmask

logmask.install()
