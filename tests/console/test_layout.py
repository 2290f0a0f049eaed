"""Every router of the console lives in ``console/routes/``; the app includes each of them."""

from __future__ import annotations

import ast

from hotline.config import PROJECT_ROOT

CONSOLE = PROJECT_ROOT / "console"


def _builds_router(text: str) -> bool:
    return any(
        isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", "")) == "APIRouter"
        for node in ast.walk(ast.parse(text))
    )


def _router_module(router: object) -> str:
    """The module that defined a router's first route's endpoint."""
    routes = getattr(router, "routes", [])
    return routes[0].endpoint.__module__ if routes else ""


def test_routers_live_in_console_routes() -> None:
    outside = [
        str(path.relative_to(CONSOLE))
        for path in sorted(CONSOLE.rglob("*.py"))
        if path.parent.name != "routes"
        and path.name != "app.py"  # its /healthz router only
        and _builds_router(path.read_text(encoding="utf-8"))
    ]
    assert outside == [], f"routers outside console/routes/: {outside}"


def test_the_app_includes_every_router_module() -> None:
    from console.app import ROUTERS

    included = {_router_module(r) for r in ROUTERS}
    modules = {
        f"console.routes.{path.stem}"
        for path in (CONSOLE / "routes").glob("*.py")
        if path.stem != "__init__"
    }
    assert modules <= included, f"not in console.app.ROUTERS: {sorted(modules - included)}"
