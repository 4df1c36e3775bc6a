"""The error catalog: the tree in ``spell.errors``' docstring is the class hierarchy, and each errors
module exports exactly what it defines."""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from types import ModuleType

import pytest

import spell
import spell.errors
from spell.errors import SpellError

_LINE = re.compile(
    r"^(?P<indent>(?:[│ ] {3})*)(?:[├└]── )?(?P<name>\w+) \((?P<code>[A-Z_]+)(?:, (?P<status>\d{3}))?\)"
    r"(?:  \[(?P<where>platform\.\w+)\])?$"
)


@dataclass(frozen=True)
class Documented:
    parent: str | None
    code: str
    status: int | None
    module: str


def _documented_tree() -> dict[str, Documented]:
    doc = spell.errors.__doc__ or ""
    block = doc.split("::\n", 1)[1]
    tree: dict[str, Documented] = {}
    path: list[str] = []
    for raw in block.splitlines():
        if not raw.strip():
            continue
        assert raw.startswith("    "), f"tree line not indented as a literal block: {raw!r}"
        match = _LINE.match(raw[4:])
        assert match, f"tree line does not read `Name (CODE[, status])  [platform.x]`: {raw!r}"
        depth = len(match["indent"]) // 4 + (0 if raw[4:].startswith(match["name"]) else 1)
        del path[depth:]
        assert len(path) == depth, f"{match['name']} is indented under nothing"
        name = match["name"]
        assert name not in tree, f"{name} appears twice in the tree"
        where = match["where"]
        tree[name] = Documented(
            parent=path[-1] if path else None,
            code=match["code"],
            status=int(match["status"]) if match["status"] else None,
            module=f"spell.{where}.errors" if where else "spell.errors",
        )
        path.append(name)
    return tree


def _spell_modules() -> list[ModuleType]:
    modules = []
    for info in pkgutil.walk_packages(spell.__path__, "spell."):
        if ".migrations" in info.name:  # Alembic scripts run on import
            continue
        modules.append(importlib.import_module(info.name))
    return modules


MODULES = _spell_modules()
ERROR_MODULES = [m for m in MODULES if m.__name__ == "spell.errors" or m.__name__.endswith(".errors")]


def _classes(root: type[SpellError]) -> list[type[SpellError]]:
    found: list[type[SpellError]] = []
    for sub in root.__subclasses__():
        if sub.__module__.startswith("spell."):  # test doubles subclass errors too
            found += [sub, *_classes(sub)]
    return found


def test_the_documented_tree_is_the_class_hierarchy() -> None:
    documented = _documented_tree()
    classes: list[type[SpellError]] = [SpellError, *_classes(SpellError)]
    actual = {cls.__name__: cls for cls in classes}
    assert sorted(documented) == sorted(actual)
    for name, doc in documented.items():
        cls = actual[name]
        (base,) = cls.__bases__
        parent = base if issubclass(base, SpellError) else None
        assert (parent.__name__ if parent else None) == doc.parent, name
        assert cls.code == doc.code, name
        assert cls.__module__ == doc.module, name
        if doc.status is not None:
            assert cls.status_code == doc.status, name
        else:
            assert parent is not None, f"{name} must show its status"
            assert cls.status_code == parent.status_code, f"{name} changes its status; the tree must show it"


def test_the_tree_parser_reads_positions_and_annotations() -> None:
    tree = _documented_tree()
    assert tree["SpellError"] == Documented(None, "INTERNAL", 500, "spell.errors")
    assert tree["SandboxUnavailable"].parent == "EngineUnavailable"
    assert tree["RateLimited"] == Documented(
        "QuotaError", "RATE_LIMITED", 429, "spell.platform.ratelimit.errors"
    )
    assert tree["CastRateLimited"].parent == "RateLimited"


def test_every_code_is_upper_snake() -> None:
    for cls in _classes(SpellError):
        assert re.fullmatch(r"[A-Z][A-Z_]*[A-Z]", cls.code), cls


def test_spell_errors_defines_nothing_outside_its_tree() -> None:
    defined = {
        name
        for module in MODULES
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, SpellError) and value.__module__ == module.__name__
    }
    assert defined == set(_documented_tree())


@pytest.mark.parametrize("module", ERROR_MODULES, ids=lambda m: m.__name__)
def test_an_errors_module_exports_exactly_what_it_defines(module: ModuleType) -> None:
    defined = sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    )
    assert sorted(module.__all__) == defined
