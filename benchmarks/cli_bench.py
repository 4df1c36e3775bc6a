"""CLI start-up and verification speed, each figure next to its baseline from the same run.

    .venv/bin/python benchmarks/cli_bench.py [--runs N]

Rows:
- ``spell --help`` cold start against ``python -c pass`` (target: at most 150 ms more);
- ``spell verify --path`` of a generated, signed 500-file bundle against ``spell --help`` (so the
  difference is the verification itself), and the in-process ``check_bundle_signature`` against
  plain SHA-256 over the same files.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from _timing import median_ms, user_env
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.bundle.loaders import load_manifest
from spell.signing.keys import public_key_to_b64url
from spell.signing.signature import sign_bundle
from spell.signing.trust import TrustStore
from spell.signing.verifier import check_bundle_signature

BIN = Path(sys.executable).parent
START_TARGET_MS = 150.0


def _proc(*argv: str, env: dict[str, str]) -> Callable[[], object]:
    def run() -> object:
        return subprocess.run(argv, env=env, check=True, capture_output=True)

    return run


def _make_bundle(root: Path, files: int) -> Path:
    bundle = root / "big"
    (bundle / "steps").mkdir(parents=True)
    (bundle / "spell.yaml").write_text(
        "id: bench/big\nversion: 1.0.0\nname: Big\nruntime:\n  execution: host\n"
        "steps:\n  - uses: shell\n    name: run\n    run: steps/run.sh\n",
        encoding="utf-8",
    )
    (bundle / "schema.json").write_text('{"type": "object"}\n', encoding="utf-8")
    (bundle / "steps" / "run.sh").write_text("#!/bin/sh\n", encoding="utf-8")
    for index in range(files - 3):
        sub = bundle / "steps" / f"d{index % 10}"
        sub.mkdir(exist_ok=True)
        (sub / f"File_{index}.txt").write_bytes(os.urandom(2048))
    return bundle


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = user_env(SPELL_HOME=str(root / "home"))
        bundle = _make_bundle(root, 500)
        key = Ed25519PrivateKey.generate()
        sign_bundle(bundle, key)
        trust = TrustStore(root / "home" / "trust" / "publishers")
        trust.add_key("bench", public_key_to_b64url(key.public_key()))
        manifest = load_manifest(bundle)
        paths = sorted(p for p in bundle.rglob("*") if p.is_file() and p.name != "spell.sig.json")

        def raw_hash() -> object:
            digest = hashlib.sha256()
            for path in paths:
                digest.update(path.read_bytes())
            return digest.digest()

        python_pass = median_ms(_proc(sys.executable, "-c", "pass", env=env), runs)
        spell_help = median_ms(_proc(str(BIN / "spell"), "--help", env=env), runs)
        verify_cli = median_ms(_proc(str(BIN / "spell"), "verify", "--path", str(bundle), env=env), runs)
        verify_lib = median_ms(lambda: check_bundle_signature(bundle, manifest, trust), runs)
        hash_only = median_ms(raw_hash, runs)

    rows = [
        ("spell --help (cold start)", spell_help, "python -c pass", python_pass),
        ("spell verify --path, 500 files", verify_cli, "spell --help", spell_help),
        ("check_bundle_signature, 500 files", verify_lib, "sha256 of the same files", hash_only),
    ]
    print(f"{'measure':<36} {'ms':>8}   {'baseline':<26} {'ms':>8} {'extra ms':>9}")
    for name, value, base_name, base in rows:
        print(f"{name:<36} {value:>8.1f}   {base_name:<26} {base:>8.1f} {value - base:>9.1f}")
    verdict = "met" if spell_help - python_pass <= START_TARGET_MS else "MISSED"
    print(
        f"\nstart-up target (<= {START_TARGET_MS:.0f} ms over python -c pass): {verdict}; "
        f"median of {runs} runs"
    )


if __name__ == "__main__":
    main()
