"""A keyword router: the way a hotline routes by hand, from the catalogue's ``keywords``.

It is the baseline the trained assistant is measured against (``make bench``). Pure: no
database, no Rasa, no I/O once the catalogue is given.

Rule: every keyword found in the text counts for its category. The category with the most
distinct matched keywords wins; a tie goes to the category with the longer matched text
(the sum of its matched keywords' lengths), then to the one with the longest single keyword,
then to catalogue order. No keyword at all routes to ``-`` (no case).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hotline.casework.catalogue import Catalogue, Category
from hotline.casework.routing import NO_CASE


@dataclass(frozen=True)
class KeywordMatch:
    """The keywords of one category found in a text."""

    code: str
    keywords: tuple[str, ...]

    @property
    def rank(self) -> tuple[int, int, int]:
        """Sort key, larger is better: match count, matched length, longest keyword."""
        return (
            len(self.keywords),
            sum(len(k) for k in self.keywords),
            max((len(k) for k in self.keywords), default=0),
        )


class KeywordRouter:
    """Routes a resident's message to a category code by catalogue keywords."""

    def __init__(self, keywords: Iterable[tuple[str, Iterable[str]]]) -> None:
        """Builds the router.

        Args:
            keywords: ``(category code, keywords)`` pairs in priority order (catalogue order).
                Empty and whitespace-only keywords are ignored; duplicates count once.
        """
        self._table: list[tuple[str, tuple[str, ...]]] = []
        for code, words in keywords:
            cleaned = tuple(dict.fromkeys(w.strip().lower() for w in words if w and w.strip()))
            self._table.append((code, cleaned))

    @classmethod
    def from_catalogue(cls, catalogue: Catalogue) -> KeywordRouter:
        """A router over every category's ``keywords``, in catalogue order."""
        return cls((c.code, c.keywords) for c in catalogue.categories)

    @classmethod
    def from_categories(cls, categories: Iterable[Category]) -> KeywordRouter:
        """A router over the given categories' ``keywords``."""
        return cls((c.code, c.keywords) for c in categories)

    def matches(self, text: str) -> list[KeywordMatch]:
        """Every category with at least one keyword in ``text``, best first."""
        haystack = (text or "").lower()
        found = [
            (index, KeywordMatch(code, tuple(w for w in words if w in haystack)))
            for index, (code, words) in enumerate(self._table)
        ]
        found = [(i, m) for i, m in found if m.keywords]
        found.sort(key=lambda item: (tuple(-r for r in item[1].rank), item[0]))
        return [m for _, m in found]

    def route(self, text: str) -> str:
        """The best category code for ``text``, or ``-`` when no keyword matches."""
        best = self.matches(text)
        return best[0].code if best else NO_CASE
