"""Hostile input for the bad-input properties: the kinds of text residents and partners send.

Every strategy mixes the named families the hardening issue lists (random Unicode, empty
strings, 10,000 characters, control characters, emoji only, right-to-left text, SQL and HTML
injection) so that a small number of examples against a real server still meets each of them.
"""

from __future__ import annotations

from hypothesis import strategies as st

SQL_INJECTION = [
    "'; DROP TABLE cases; --",
    "1' OR '1'='1",
    '" OR 1=1 --',
    "Robert'); DELETE FROM outbox; --",
    "%' AND pg_sleep(5) --",
    "'); UPDATE users SET role='admin' WHERE '1'='1",
]
HTML_INJECTION = [
    "<script>alert('xss')</script>",
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(1)>',
    '<a href="javascript:alert(1)">点我</a>',
    "{{ 7*7 }}{% raw %}",
    "</textarea><iframe src=//evil.example>",
]
"""Each contains a raw ``<`` or template syntax that must come back escaped or inert."""
RIGHT_TO_LEFT = [
    "مرحبا، مصباح الشارع مكسور",
    "שלום עולם",
    "\u202eevil\u202c 路灯坏了",
    "\u200f\u200e\u2067混合\u2069方向",
]
EMOJI_ONLY = ["💡🔧😡", "🚨" * 40, "👨‍👩‍👧‍👦🏳️‍🌈", "\U0001f9ef\ufe0f"]
CONTROL = ["\x00", "\x01\x02\x03\x1b[31m红色\x1b[0m", "\r\n\t\x0b\x0c", "\x7f\x85\u2028\u2029"]
NAMED = [
    "",
    " ",
    "　",  # an ideographic space only
    *SQL_INJECTION,
    *HTML_INJECTION,
    *RIGHT_TO_LEFT,
    *EMOJI_ONLY,
    *CONTROL,
    "路灯" * 5000,  # 10,000 characters
    "\ud7ff\ue000\uffff",
    "/restart",
    '/choose_category{"category": "<script>"}',
    '/rate_case{"case_number": "SQ20260101-0001", "rating": "dissatisfied"}',
]
"""Examples every property should meet; hypothesis tries these first."""

unicode_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)
"""Random Unicode (any plane; UTF-8 has no lone surrogates, which no channel can carry)."""


def hostile_text(max_size: int = 10_000) -> st.SearchStrategy[str]:
    """One resident message: a named nasty case, random Unicode, or a mixture of both."""
    named = st.sampled_from([t for t in NAMED if len(t) <= max_size])
    mixed = st.lists(st.one_of(named, unicode_text), min_size=1, max_size=4).map("".join)
    return st.one_of(named, unicode_text, mixed).map(lambda t: t[:max_size])


def nonblank_hostile_text(max_size: int = 10_000) -> st.SearchStrategy[str]:
    """Hostile text that is not only whitespace (required fields)."""
    return hostile_text(max_size).filter(lambda t: t.strip() != "")


MALFORMED_JSON = [
    b"{",
    b'{"text": }',
    b"[1, 2",
    b"\xff\xfe\x00",
    b"null",
    b"[]",
    b'"just a string"',
    b"12345",
    b'{"text": "\\ud800"}',
    b'{"text": "' + b"a" * 300_000 + b'"}',
    b'{"text": {"$gt": ""}}',
    b'{"text": ["a", "b"]}',
    b"{'text': 'single quotes'}",
    b'{"text": NaN}',
]
"""Bodies that are not the JSON object an endpoint expects."""
