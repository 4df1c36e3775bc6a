"""Saved server profiles of the remote commands: which server, with which API key.

Profiles live in ``profiles.json`` under the user's config folder (``$XDG_CONFIG_HOME/spell`` or
``~/.config/spell`` on Linux), readable by the user only (folder 0700, file 0600) and replaced
atomically, so a crash never leaves half a file. ``SPELL_SERVER`` and ``SPELL_API_KEY`` override what
a profile says; ``--profile NAME`` (or ``SPELL_PROFILE``) picks one, ``default`` otherwise.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from spell.errors import AuthError, InvalidInput, NotFound

if TYPE_CHECKING:
    from spell.client import Client

__all__ = [
    "DEFAULT_PROFILE",
    "Profile",
    "client_for",
    "config_dir",
    "load_profiles",
    "profile_option",
    "profiles_path",
    "remove_profile",
    "resolve_profile",
    "save_profile",
]

DEFAULT_PROFILE = "default"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Profile:
    """A server URL and the API key used there."""

    name: str
    server: str
    api_key: str | None

    def to_dict(self) -> dict[str, Any]:
        """The stored form (the name is the key it is stored under)."""
        return {"server": self.server, "api_key": self.api_key}


def config_dir() -> Path:
    """The user's config folder for Spell (honours ``XDG_CONFIG_HOME``)."""
    return Path(click.get_app_dir("spell"))


def profiles_path() -> Path:
    """Where profiles are stored."""
    return config_dir() / "profiles.json"


def load_profiles() -> dict[str, Profile]:
    """Every stored profile by name (none when the file does not exist yet)."""
    path = profiles_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"cannot read the profiles file {path}: {exc}",
            details={"path": str(path)},
            hint="fix or delete the file, then run spell login again",
        ) from None
    entries = data.get("profiles") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise InvalidInput(f"the profiles file {path} has no 'profiles' object", details={"path": str(path)})
    return {
        name: Profile(name, str(entry.get("server", "")), entry.get("api_key"))
        for name, entry in entries.items()
        if isinstance(entry, dict)
    }


def _write(profiles: dict[str, Profile]) -> Path:
    """Replace the profiles file in one step, private to the user."""
    folder = config_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = profiles_path()
    body = {"profiles": {name: p.to_dict() for name, p in sorted(profiles.items())}}
    handle, temp = tempfile.mkstemp(prefix=".profiles-", suffix=".json", dir=folder)  # created 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(body, out, indent=2, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def save_profile(profile: Profile) -> Path:
    """Store (or replace) a profile; the file written."""
    profiles = load_profiles()
    profiles[profile.name] = profile
    return _write(profiles)


def remove_profile(name: str) -> Path:
    """Forget a stored profile; ``NOT_FOUND`` when there is none by that name."""
    profiles = load_profiles()
    if name not in profiles:
        raise NotFound(f"no profile named {name!r}", details={"profile": name, "profiles": sorted(profiles)})
    del profiles[name]
    return _write(profiles)


def resolve_profile(name: str | None) -> Profile:
    """The profile a remote command uses: the named (or default) one, with ``SPELL_SERVER`` and
    ``SPELL_API_KEY`` taking precedence over what it stores."""
    chosen = name or DEFAULT_PROFILE
    stored = load_profiles().get(chosen)
    if stored is None and name is not None:
        raise NotFound(
            f"no profile named {name!r}",
            details={"profile": name},
            hint=f"log in first: spell login --server URL --profile {name}",
        )
    server = os.environ.get("SPELL_SERVER") or (stored.server if stored else None)
    api_key = os.environ.get("SPELL_API_KEY") or (stored.api_key if stored else None)
    if not server or not api_key:
        raise AuthError(
            "not logged in to a Spell server",
            hint="run spell login --server URL, or set SPELL_SERVER and SPELL_API_KEY",
        )
    return Profile(chosen, server, api_key)


def client_for(profile: str | None) -> Client:
    """An SDK client for the profile a remote command was given (see ``resolve_profile``)."""
    from spell.client import Client

    chosen = resolve_profile(profile)
    return Client(chosen.server, chosen.api_key)


def profile_option(command: F) -> F:
    """The ``--profile NAME`` option of login, logout and every remote command (``SPELL_PROFILE`` is
    its default, ``default`` the profile used when neither is given)."""
    return click.option(
        "--profile",
        "profile",
        envvar="SPELL_PROFILE",
        default=None,
        metavar="NAME",
        help="Which saved server profile to use (see spell login); 'default' when left out.",
    )(command)
