"""Install speed, each figure next to its baseline from the same run.

    .venv/bin/python benchmarks/install_bench.py [--runs N]

Rows:
- ``spell install`` of a small signed bundle into an empty ``SPELL_HOME`` (a new one per run)
  against ``python -c pass`` and against ``spell --help`` (so the difference is the install itself);
- ``spell install`` of the same bundle again (the identical-digest no-op) against ``spell --help``;
- the in-process ``install()`` (fetch, manifest, digest, signature, atomic add) against a plain
  ``shutil.copytree`` of the same folder.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import median_ms, user_env
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spell.bundle.install import install
from spell.bundle.manifest import SpellManifest
from spell.bundle.sources import FetchContext
from spell.bundle.store import LocalStore
from spell.signing.keys import public_key_to_b64url
from spell.signing.signature import sign_bundle
from spell.signing.trust import TrustStore
from spell.signing.verifier import check_bundle_signature

BIN = Path(sys.executable).parent


def _make_bundle(root: Path) -> Path:
    bundle = root / "hello"
    (bundle / "steps").mkdir(parents=True)
    (bundle / "spell.yaml").write_text(
        "id: bench/hello\nversion: 1.0.0\nname: Hello\nruntime:\n  execution: host\n"
        "steps:\n  - uses: shell\n    name: hello\n    run: steps/hello.sh\n",
        encoding="utf-8",
    )
    (bundle / "schema.json").write_text('{"type": "object"}\n', encoding="utf-8")
    (bundle / "steps" / "hello.sh").write_text("#!/bin/sh\necho hello\n", encoding="utf-8")
    return bundle


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bundle = _make_bundle(root)
        key = Ed25519PrivateKey.generate()
        sign_bundle(bundle, key)
        trust_root = root / "trust"
        TrustStore(trust_root).add_key("bench", public_key_to_b64url(key.public_key()))
        counter = itertools.count()

        def fresh_home() -> dict[str, str]:
            home = root / f"home-{next(counter)}"
            (home / "trust").mkdir(parents=True)
            shutil.copytree(trust_root, home / "trust" / "publishers")
            return user_env(SPELL_HOME=str(home))

        def cli_install_fresh() -> object:
            env = fresh_home()
            return subprocess.run(
                [str(BIN / "spell"), "install", str(bundle)], env=env, check=True, capture_output=True
            )

        same_env = fresh_home()
        subprocess.run(
            [str(BIN / "spell"), "install", str(bundle)], env=same_env, check=True, capture_output=True
        )

        def cli_install_again() -> object:
            argv = [str(BIN / "spell"), "install", str(bundle)]
            return subprocess.run(argv, env=same_env, check=True, capture_output=True)

        def cli_help() -> object:
            return subprocess.run(
                [str(BIN / "spell"), "--help"], env=same_env, check=True, capture_output=True
            )

        def python_pass() -> object:
            return subprocess.run(
                [sys.executable, "-c", "pass"], env=user_env(), check=True, capture_output=True
            )

        trust = TrustStore(trust_root)

        def status(path: Path, manifest: SpellManifest) -> str:
            return check_bundle_signature(path, manifest, trust).status

        def in_process() -> object:
            store = LocalStore(root / f"store-{next(counter)}")
            return install(str(bundle), store, FetchContext(), signature_check=status)

        def copytree() -> object:
            return shutil.copytree(bundle, root / f"copy-{next(counter)}")

        install_ms = median_ms(cli_install_fresh, runs)
        again_ms = median_ms(cli_install_again, runs)
        help_ms = median_ms(cli_help, runs)
        pass_ms = median_ms(python_pass, runs)
        lib_ms = median_ms(in_process, runs)
        copy_ms = median_ms(copytree, runs)

    rows = [
        ("`spell install` small signed bundle, empty home", install_ms, "`python -c pass`", pass_ms),
        ("`spell install` small signed bundle, empty home", install_ms, "`spell --help`", help_ms),
        ("`spell install` same bundle again (no-op)", again_ms, "`spell --help`", help_ms),
        ("`install()` in process", lib_ms, "`shutil.copytree` of the folder", copy_ms),
    ]
    print(f"install_bench: median of {runs} runs")
    print("| measure | ms | baseline | ms | extra ms |")
    print("| --- | ---: | --- | ---: | ---: |")
    for name, value, base_name, base in rows:
        print(f"| {name} | {value:.1f} | {base_name} | {base:.1f} | {value - base:.1f} |")


if __name__ == "__main__":
    main()
