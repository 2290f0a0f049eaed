"""The shape of ``hotline/``: rooms that import only downwards, no framework, empty ``__init__``.

Read from the source with ``ast`` (nothing is imported), so a new import that breaks the
layering fails here before it becomes a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hotline.config import PROJECT_ROOT

HOTLINE = PROJECT_ROOT / "hotline"
# Each room may import from the top level and from the rooms before it, never after.
ROOMS = (
    "casework",
    "access",
    "privacy",
    "similarity",
    "channels",
    "residents",
    "reporting",
    "cli",
)
TOP_LEVEL = {"config", "errors", "db", "models", "pgadmin", "text_encoder"}
FRAMEWORKS = ("rasa", "rasa_sdk", "telegram", "fastapi", "starlette", "console", "actions", "bot")


def _modules() -> list[Path]:
    return sorted(HOTLINE.rglob("*.py"))


def _room(path: Path) -> str:
    relative = path.relative_to(HOTLINE)
    return relative.parts[0] if len(relative.parts) > 1 else ""


def _imports(path: Path) -> list[str]:
    """Absolute module names this file imports (``from hotline import x`` gives hotline.x)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; the project uses absolute ones"
            module = node.module or ""
            if module == "hotline":
                names.extend(f"hotline.{alias.name}" for alias in node.names)
            else:
                names.append(module)
    return names


def test_every_module_lives_in_a_room_or_the_top_level() -> None:
    for path in _modules():
        room = _room(path)
        if room:
            assert room in ROOMS, f"{path}: {room}/ is not a room named in ROOMS"
        else:
            assert path.stem in TOP_LEVEL | {"__init__"}, (
                f"{path}: put it in a room (hotline/<room>/), or name it in TOP_LEVEL if it is a "
                "cross-cutting basic like config or db"
            )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(HOTLINE)))
def test_imports_go_only_downwards(path: Path) -> None:
    room = _room(path)
    for name in _imports(path):
        assert name.split(".")[0] not in FRAMEWORKS, f"{path} imports {name}"
        parts = name.split(".")
        if parts[0] != "hotline" or len(parts) < 2:
            continue
        target = parts[1]
        if target in TOP_LEVEL:
            continue
        assert target in ROOMS, f"{path} imports {name}, which is neither a room nor top level"
        assert room, f"{path} (top level) imports {name} from a room"
        assert ROOMS.index(target) <= ROOMS.index(room), (
            f"{path} ({room}) imports {name} ({target}): a room imports only from the rooms "
            f"before it in {ROOMS}"
        )


def test_package_inits_import_nothing() -> None:
    """The Rasa environment (SQLAlchemy 1.4) imports hotline.config and hotline.privacy.logmask;
    an import in a package's __init__ would pull the ORM in. hotline/cli is the exception: it is
    the command line itself; ``os`` is allowed, for environment settings that must precede
    numpy (hotline/__init__.py)."""
    for path in HOTLINE.rglob("__init__.py"):
        if path.parent.name == "cli":
            continue
        imported = [name for name in _imports(path) if name != "os"]
        assert imported == [], f"{path} imports {imported}"
