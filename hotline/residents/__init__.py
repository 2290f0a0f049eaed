"""What residents may do with their own cases, with and without the assistant.

Keep this file free of imports.
"""
