"""Community service hotline core: catalogue, cases, workflow, deadlines and storage.

This package imports nothing from Rasa, Telegram or the web layer; every front end goes
through it. Its rooms, each importing only from the ones before it:

- the top level: ``config`` (settings), ``errors``, ``db`` (sessions), ``models`` (ORM),
  ``pgadmin``;
- ``casework``: the case domain (catalogue, workflow, deadlines, numbering, cases, outbox);
- ``access``: console accounts, tokens, keys and rate limits;
- ``privacy``: redaction, log masking, retention and deletion, Rasa's tracker store;
- ``similarity``: similar cases and hotspots;
- ``channels``: the gateway to the assistant, handoff, delivery, photos, Open311, alerts;
- ``residents``: what residents may do with their own cases;
- ``reporting``: statistics, the case log, exports, routing evaluation;
- ``cli``: the ``hotline`` command line.

Keep this file (and every room's ``__init__.py``) free of project and library imports: the Rasa
environment imports ``hotline.config`` and ``hotline.privacy.logmask``.
"""

import os

# One BLAS thread for numpy (the similar-case matcher and the hotspots), set before numpy is
# first imported. The products are small; OpenBLAS's extra threads cost more to wake than they
# save and spin while other processes want the cores: measured for a hotspot week's
# 330×600 cosine block on this project's 2-core machines, 15 ms of CPU with its default
# threads against 2.4 ms with one.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
