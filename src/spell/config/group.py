"""How a settings group declares its fields, and the cheap part of reading them (no pydantic here).

Every group (``spell.config.*``, and the docker runtime's options) is declared and read this way.

A group is a frozen dataclass with an ``env_prefix``; each field is declared with :func:`setting`,
which records its description, constraints and extra environment names. The variable of a field is
``<env_prefix><FIELD>``; older names stay accepted as aliases. When no variable of a group is set the
group is its defaults and pydantic-settings is never imported: ``spell cast`` starts fast.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from spell.errors import InvalidInput

__all__ = ["SETTINGS_FILE", "Group", "Setting", "env_names", "layered", "read", "setting", "settings_of"]

#: An optional TOML or ``.env`` file of the same variables; the environment wins over it.
SETTINGS_FILE = "SPELL_SETTINGS_FILE"

_KEY = "spell.setting"


@dataclass(frozen=True)
class Setting:
    """What the environment may set for one field, and how the settings table documents it."""

    description: str
    aliases: tuple[str, ...] = ()
    ge: float | None = None
    le: float | None = None
    choices: tuple[str, ...] = ()
    # Older variables in another unit: name -> how many of the field's units one of theirs is.
    unit_aliases: Mapping[str, int] = field(default_factory=dict)
    # Turns the raw string into the field's value; raises ValueError with a reason.
    parse: Callable[[str], Any] | None = None
    shown_default: str | None = None


class Group(Protocol):
    """A settings group: a dataclass whose fields are declared with :func:`setting`."""

    env_prefix: ClassVar[str]
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]


G = TypeVar("G", bound=Group)


def setting(
    default: Any = dataclasses.MISSING,
    description: str = "",
    *,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    aliases: tuple[str, ...] = (),
    ge: float | None = None,
    le: float | None = None,
    choices: tuple[str, ...] = (),
    unit_aliases: Mapping[str, int] | None = None,
    parse: Callable[[str], Any] | None = None,
    shown_default: str | None = None,
) -> Any:
    """A dataclass field that the environment can set (``Any`` like ``dataclasses.field``)."""
    meta = Setting(description, aliases, ge, le, choices, dict(unit_aliases or {}), parse, shown_default)
    return field(default=default, default_factory=default_factory, metadata={_KEY: meta})


def settings_of(group: type[Group]) -> Iterator[tuple[dataclasses.Field[Any], Setting]]:
    """The fields of ``group`` the environment can set, with their declarations."""
    for f in dataclasses.fields(group):
        meta = f.metadata.get(_KEY)
        if isinstance(meta, Setting):
            yield f, meta


def env_names(group: type[Group], name: str, meta: Setting) -> tuple[str, ...]:
    """The variables of one field: the derived name first, then the aliases."""
    return (f"{group.env_prefix}{name.upper()}", *meta.aliases)


def layered(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment over the variables of ``SPELL_SETTINGS_FILE`` (TOML or ``.env``), if set."""
    env = dict(os.environ if environ is None else environ)
    raw = env.get(SETTINGS_FILE, "").strip()
    if not raw:
        return env
    path = Path(raw).expanduser()
    try:
        values = _toml_file(path) if path.suffix == ".toml" else _dotenv_file(path)
    except OSError as exc:
        raise InvalidInput(f"{SETTINGS_FILE}: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:  # tomllib.TOMLDecodeError is one
        raise InvalidInput(f"{SETTINGS_FILE}: {path} is not valid: {exc}") from None
    return {**values, **env}


def _toml_file(path: Path) -> dict[str, str]:
    import json
    import tomllib  # only when a TOML settings file is set

    with path.open("rb") as handle:
        data = tomllib.load(handle)
    out: dict[str, str] = {}
    for name, value in data.items():
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list):
            out[name] = ",".join(str(item) for item in value)
        elif isinstance(value, dict):
            out[name] = json.dumps(value)
        else:
            out[name] = str(value)
    return out


def _dotenv_file(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    if not path.is_file():
        raise FileNotFoundError(2, "no such file", str(path))
    return {name: value for name, value in dotenv_values(path).items() if value is not None}


def read(group: type[G], env: Mapping[str, str], base: G) -> G:
    """``base`` with the fields whose variables are set in ``env`` replaced; garbage refused by name."""
    if not any(env.get(name, "").strip() for name in _all_names(group)):
        return base
    from spell.config._reader import parse

    changes = parse(group, env)
    return dataclasses.replace(base, **changes)


def _all_names(group: type[Group]) -> Iterator[str]:
    for f, meta in settings_of(group):
        yield from env_names(group, f.name, meta)
        yield from meta.unit_aliases
