"""Install source: ``<git-url>#<ref>``, shallow-cloned into a temporary folder; the commit is recorded.

The ref is required so an install names exactly what it takes. ``https://``, ``ssh://``, ``git@host:``
and ``file://`` remotes are accepted; git runs without a shell and never prompts for credentials.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from spell.bundle.sources.base import FetchContext, Fetched
from spell.errors import EngineUnavailable, FetchFailed, InvalidInput, Timeout

__all__ = ["clone", "fetch_git", "is_git_source", "split_git_source"]

_GIT_URL = re.compile(r"^(?:https://|ssh://|file://|git@[^:]+:.+)", re.IGNORECASE)


def is_git_source(text: str) -> bool:
    """True for a git remote (with or without ``#ref``)."""
    return bool(_GIT_URL.match(text))


def split_git_source(text: str) -> tuple[str, str]:
    """Split ``url#ref``; the ref is required."""
    url, sep, ref = text.rpartition("#")
    if not sep or not url or not ref:
        raise InvalidInput(
            "git source requires explicit ref (#<ref>)",
            details={"source": text},
            hint="append the branch or tag, e.g. https://example.com/repo.git#v1.0.0",
        )
    return url, ref


def fetch_git(text: str, workdir: Path, ctx: FetchContext) -> Fetched:
    """Clone ``url#ref`` into ``workdir/bundle`` and record the commit it resolved to."""
    url, ref = split_git_source(text)
    dest = workdir / "bundle"
    commit = clone(url, ref, dest, ctx)
    return Fetched(root=dest, kind="git", source=text, ref=ref, commit=commit, url=url)


def clone(url: str, ref: str, dest: Path, ctx: FetchContext) -> str:
    """Shallow-clone ``ref`` of ``url`` into ``dest``; return the checked-out commit SHA."""
    ctx.progress(f"cloning {url} at {ref}")
    _git(ctx, ["clone", "--quiet", "--depth", "1", "--branch", ref, "--", url, str(dest)], url)
    commit = _git(ctx, ["-C", str(dest), "rev-parse", "HEAD"], url).strip()
    ctx.progress(f"checked out {commit}")
    return commit


def _git(ctx: FetchContext, args: list[str], url: str) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    try:
        done = subprocess.run(
            [ctx.git, *args], capture_output=True, text=True, env=env, timeout=ctx.timeout_s, check=False
        )
    except FileNotFoundError as exc:
        raise EngineUnavailable(
            "git executable not found: install git and ensure it is on PATH", details={"git": ctx.git}
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise Timeout(f"git took longer than {ctx.timeout_s:g}s for '{url}'", details={"url": url}) from exc
    if done.returncode != 0:
        detail = " ".join((done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").split())
        raise FetchFailed(f"failed to clone git source '{url}': {detail}", details={"url": url})
    return done.stdout
