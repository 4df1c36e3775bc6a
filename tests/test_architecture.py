"""The import direction of CONVENTIONS.md, checked by parsing every module under src/spell."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "spell"

# Layer rank: a module may import only packages of the same or a lower rank.
RANKS: dict[str, int] = {
    "kit": 0,
    "errors": 1,
    "config": 1,
    "bundle": 2,
    "signing": 3,
    "sbom": 3,
    "policy": 4,
    "runtimes": 5,
    "local": 6,
    "testing": 6,
    "models": 7,
    "storage": 7,
    "queue": 7,
    "platform": 8,
    "api": 9,
    "client": 9,
    "mcp": 9,
    "web": 9,
    "cli": 10,
}
CLIENT_MAY_IMPORT = {"kit", "errors", "bundle", "signing", "client"}
# The local cast is the command line's use case: the server casts through platform/cast instead.
LOCAL_IMPORTED_BY = {"local", "cli"}
SERVICE_FORBIDDEN = {"fastapi", "starlette", "mcp", "typer", "click", "uvicorn"}
# An edge like cli, but of the server code it reads only the wire models and the error leaves.
CLIENT_PLATFORM_MODULES = ("schemas", "errors")
CLIENT_FORBIDDEN = SERVICE_FORBIDDEN | {"sqlalchemy", "alembic"}
# The MCP server is an edge over the SDK: it reaches the platform only through REST calls.
MCP_MAY_IMPORT = CLIENT_MAY_IMPORT | {"mcp"}
MCP_FORBIDDEN = CLIENT_FORBIDDEN - {"mcp"}


def _package_of(module_path: Path) -> str:
    rel = module_path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imported_names(module_path: Path) -> list[str]:
    tree = ast.parse(module_path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _spell_imports(module_path: Path) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name in _imported_names(module_path):
        top, _, rest = name.partition(".")
        found.append((top, rest.split(".")[0] if rest else ""))
    return found


MODULES = sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC)


def test_source_tree_is_not_empty() -> None:
    assert len(MODULES) > 10


@pytest.mark.parametrize("module_path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_imports_only_same_or_lower_layers(module_path: Path) -> None:
    package = _package_of(module_path)
    rank = RANKS.get(package)
    assert rank is not None, f"package {package!r} has no layer in RANKS"
    for top, sub in _spell_imports(module_path):
        if top != "spell" or not sub or sub == "__version__":
            continue
        target = RANKS.get(sub)
        assert target is not None, f"{module_path.name} imports unknown package spell.{sub}"
        assert target <= rank, f"{module_path.relative_to(SRC)} imports upward: spell.{sub}"
        if package == "client" and sub != "platform":
            assert sub in CLIENT_MAY_IMPORT, f"client imports spell.{sub}"
        if sub == "local":
            assert package in LOCAL_IMPORTED_BY, f"{module_path.relative_to(SRC)} imports spell.local"
        if package == "mcp" and sub != "platform":
            assert sub in MCP_MAY_IMPORT, f"mcp imports spell.{sub}"


CLIENT_MODULES = [p for p in MODULES if _package_of(p) in ("client", "mcp")]


@pytest.mark.parametrize("module_path", CLIENT_MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_client_imports_no_server_machinery(module_path: Path) -> None:
    forbidden = MCP_FORBIDDEN if _package_of(module_path) == "mcp" else CLIENT_FORBIDDEN
    for name in _imported_names(module_path):
        parts = name.split(".")
        assert parts[0] not in forbidden, f"{module_path.relative_to(SRC)} imports {name}"
        if parts[:2] == ["spell", "platform"]:
            assert parts[3:] in [[leaf] for leaf in CLIENT_PLATFORM_MODULES], (
                f"{module_path.relative_to(SRC)} imports {name}: only platform.<domain>.schemas|errors"
            )


def test_services_and_library_never_import_web_or_cli_frameworks() -> None:
    inner = [p for p in MODULES if RANKS[_package_of(p)] <= RANKS["platform"]]
    assert inner
    for module_path in inner:
        for top, _ in _spell_imports(module_path):
            assert top not in SERVICE_FORBIDDEN, f"{module_path.relative_to(SRC)} imports {top}"


# The console is an edge like api/: it reaches the database only through the services' units of work.
WEB_FORBIDDEN = {"sqlalchemy", "alembic"}
WEB_MAY_NOT_IMPORT = {"storage", "queue", "runtimes"}
WEB_MODULES = [p for p in MODULES if _package_of(p) == "web"]


@pytest.mark.parametrize("module_path", WEB_MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_the_console_never_touches_the_database_directly(module_path: Path) -> None:
    for name in _imported_names(module_path):
        assert name.split(".")[0] not in WEB_FORBIDDEN, f"{module_path.relative_to(SRC)} imports {name}"
    for top, sub in _spell_imports(module_path):
        assert top != "spell" or sub not in WEB_MAY_NOT_IMPORT, (
            f"{module_path.relative_to(SRC)} imports spell.{sub}"
        )


def test_the_console_is_checked() -> None:
    assert len(WEB_MODULES) >= 5


def test_public_api_lists_only_existing_names() -> None:
    import spell
    import spell.errors

    for module in (spell, spell.errors):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.__all__ names missing {name}"
