"""The service catalogue (data/catalogue.yml): loading and validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from hotline.casework.vocab import CaseType, Urgency
from hotline.config import load_settings
from hotline.errors import CatalogueError

REQUIRED_FIELDS = (
    "code",
    "name",
    "description",
    "examples",
    "department",
    "keywords",
    "time_limits",
)
CLOCK_URGENCIES = (Urgency.URGENT, Urgency.EMERGENCY)
MAX_WORKING_DAYS = 60
MAX_HOURS = 240


@dataclass(frozen=True)
class TimeLimits:
    """Time limits of one category: working days per case type, hours per raised urgency."""

    working_days: dict[CaseType, int]
    hours: dict[Urgency, int]


@dataclass(frozen=True)
class Category:
    """One service category of the one-stop window."""

    code: str
    name: str
    description: str
    examples: tuple[str, ...]
    department: str
    keywords: tuple[str, ...]
    time_limits: TimeLimits
    public: bool = False
    """Whether cases of this category may be published (Open311 reads,
    :mod:`hotline.channels.open311`)."""
    related: tuple[str, ...] = ()
    """Categories whose cases may be the same problem (as written in the file; see
    :meth:`Catalogue.neighbours` for the symmetric relation)."""


@dataclass(frozen=True)
class Referral:
    """Another hotline to name when a matter belongs elsewhere."""

    number: str
    name: str
    covers: str


@dataclass(frozen=True)
class Catalogue:
    """The whole catalogue, indexed by code."""

    categories: tuple[Category, ...]
    referrals: tuple[Referral, ...] = ()
    emergency_numbers: tuple[Referral, ...] = ()
    _by_code: dict[str, Category] = field(default_factory=dict, repr=False)
    _neighbours: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_code.update({c.code: c for c in self.categories})
        links: dict[str, set[str]] = {c.code: {c.code} for c in self.categories}
        for category in self.categories:
            for other in category.related:
                if other in links:
                    links[category.code].add(other)
                    links[other].add(category.code)
        self._neighbours.update({code: frozenset(codes) for code, codes in links.items()})

    def neighbours(self, code: str) -> frozenset[str]:
        """The category itself and the categories related to it, either way round (the one
        place the similar-case matcher and the hotspots learn which categories to compare).
        An unknown code has only itself."""
        return self._neighbours.get(code, frozenset({code}))

    @property
    def codes(self) -> list[str]:
        """All category codes, in catalogue order."""
        return [c.code for c in self.categories]

    def get(self, code: str) -> Category:
        """Returns the category with this code.

        Raises:
            KeyError: When there is none.
        """
        return self._by_code[code]

    def has(self, code: str) -> bool:
        """Whether a category has this code."""
        return code in self._by_code


def _entry_label(raw: dict[str, Any], index: int) -> str:
    code = raw.get("code") if isinstance(raw, dict) else None
    return f"categories[{index}] ({code})" if code else f"categories[{index}]"


def _parse_time_limits(raw: Any, where: str) -> TimeLimits:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: field 'time_limits' must be a mapping")
    days_raw = raw.get("working_days")
    hours_raw = raw.get("hours")
    if not isinstance(days_raw, dict):
        raise CatalogueError(f"{where}: field 'time_limits.working_days' must be a mapping")
    if not isinstance(hours_raw, dict):
        raise CatalogueError(f"{where}: field 'time_limits.hours' must be a mapping")
    working_days: dict[CaseType, int] = {}
    for case_type in CaseType:
        value = days_raw.get(case_type.value)
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not (1 <= value <= MAX_WORKING_DAYS)
        ):
            raise CatalogueError(
                f"{where}: field 'time_limits.working_days.{case_type.value}' must be a whole "
                f"number of working days from 1 to {MAX_WORKING_DAYS}, got {value!r}"
            )
        working_days[case_type] = value
    hours: dict[Urgency, int] = {}
    for urgency in CLOCK_URGENCIES:
        value = hours_raw.get(urgency.value)
        if not isinstance(value, int) or isinstance(value, bool) or not (1 <= value <= MAX_HOURS):
            raise CatalogueError(
                f"{where}: field 'time_limits.hours.{urgency.value}' must be a whole number of "
                f"hours from 1 to {MAX_HOURS}, got {value!r}"
            )
        hours[urgency] = value
    return TimeLimits(working_days=working_days, hours=hours)


def _parse_strings(raw: Any, where: str, name: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) and x for x in raw):
        raise CatalogueError(f"{where}: field '{name}' must be a non-empty list of strings")
    return tuple(raw)


def _parse_category(raw: Any, index: int) -> Category:
    where = _entry_label(raw, index)
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: entry must be a mapping")
    for name in REQUIRED_FIELDS:
        if name not in raw or raw[name] in (None, "", []):
            raise CatalogueError(f"{where}: missing field '{name}'")
    for name in ("code", "name", "description", "department"):
        if not isinstance(raw[name], str):
            raise CatalogueError(f"{where}: field '{name}' must be a string")
    return Category(
        code=raw["code"],
        name=raw["name"],
        description=raw["description"],
        examples=_parse_strings(raw["examples"], where, "examples"),
        department=raw["department"],
        keywords=_parse_strings(raw["keywords"], where, "keywords"),
        time_limits=_parse_time_limits(raw["time_limits"], where),
        public=_parse_public(raw.get("public", False), where),
        related=_parse_related(raw.get("related"), where),
    )


def _parse_related(raw: Any, where: str) -> tuple[str, ...]:
    """The optional ``related`` list of category codes (checked against the catalogue later)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise CatalogueError(f"{where}: field 'related' must be a list of category codes")
    return tuple(raw)


