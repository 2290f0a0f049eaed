"""One problem, many callers: similar cases and hotspots.

- :mod:`.matcher`: the cases probably the same problem as a case or a draft report.
- :mod:`.hotspots`: clusters of reports about one problem, and their alerts.

What a case carries for them lives with the case, in ``hotline/casework/``: its description
embedding (:mod:`hotline.casework.case_vectors`, from the project's one sentence encoder,
:mod:`hotline.text_encoder`, which the NLU uses too), normalised places
(:mod:`hotline.casework.places`), co-reporters (:mod:`hotline.casework.co_reporters`) and the
texts of these features (:mod:`hotline.casework.duplicate_wording`).
"""
