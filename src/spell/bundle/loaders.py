"""Load ``spell.yaml`` (spell-runtime v1) or ``manifest.toml`` (Spell Platform) into ``SpellManifest``.

YAML is parsed with the safe loader only, documents over ``MAX_MANIFEST_BYTES`` are refused before
parsing, and a document whose aliases expand past ``MAX_EXPANDED_NODES`` (a "billion laughs") is
refused before any value is built.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spell.bundle.manifest import ManifestValidationError, SpellManifest
from spell.errors import InvalidManifest

if TYPE_CHECKING:
    import yaml

    from spell.bundle.cache import PrivateCache

__all__ = [
    "MANIFEST_NAMES",
    "MAX_EXPANDED_NODES",
    "MAX_MANIFEST_BYTES",
    "find_manifest",
    "load_manifest",
    "parse_toml_manifest",
    "parse_yaml_manifest",
]

MANIFEST_NAMES = ("spell.yaml", "manifest.toml")
MAX_MANIFEST_BYTES = 256 * 1024
MAX_EXPANDED_NODES = 20_000


def find_manifest(bundle_dir: Path) -> Path:
    """Return the manifest file of a bundle folder; ``spell.yaml`` wins when both exist."""
    for name in MANIFEST_NAMES:
        candidate = bundle_dir / name
        if candidate.is_file():
            return candidate
    raise InvalidManifest(
        f"{bundle_dir}: no spell.yaml or manifest.toml found",
        details={"path": str(bundle_dir)},
        hint="run `spell init NAME` to scaffold a spell, or point at the bundle folder",
    )


def load_manifest(bundle_dir: Path, *, cache: PrivateCache | None = None) -> SpellManifest:
    """Find, read and validate the manifest of the bundle at ``bundle_dir``.

    ``cache``: where the YAML parse of a ``spell.yaml`` is kept, keyed by the file's exact bytes
    (the model is still validated from it on every load).
    """
    path = find_manifest(bundle_dir)
    data = _read_capped(path)
    if path.name == "spell.yaml":
        return parse_yaml_manifest(data, source=path.name, cache=cache)
    return parse_toml_manifest(data, source=path.name)


def parse_yaml_manifest(
    data: bytes, *, source: str = "spell.yaml", cache: PrivateCache | None = None
) -> SpellManifest:
    """Validate a ``spell.yaml`` document."""
    raw = _safe_yaml(data, source) if cache is None else _cached_yaml(data, source, cache)
    if not isinstance(raw, dict):
        raise InvalidManifest(f"{source}: the document must be a mapping", details={"file": source})
    return _validate({**raw, "source_format": "yaml"}, source)


def parse_toml_manifest(data: bytes, *, source: str = "manifest.toml") -> SpellManifest:
    """Validate a ``manifest.toml`` document, mapping its sections onto the internal model."""
    import tomllib  # a spell.yaml bundle does not need it

    if len(data) > MAX_MANIFEST_BYTES:
        raise _too_big(source, len(data))
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidManifest(f"{source}: not valid TOML: {exc}", details={"file": source}) from exc
    return _validate(_toml_to_model(raw, source), source)


def _read_capped(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:
        raise _too_big(path.name, size)
    return path.read_bytes()


def _too_big(source: str, size: int) -> InvalidManifest:
    return InvalidManifest(
        f"{source}: manifest is {size} bytes; the limit is {MAX_MANIFEST_BYTES}",
        details={"file": source, "size": size, "limit": MAX_MANIFEST_BYTES},
    )


# Part of every entry's key: a change to what the parse returns must not reuse old entries.
_YAML_CACHE_VERSION = b"spell.yaml parse v1\0"


def _cached_yaml(data: bytes, source: str, cache: PrivateCache) -> Any:
    """``_safe_yaml(data)`` from the cache when these exact bytes were parsed before.

    Importing PyYAML and parsing cost more than all the rest of resolving a spell, and the parse is a
    pure function of the bytes. Only a document of plain JSON values is kept (JSON gives it back
    unchanged); one with dates, binary or other YAML-only values is parsed every time.
    """
    key = hashlib.sha256(_YAML_CACHE_VERSION + data).hexdigest()
    entry = cache.get(key)
    if entry is not None:
        try:
            return json.loads(entry)["raw"]
        except (ValueError, KeyError, TypeError, RecursionError):
            pass  # a damaged entry is a miss; the one written below replaces it
    raw = _safe_yaml(data, source)
    try:
        if _plain_json(raw):
            cache.put(key, json.dumps({"raw": raw}, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (RecursionError, ValueError):
        pass
    return raw


def _plain_json(value: Any) -> bool:
    """True when JSON round-trips ``value`` to an equal value of the same types."""
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and _plain_json(v) for k, v in value.items())
    if kind is list:
        return all(_plain_json(item) for item in value)
    if kind is float:
        return value == value and value not in (float("inf"), float("-inf"))
    return kind in (str, int, bool) or value is None


def _safe_yaml(data: bytes, source: str) -> Any:
    if len(data) > MAX_MANIFEST_BYTES:
        raise _too_big(source, len(data))
    import yaml  # PyYAML is a large import; a cached parse (``_cached_yaml``) does without it

    try:
        loader = yaml.SafeLoader(data.decode("utf-8"))
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_expansion(node, source)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidManifest(f"{source}: not valid YAML: {exc}", details={"file": source}) from exc
    except RecursionError:  # the composer recurses once per nesting level
        raise InvalidManifest(f"{source}: YAML is nested too deeply", details={"file": source}) from None


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Count nodes as if every alias were expanded; refuse past the cap without expanding."""
    import yaml

    memo: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        memo[key] = 1  # a recursive alias counts once instead of looping
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        memo[key] = total
        if total > MAX_EXPANDED_NODES:
            raise InvalidManifest(
                f"{source}: YAML aliases expand past {MAX_EXPANDED_NODES} nodes (alias bomb?)",
                details={"file": source, "limit": MAX_EXPANDED_NODES},
            )
        return total

    size(root)