def _parse_public(raw: Any, where: str) -> bool:
    """The optional ``public`` flag: only ``true`` or ``false``."""
    if not isinstance(raw, bool):
        raise CatalogueError(f"{where}: field 'public' must be true or false, got {raw!r}")
    return raw


def _parse_referrals(raw: Any, key: str) -> tuple[Referral, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise CatalogueError(f"{key}: must be a list")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) and item.get(k) for k in ("number", "name", "covers")
        ):
            raise CatalogueError(f"{key}[{i}]: needs string fields number, name and covers")
        out.append(Referral(number=item["number"], name=item["name"], covers=item["covers"]))
    return tuple(out)


def parse_catalogue(data: Any) -> Catalogue:
    """Validates parsed catalogue YAML and builds the catalogue.

    Args:
        data: The parsed YAML document.

    Raises:
        CatalogueError: Naming the entry and the field at fault.
    """
    if not isinstance(data, dict) or not isinstance(data.get("categories"), list):
        raise CatalogueError("catalogue: missing field 'categories' (a list)")
    categories = [_parse_category(raw, i) for i, raw in enumerate(data["categories"])]
    seen_codes: dict[str, int] = {}
    for i, cat in enumerate(categories):
        if cat.code in seen_codes:
            raise CatalogueError(
                f"categories[{i}] ({cat.code}): duplicate code '{cat.code}' "
                f"(first at categories[{seen_codes[cat.code]}])"
            )
        seen_codes[cat.code] = i
    for i, cat in enumerate(categories):
        for other in cat.related:
            if other not in seen_codes or other == cat.code:
                raise CatalogueError(
                    f"categories[{i}] ({cat.code}): field 'related' names "
                    f"{'itself' if other == cat.code else f'unknown category {other!r}'}"
                )
    return Catalogue(
        categories=tuple(categories),
        referrals=_parse_referrals(data.get("referrals"), "referrals"),
        emergency_numbers=_parse_referrals(data.get("emergency_numbers"), "emergency_numbers"),
    )


def load_catalogue_file(path: Path) -> Catalogue:
    """Loads and validates a catalogue file.

    Raises:
        CatalogueError: When the file is unreadable or invalid.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"catalogue: cannot read {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"catalogue: {path} is not valid YAML: {exc}") from exc
    return parse_catalogue(data)


@lru_cache(maxsize=4)
def _cached(path: str) -> Catalogue:
    return load_catalogue_file(Path(path))


def get_catalogue() -> Catalogue:
    """Returns the configured catalogue, loaded once per process."""
    return _cached(str(load_settings().catalogue_path))
