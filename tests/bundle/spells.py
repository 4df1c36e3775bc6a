"""Small spells, git repositories and tree snapshots for the store, source and install tests."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def write_spell(
    dest: Path, *, spell_id: str = "acme/hello", version: str = "1.0.0", text: str = "hi"
) -> Path:
    """A host spell with one step whose output is ``text`` (so the digest follows ``text``)."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "spell.yaml").write_text(
        f"id: {spell_id}\nversion: {version}\nname: Hello\ninputs_schema: ./schema.json\n"
        "runtime:\n  execution: host\nsteps:\n  - uses: shell\n    name: hello\n    run: steps/hello.sh\n",
        encoding="utf-8",
    )
    (dest / "schema.json").write_text('{"type": "object"}\n', encoding="utf-8")
    (dest / "steps").mkdir(exist_ok=True)
    script = dest / "steps" / "hello.sh"
    script.write_text(f"#!/bin/sh\necho {text}\n", encoding="utf-8")
    script.chmod(0o755)
    return dest


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` with a hash of its bytes (folders map to "dir")."""
    if not root.exists():
        return {}
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def git(*args: str, cwd: Path) -> str:
    """Run git quietly with a fixed identity; return stdout."""
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def make_git_repo(repo: Path, *, version: str = "1.0.0", text: str = "hi", tag: str = "v1") -> str:
    """A git repository whose root is a spell, tagged ``tag``; returns the commit SHA."""
    write_spell(repo, version=version, text=text)
    git("init", "--quiet", "--initial-branch=main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "--quiet", "-m", "spell", cwd=repo)
    git("tag", tag, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)
