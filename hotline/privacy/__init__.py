"""Personal data (PIPL): redaction in texts and logs, retention and deletion, Rasa's tracker store.

Keep this file free of imports: the Rasa environment imports ``hotline.privacy.logmask``.
"""
