"""How the project starts Rasa: ``.venv-rasa/bin/python -m rasa_runtime ARGS`` is ``rasa ARGS``
with the measured performance fixes applied first (see :mod:`rasa_runtime.patches` and
docs/benchmarks.md). It runs in the Rasa environment (.venv-rasa), not the project's.
"""
