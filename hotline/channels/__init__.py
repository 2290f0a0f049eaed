"""How residents, partners and operators reach the hotline and are answered: the gateway to the
assistant, handoff to operators, outbox delivery, attachments, Open311, operator alerts.

Keep this file free of imports.
"""
