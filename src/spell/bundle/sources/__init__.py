"""Where a bundle can be installed from: a folder, a ``.tar`` archive, ``git URL#ref``,
``registry:<id>[@version]`` or ``oci:<image>``. One module per source; ``fetch`` picks one.

Every source leaves the bundle in a folder (inside the caller's temporary ``workdir`` unless it is
a local folder) and returns a ``Fetched`` with its provenance. Nothing here touches the store.
"""

from __future__ import annotations

from pathlib import Path

from spell.bundle.sources.archive import fetch_archive, is_archive
from spell.bundle.sources.base import FetchContext, Fetched, Progress, quiet
from spell.bundle.sources.folder import fetch_folder
from spell.bundle.sources.git import fetch_git, is_git_source
from spell.errors import InvalidBundle, InvalidInput

__all__ = ["FetchContext", "Fetched", "Progress", "fetch", "quiet", "source_kind"]


def source_kind(text: str) -> str:
    """Classify an install source: registry, oci, git, archive or local."""
    if text.startswith("registry:"):
        return "registry"
    if text.startswith("oci:"):
        return "oci"
    if is_git_source(text):
        return "git"
    if is_archive(text):
        return "archive"
    path = Path(text).expanduser()
    if path.is_dir():
        return "local"
    if path.exists():
        raise InvalidBundle(
            f"not a bundle folder or .tar archive: {text}",
            details={"source": text},
            hint="pack a folder with `spell pack DIR -o bundle.tar`",
        )
    raise InvalidInput(
        f"no such folder or archive: {text}",
        details={"source": text},
        hint="give a folder, a .tar archive, <git-url>#<ref>, registry:<id>[@version] or oci:<image>",
    )


def fetch(text: str, workdir: Path, ctx: FetchContext) -> Fetched:
    """Fetch the bundle named by ``text`` (``workdir``: an empty temporary folder the caller owns)."""
    kind = source_kind(text)
    # registry and OCI modules pull in pydantic models and urllib; only load them when used
    if kind == "registry":
        from spell.bundle.sources.registry import fetch_registry

        return fetch_registry(text, workdir, ctx)
    if kind == "oci":
        from spell.bundle.sources.oci import fetch_oci

        return fetch_oci(text, workdir, ctx)
    if kind == "git":
        return fetch_git(text, workdir, ctx)
    if kind == "archive":
        return fetch_archive(text, workdir)
    return fetch_folder(text)
