"""How the project starts Rasa: ``.venv-rasa/bin/python -m rasa_runtime ARGS`` is ``rasa ARGS``
with the measured performance fixes applied first (see :mod:`rasa_runtime.patches` and
docs/benchmarks.md). It runs in the Rasa environment (.venv-rasa), not the project's.
"""

import os

# One OpenMP thread for the sentence encoder (nlu_components/encoder.py). Its engine runs on
# whichever OpenMP runtime Rasa's libraries loaded first, which takes every core whatever the
# encoder asks, and idle OpenMP threads spin: measured per message, 57 ms of CPU on two threads
# against 39 ms on one, and several times more while other processes want the cores. The
# variable is read when that runtime loads, so it is set before Rasa is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")
