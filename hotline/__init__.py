"""Community service hotline core: catalogue, cases, workflow, deadlines and storage.

This package imports nothing from Rasa, Telegram or the web layer; every front end goes
through it. Its rooms, each importing only from the ones before it:

- the top level: ``config`` (settings), ``errors``, ``db`` (sessions), ``models`` (ORM),
  ``pgadmin``;
- ``casework``: the case domain (catalogue, workflow, deadlines, numbering, cases, outbox);
- ``access``: console accounts, tokens, keys and rate limits;
- ``privacy``: redaction, log masking, retention and deletion, Rasa's tracker store;
- ``channels``: the gateway to the assistant, handoff, delivery, photos, Open311, alerts;
- ``residents``: what residents may do with their own cases;
- ``reporting``: statistics, the case log, exports, routing evaluation;
- ``cli``: the ``hotline`` command line.

Keep this file (and every room's ``__init__.py``) free of imports: the Rasa environment imports
``hotline.config`` and ``hotline.privacy.logmask``.
"""
