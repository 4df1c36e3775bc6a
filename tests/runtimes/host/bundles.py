"""Build small host-step bundles on disk for tests."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import yaml

from spell.bundle.loaders import load_manifest
from spell.runtimes.base import CastRequest, CastResult
from spell.runtimes.host import EngineSettings, HostRuntime

SCHEMA = '{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}'


def make_bundle(
    root: Path,
    steps: list[dict[str, Any]],
    files: dict[str, str],
    **extra: Any,
) -> Path:
    """Write spell.yaml, schema.json and executable step files under ``root``."""
    manifest: dict[str, Any] = {
        "id": "tests/spell",
        "version": "1.0.0",
        "name": "Test spell",
        "runtime": {"execution": "host", "platforms": ["linux/amd64"], **extra.pop("runtime", {})},
        "steps": steps,
        **extra,
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / "spell.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
    (root / "schema.json").write_text(SCHEMA, encoding="utf-8")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755)
    return root


def cast(
    bundle: Path,
    input_value: Any = None,
    *,
    env: dict[str, str] | None = None,
    settings: EngineSettings | None = None,
    cancel: threading.Event | None = None,
) -> CastResult:
    """Run the bundle with the host runtime."""
    request = CastRequest(
        bundle_dir=bundle,
        manifest=load_manifest(bundle),
        input=input_value or {},
        env=env or {},
        cancel=cancel,
    )
    return HostRuntime(settings).run(request)
