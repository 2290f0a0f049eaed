"""Catalogue loading and each validation error."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline.casework.catalogue import load_catalogue_file, parse_catalogue
from hotline.casework.vocab import CaseType, Urgency
from hotline.config import PROJECT_ROOT
from hotline.errors import CatalogueError

REQUIRED_CODES = {
    "elderly_care",
    "employment",
    "social_security",
    "social_assistance",
    "mediation",
    "legal_aid",
    "public_security",
    "city_management",
    "property_housing",
    "public_health",
    "family_planning",
    "disability",
    "minors",
    "migrant_services",
    "household_services",
    "culture_education",
    "other",
}


@pytest.fixture()
def raw() -> dict[str, Any]:
    data = yaml.safe_load((PROJECT_ROOT / "data" / "catalogue.yml").read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def test_catalogue_holds_exactly_the_required_codes() -> None:
    catalogue = load_catalogue_file(PROJECT_ROOT / "data" / "catalogue.yml")
    assert set(catalogue.codes) == REQUIRED_CODES
    assert len(catalogue.codes) == 17
    elderly = catalogue.get("elderly_care")
    assert elderly.name == "养老服务"
    assert set(elderly.time_limits.working_days) == set(CaseType)
    assert elderly.time_limits.hours[Urgency.EMERGENCY] == 2
    assert elderly.time_limits.hours[Urgency.URGENT] == 24
    assert {r.number for r in catalogue.referrals} >= {"12345", "12315", "95598"}


@pytest.mark.parametrize(
    "field",
    ["code", "name", "description", "examples", "department", "keywords", "time_limits"],
)
def test_missing_field_names_entry_and_field(raw: dict[str, Any], field: str) -> None:
    del raw["categories"][3][field]
    with pytest.raises(CatalogueError) as err:
        parse_catalogue(raw)
    assert "categories[3]" in str(err.value)
    assert f"'{field}'" in str(err.value)


def test_duplicate_code(raw: dict[str, Any]) -> None:
    raw["categories"][5]["code"] = raw["categories"][1]["code"]
    with pytest.raises(CatalogueError, match=r"categories\[5\] \(employment\): duplicate code"):
        parse_catalogue(raw)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("working_days", "complaint"), 0),
        (("working_days", "help"), "five"),
        (("working_days", "consultation"), None),
        (("hours", "emergency"), -2),
        (("hours", "urgent"), 10_000),
    ],
)
def test_bad_time_limit(raw: dict[str, Any], path: tuple[str, str], value: Any) -> None:
    entry = raw["categories"][7]
    limits = copy.deepcopy(entry["time_limits"])
    limits[path[0]][path[1]] = value
    entry["time_limits"] = limits
    with pytest.raises(CatalogueError) as err:
        parse_catalogue(raw)
    message = str(err.value)
    assert "categories[7] (city_management)" in message
    assert f"time_limits.{path[0]}.{path[1]}" in message


def test_not_a_list_of_categories() -> None:
    with pytest.raises(CatalogueError, match="categories"):
        parse_catalogue({"version": 1})


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue_file(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("categories: [\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="not valid YAML"):
        load_catalogue_file(bad)


def test_public_flag_defaults_to_false_and_must_be_a_boolean(raw: dict[str, Any]) -> None:
    catalogue = parse_catalogue(raw)
    public = [c.code for c in catalogue.categories if c.public]
    assert public == ["city_management"]  # shared space; nothing about a person
    raw["categories"][0]["public"] = "yes"
    with pytest.raises(
        CatalogueError, match=r"categories\[0\].*field 'public' must be true or false"
    ):
        parse_catalogue(raw)
