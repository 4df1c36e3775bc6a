"""The check every hostile input must pass (one error on stderr, a non-zero exit code, a stable
``--json`` error code, and ``$SPELL_HOME`` byte for byte as it was) and the hostile inputs shared by
several commands."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.bundle.factories import compat_expected, make_host_bundle
from tests.cli.run_cli import CliResult, run_cli

__all__ = [
    "BILLION_LAUGHS",
    "COVERED",
    "DEEP",
    "EXPECTED",
    "assert_refused",
    "signature_of",
    "snapshot",
    "spell_yaml_bundle",
]

EXPECTED = compat_expected()
COVERED = sorted(EXPECTED["digest_order"])
# Nesting far past any recursive reader's limit.
DEEP = "[" * 100_000 + "]" * 100_000
# Nine aliases of nine aliases, nine levels deep: a billion "lol"s once expanded.
BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{chr(c)}: &{chr(c)} [{','.join([f'*{chr(c - 1)}'] * 9)}]" for c in range(ord("b"), ord("j"))),
        "id: *i",
    ]
)

Snapshot = dict[str, tuple[int, bytes]]


def snapshot(root: Path) -> Snapshot:
    """Every path under ``root`` with its mode and (for files) its bytes."""
    out: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            info = path.lstat()
            data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
            out[str(path.relative_to(root))] = (info.st_mode, data)
    return out


def assert_refused(home: Path, code: str, *args: str) -> CliResult:
    """Run ``spell ARGS`` twice (text, then ``--json``): one error, exit ≠ 0, the code, home untouched."""
    before = snapshot(home)
    text = run_cli(*args)
    assert text.exit_code not in (0, 1), text.stderr  # 1 would be an unclassified failure
    assert text.stdout == ""
    lines = text.stderr.splitlines()
    assert lines, "no error was printed"
    assert lines[0].startswith("error: "), text.stderr
    assert lines[0].endswith(f"[{code}]"), text.stderr
    assert all(line.startswith("hint: ") for line in lines[1:]), text.stderr
    assert "Traceback" not in text.stderr
    as_json = run_cli(*args, "--json")
    assert as_json.exit_code == text.exit_code
    assert as_json.stdout == ""
    assert len(as_json.stderr.strip().splitlines()) == 1
    assert as_json.error()["code"] == code
    assert snapshot(home) == before, "the command changed $SPELL_HOME"
    return as_json


def spell_yaml_bundle(tmp_path: Path, replace: dict[str, str] | None = None, text: str | None = None) -> Path:
    """A host bundle whose ``spell.yaml`` is ``text``, or the valid one with ``replace`` applied."""
    bundle = make_host_bundle(tmp_path / "bundle", spell_id="acme/bad")
    manifest = bundle / "spell.yaml"
    body = manifest.read_text(encoding="utf-8") if text is None else text
    for old, new in (replace or {}).items():
        assert old in body
        body = body.replace(old, new)
    manifest.write_text(body, encoding="utf-8")
    return bundle


def signature_of(bundle: Path) -> dict[str, object]:
    """The bundle's signature file, read."""
    data: dict[str, object] = json.loads((bundle / "spell.sig.json").read_text(encoding="utf-8"))
    return data
