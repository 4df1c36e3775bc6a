"""Reads a settings group from an environment mapping with pydantic-settings.

Imported only when a variable of the group is set (``spell.config.group.read``). Each group gets a
settings model built from its dataclass declaration: one field per setting, its variables as
validation aliases, its constraints as pydantic constraints. Errors become ``InvalidInput`` naming the
variable that held the bad value.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, Field, ValidationError, create_model
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource
from pydantic_settings.sources.utils import parse_env_vars

from spell.config.group import Group, Setting, env_names, settings_of
from spell.errors import InvalidInput

__all__ = ["parse"]


class _Settings(BaseSettings):
    """Values come only from the mapping handed to :class:`_MappingEnv`, never from ``os.environ``."""

    model_config = {"case_sensitive": True, "env_ignore_empty": True, "extra": "ignore"}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


class _MappingEnv(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (the edge's, or a test's)."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._mapping = env
        super().__init__(settings_cls, case_sensitive=True, env_ignore_empty=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._mapping, True, True, None)


def _annotation(hint: Any, meta: Setting) -> Any:
    # Metadata stays outermost: pydantic-settings looks for NoDecode there only.
    if meta.choices:
        return Annotated[Literal[meta.choices] | None, BeforeValidator(_normalise_choice)]
    if meta.parse is not None:
        return Annotated[hint | None, NoDecode, BeforeValidator(_raw_only(meta.parse))]
    return hint | None


def _normalise_choice(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _raw_only(parse: Any) -> Any:
    def validate(value: object) -> object:
        return parse(value) if isinstance(value, str) else value

    return validate


@functools.cache
def _model(group: type[Group]) -> type[BaseSettings]:
    hints = typing.get_type_hints(group)
    fields: dict[str, Any] = {}
    for f, meta in settings_of(group):
        alias = AliasChoices(*env_names(group, f.name, meta))
        info = Field(None, validation_alias=alias, ge=meta.ge, le=meta.le)
        fields[f.name] = (_annotation(hints[f.name], meta), info)
    return create_model(f"{group.__name__}FromEnv", __base__=_Settings, **fields)


def _unit_converted(group: type[Group], env: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The env with older other-unit variables turned into the derived ones, and where each came from."""
    out = dict(env)
    origin: dict[str, str] = {}
    for f, meta in settings_of(group):
        derived = env_names(group, f.name, meta)[0]
        for name, unit in meta.unit_aliases.items():
            raw = env.get(name, "").strip()
            if not raw or env.get(derived, "").strip():
                continue
            try:
                out[derived] = str(int(raw) * unit)
            except ValueError:
                raise InvalidInput(
                    f"{name} must be an integer, got {raw!r}",
                    details={"variable": name},
                    hint=f"unset {name} or give a whole number",
                ) from None
            origin[derived] = name
    return out, origin


def parse(group: type[Group], env: Mapping[str, str]) -> dict[str, Any]:
    """The fields of ``group`` whose variables ``env`` sets, validated; garbage refused by name."""
    model = _model(group)
    converted, origin = _unit_converted(group, env)
    values = _MappingEnv(model, converted)()
    try:
        parsed = model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        variable = _variable(group, error["loc"], converted)
        shown = origin.get(variable, variable)
        raw = env.get(shown, converted.get(variable))
        reason = str(error["msg"]).removeprefix("Value error, ")
        if variable in origin:
            reason += f" (in bytes, {converted[variable]})"
        raise InvalidInput(
            f"{shown}: {reason}, got {raw!r}",
            details={"variable": shown},
            hint=f"unset {shown} or fix its value (the settings tables of docs/ list each one)",
        ) from None
    return {name: getattr(parsed, name) for name in parsed.model_fields_set}


def _variable(group: type[Group], loc: tuple[int | str, ...], env: Mapping[str, str]) -> str:
    key = str(loc[0]) if loc else ""
    for f, meta in settings_of(group):
        names = env_names(group, f.name, meta)
        if key == f.name or key in names:
            return next((name for name in names if env.get(name, "").strip()), names[0])
    return key