def _validate(raw: dict[str, Any], source: str) -> SpellManifest:
    try:
        return SpellManifest.from_dict(raw)
    except ManifestValidationError as exc:
        raise InvalidManifest(
            f"{source}: {exc.path}: {exc.message}",
            details={"file": source, "errors": [{"path": exc.path, "message": exc.message}]},
        ) from None


#: ``[spell]`` keys kept in ``metadata``.
SPELL_METADATA_KEYS = ("author", "license", "homepage", "icon")
REVERSE_DNS_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9_-]*){2,}$")


def _toml_to_model(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """Map the Spell Platform TOML sections onto spell-runtime field names."""
    known = {"spell", "runtime", "io", "pricing", "supply_chain", "components", "metadata", "steps", "checks"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidManifest(
            f"{source}: unknown section [{unknown[0]}]",
            details={
                "file": source,
                "errors": [{"path": k, "message": "unknown section"} for k in unknown],
            },
        )
    spell = dict(raw.get("spell", {}))
    runtime = dict(raw.get("runtime", {}))
    io = dict(raw.get("io", {}))
    metadata = _toml_metadata(raw, spell, runtime, source)
    model: dict[str, Any] = {
        "id": _toml_id(spell.pop("key", spell.pop("id", None))),
        "version": spell.pop("version", None),
        "name": spell.pop("name", None),
        "summary": spell.pop("summary", spell.pop("description", "")),
        "source_format": "toml",
    }
    for field in ("risk", "permissions", "effects"):
        if field in spell:
            model[field] = spell.pop(field)
    _refuse_unknown(spell, "spell", source)
    if "input_schema" in io:
        model["inputs_schema"] = io.pop("input_schema")
    model["io"] = io
    model["runtime"] = _toml_runtime(runtime, source)
    for key in ("components", "steps", "checks"):
        if key in raw:
            model[key] = raw[key]
    if "supply_chain" in raw:
        model["supply_chain"] = _toml_supply_chain(raw["supply_chain"], metadata, source)
    if "pricing" in raw:
        model["pricing"] = _toml_pricing(raw["pricing"], source)
    if metadata:
        model["metadata"] = metadata
    return {k: v for k, v in model.items() if v is not None}


def _toml_id(key: Any) -> Any:
    """A reverse-DNS key (``dev.acme.wordcount``) names publisher ``dev.acme`` and spell ``wordcount``;
    a ``publisher/name`` key is the id as it is."""
    if isinstance(key, str) and "/" not in key and REVERSE_DNS_KEY.fullmatch(key):
        publisher, _, name = key.rpartition(".")
        return f"{publisher}/{name}"
    return key


def _toml_metadata(
    raw: dict[str, Any], spell: dict[str, Any], runtime: dict[str, Any], source: str
) -> dict[str, Any]:
    """``[metadata]`` plus the descriptive keys of ``[spell]`` and ``[runtime] language``, which tell
    people about the spell and change nothing about how it runs."""
    given = raw.get("metadata", {})
    metadata = dict(given) if isinstance(given, dict) else {}
    moved = [(key, spell) for key in SPELL_METADATA_KEYS] + [("language", runtime)]
    for key, section in moved:
        if key not in section:
            continue
        if key in metadata and metadata[key] != section[key]:
            raise InvalidManifest(
                f"{source}: {key} is given twice, with different values",
                details={"file": source, "errors": [{"path": f"metadata.{key}", "message": "given twice"}]},
            )
        metadata[key] = section.pop(key)
    return metadata


def _toml_pricing(pricing: Any, source: str) -> Any:
    """``price_usd`` (a decimal number of dollars) as the integer ``amount_micros`` it means."""
    if not isinstance(pricing, dict) or "price_usd" not in pricing:
        return pricing
    out = dict(pricing)
    price = out.pop("price_usd")

    def refuse(message: str) -> InvalidManifest:
        return InvalidManifest(
            f"{source}: pricing.price_usd: {message}",
            details={"file": source, "errors": [{"path": "pricing.price_usd", "message": message}]},
        )

    if isinstance(price, bool) or not isinstance(price, int | float):
        raise refuse("must be a number of US dollars, e.g. 0.05")
    micros = Decimal(str(price)) * 1_000_000
    if micros < 0 or micros != micros.to_integral_value():
        raise refuse("must be zero or more, in whole micro-dollars (at most 6 decimals)")
    if "amount_micros" in out:
        raise refuse("give price_usd or amount_micros, not both")
    if out.get("currency", "USD") != "USD":
        raise refuse("is in US dollars: currency must be USD or left out")
    out["amount_micros"] = int(micros)
    out["currency"] = "USD"
    if micros > 0:
        out.setdefault("model", "flat")
    return out


#: ``[supply_chain] sbom_format`` -> the SBOM file a bundle carries at its root.
SBOM_FORMAT_FILES = {"spdx-json": "sbom.spdx.json", "cyclonedx-json": "sbom.cdx.json"}


def _toml_supply_chain(section: Any, metadata: dict[str, Any], source: str) -> Any:
    """The Spell Platform declaration (``sbom_included`` with ``sbom_format``) as the SBOM path it
    names; ``dependency_scan_passed`` is the maker's own claim, kept in ``metadata`` because the
    platform scans every published version itself."""
    if not isinstance(section, dict):
        return section
    out = dict(section)

    def refuse(key: str, message: str) -> InvalidManifest:
        return InvalidManifest(
            f"{source}: supply_chain.{key}: {message}",
            details={"file": source, "errors": [{"path": f"supply_chain.{key}", "message": message}]},
        )

    included = out.pop("sbom_included", None)
    form = out.pop("sbom_format", None)
    if included is not None and not isinstance(included, bool):
        raise refuse("sbom_included", "must be true or false")
    if form is not None and form not in SBOM_FORMAT_FILES:
        raise refuse("sbom_format", f"must be one of {sorted(SBOM_FORMAT_FILES)}")
    if form is not None and included is False:
        raise refuse("sbom_format", "names the format of an SBOM that sbom_included says is not there")
    if included:
        named = SBOM_FORMAT_FILES[form or "spdx-json"]
        if out.get("sbom", named) != named:
            raise refuse("sbom", f"is {out['sbom']!r} but sbom_format says {named!r}")
        out["sbom"] = named
    if "dependency_scan_passed" in out:
        claim = out.pop("dependency_scan_passed")
        if not isinstance(claim, bool):
            raise refuse("dependency_scan_passed", "must be true or false")
        if metadata.get("dependency_scan_passed", claim) != claim:
            raise refuse("dependency_scan_passed", "is given in [metadata] too, with another value")
        metadata["dependency_scan_passed"] = claim
    return out


def _refuse_unknown(leftover: dict[str, Any], section: str, source: str) -> None:
    """Name keys of a TOML section that map onto nothing, as ``section.key`` paths."""
    if not leftover:
        return
    problems = [{"path": f"{section}.{key}", "message": f"unknown key in [{section}]"} for key in leftover]
    raise InvalidManifest(
        f"{source}: {problems[0]['path']}: {problems[0]['message']}",
        details={"file": source, "errors": problems},
    )


def _toml_runtime(runtime: dict[str, Any], source: str) -> dict[str, Any]:
    policy = runtime.pop("policy", {})
    execution = runtime.pop("execution", "wasm")
    out: dict[str, Any] = {"execution": execution, "policy": policy}
    for key in ("platforms", "docker_image", "max_parallel_steps", "builtin", "api_url"):
        if key in runtime:
            out[key] = runtime.pop(key)
    if execution == "wasm":
        wasm = {"module": runtime.pop("entry", "spell.wasm")}
        for key in ("target", "timeout_ms", "max_memory_mb", "max_output_mb", "fuel"):
            if key in runtime:
                wasm[key] = runtime.pop(key)
        out["wasm"] = wasm
    _refuse_unknown(runtime, "runtime", source)
    return out
