"""The case domain: the catalogue, case vocabularies and actors, the workflow, deadlines, numbering,
the cases themselves with their audit trail and resident messages (outbox), follow-up, departments,
canned replies, plain-data views and the spool for reports kept while the database is down.

Depends only on the top-level basics (config, db, errors, models). Keep this file free of imports.
"""
