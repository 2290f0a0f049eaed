"""Community service hotline core: catalogue, cases, workflow, deadlines and storage.

This package imports nothing from Rasa, Telegram or the web layer; every front end goes
through it.
"""
