"""Who may use the console and the APIs, and how much: accounts, roles, tokens, keys, rate limits.

Keep this file free of imports.
"""
