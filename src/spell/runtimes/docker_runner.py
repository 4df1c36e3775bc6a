"""``spell-runner <spell.yaml> <input.json>``: run a bundle's steps inside a container.

Prints exactly one JSON line (``success``, ``outcome``, ``error``, ``steps``, ``outputs``,
``checks``, ``rollback``, ``usage``) and exits 0 on success, 1 otherwise. This is the edge of
the container, so it reads ``SPELL_RUNTIME_*`` itself.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from spell.bundle.loaders import load_manifest
from spell.config.runtime import RuntimeSettings
from spell.errors import InvalidInput, SpellError
from spell.runtimes.base import Outcome
from spell.runtimes.host.engine import EngineResult, EngineSettings, StepEngine
from spell.runtimes.host.workspace import workspace

__all__ = ["main", "run_bundle"]


def run_bundle(manifest_path: Path, input_path: Path, settings: RuntimeSettings) -> EngineResult:
    """Copy the bundle to a private workspace and run its steps."""
    bundle_dir = manifest_path.parent
    manifest = load_manifest(bundle_dir)
    try:
        input_value: Any = json.loads(input_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read the input file {input_path}: {exc}") from None
    if not isinstance(input_value, dict):
        raise InvalidInput("the input must be a JSON object")
    tokens = {p.token_env: os.environ[p.token_env] for p in manifest.permissions if p.token_env in os.environ}
    engine_settings = EngineSettings.from_runtime_settings(settings)
    with workspace(bundle_dir, input_value) as space:
        engine = StepEngine(
            manifest,
            space.bundle,
            input_path=space.input_path,
            input_value=input_value,
            secrets_env=tokens,
            settings=engine_settings,
        )
        return engine.run()


def main(argv: list[str] | None = None) -> None:
    """Console entry point; one JSON line on stdout whatever happens."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write("usage: spell-runner <spell.yaml> <input.json>\n")
        sys.exit(2)
    try:
        result = run_bundle(Path(args[0]), Path(args[1]), RuntimeSettings.from_env()).to_dict()
    except SpellError as exc:
        result = EngineResult(Outcome.FAILED, exc.message).to_dict() | {"code": exc.code}
    sys.stdout.write(json.dumps(result, separators=(",", ":"), default=str) + "\n")
    sys.stdout.flush()
    sys.exit(0 if result["success"] else 1)
