"""Custom Rasa graph components of the hotline's NLU (named in ``config.yml``).

The pipeline is two-stage: an intent classifier says what the resident is doing (report,
consult, check status, chit-chat, out of scope …) and a category classifier says, for every
message, which of the catalogue's one-stop categories it concerns. Both read the same features:
character n-grams and a pretrained multilingual sentence encoder. FAQ answers come from
nearest-neighbour retrieval with the same encoder. Runs inside ``.venv-rasa`` only.
"""
