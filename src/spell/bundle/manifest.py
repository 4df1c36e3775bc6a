"""The one internal manifest model; ``spell.yaml`` and ``manifest.toml`` both load into it.

Field names follow spell-runtime v1 (``spell.yaml``). ``manifest.toml`` sections map onto the same
fields (see ``spell.bundle.loaders``). Every model is frozen and refuses unknown keys, so a typo is
an error that names its path instead of a silently ignored setting.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ID_PATTERN",
    "Billing",
    "Capabilities",
    "Check",
    "Effect",
    "Execution",
    "IoSpec",
    "Permission",
    "Pricing",
    "Retry",
    "RuntimeSpec",
    "SpellManifest",
    "Step",
    "SupplyChain",
    "WasmSpec",
    "When",
]

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)+$")
VERSION_PATTERN = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
STEP_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
Execution = Literal["host", "docker", "wasm", "builtin", "api"]
Risk = Literal["low", "medium", "high", "critical"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Permission(_Model):
    """A connector the spell uses, with the scopes it needs (token from ``CONNECTOR_<NAME>_TOKEN``)."""

    connector: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    scopes: tuple[str, ...] = ()

    @property
    def token_env(self) -> str:
        """The environment variable that must carry this connector's token."""
        return f"CONNECTOR_{self.connector.upper().replace('-', '_')}_TOKEN"


class Effect(_Model):
    """A declared side effect: what kind, on what, and whether it changes it."""

    type: str = Field(min_length=1)
    target: str = Field(min_length=1)
    mutates: bool


class Billing(_Model):
    """spell-runtime's billing block: whether casting costs money, and the most it may cost."""

    enabled: bool = False
    mode: Literal["none", "upfront", "on_success"] = "none"
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    max_amount: float = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _mode_matches_enabled(self) -> Billing:
        if self.enabled and self.mode == "none":
            raise ValueError("billing.enabled is true but billing.mode is 'none'")
        return self


class When(_Model):
    """Run a step only when a value at an input or output path equals (or not) a given value."""

    input_path: str | None = None
    output_path: str | None = None
    equals: Any = None
    not_equals: Any = None

    @model_validator(mode="after")
    def _exactly_one_each(self) -> When:
        if (self.input_path is None) == (self.output_path is None):
            raise ValueError("when needs exactly one of input_path or output_path")
        has_eq = "equals" in self.model_fields_set
        has_ne = "not_equals" in self.model_fields_set
        if has_eq == has_ne:
            raise ValueError("when needs exactly one of equals or not_equals")
        return self


class Retry(_Model):
    """Retry a failing step up to ``max_attempts`` times in all, waiting ``backoff_ms`` between."""

    max_attempts: int = Field(default=1, ge=1, le=20)
    backoff_ms: int = Field(default=0, ge=0, le=600_000)


class Step(_Model):
    """One step of a host/docker spell."""

    uses: Literal["shell", "http"]
    name: str = Field(pattern=STEP_NAME_PATTERN.pattern, max_length=64)
    run: str = Field(min_length=1)
    depends_on: tuple[str, ...] = ()
    when: When | None = None
    retry: Retry | None = None
    rollback: str | None = None
    timeout_ms: int | None = Field(default=None, ge=1)

    @field_validator("run", "rollback")
    @classmethod
    def _relative_path(cls, value: str | None) -> str | None:
        if value is not None and (value.startswith("/") or ".." in value.split("/")):
            raise ValueError("must be a relative path inside the bundle")
        return value


class Check(_Model):
    """A post-condition checked after the steps ran."""

    type: Literal["exit_code", "file_exists", "http_status", "jsonpath_equals"]
    params: dict[str, Any] = Field(default_factory=dict)


class Capabilities(_Model):
    """What a sandboxed spell may touch; everything absent is denied."""

    fs_read: tuple[str, ...] = ()
    fs_write: tuple[str, ...] = ()
    net_allow: tuple[str, ...] = ()
    env_vars: tuple[str, ...] = ()

    @field_validator("net_allow")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            if not re.fullmatch(r"[A-Za-z0-9.-]+", host) or host.startswith(".") or "." not in host:
                raise ValueError(f"net_allow entry {host!r} is not a host name (like api.example.com)")
        return tuple(h.lower() for h in value)


class WasmSpec(_Model):
    """Where the module is and the limits the maker asks for (capped by the operator's maxima)."""

    module: str = Field(default="spell.wasm", min_length=1)
    target: str = "wasm32-wasi"
    timeout_ms: int | None = Field(default=None, ge=1)
    max_memory_mb: int | None = Field(default=None, ge=1)
    max_output_mb: float | None = Field(default=None, gt=0)
    fuel: int | None = Field(default=None, ge=1)


class RuntimeSpec(_Model):
    """How the spell runs."""

    execution: Execution
    platforms: tuple[str, ...] = ()
    docker_image: str | None = None
    max_parallel_steps: int = Field(default=1, ge=1, le=64)
    wasm: WasmSpec | None = None
    policy: Capabilities = Capabilities()
    builtin: str | None = None
    api_url: str | None = None

    @model_validator(mode="after")
    def _execution_needs(self) -> RuntimeSpec:
        if self.execution == "docker" and not self.docker_image:
            raise ValueError("runtime.docker_image is required when execution is 'docker'")
        if self.execution == "builtin" and not self.builtin:
            raise ValueError("runtime.builtin (the function name) is required when execution is 'builtin'")
        if self.execution == "api" and not (self.api_url or "").startswith("https://"):
            raise ValueError("runtime.api_url must be an https:// URL when execution is 'api'")
        return self


class IoSpec(_Model):
    """Input and output formats."""

    input_format: Literal["json"] = "json"
    output_format: Literal["json", "text"] = "json"


class Pricing(_Model):
    """What a cast costs, in integer micro-units of ``currency``."""

    model: Literal["free", "flat", "metered", "per_event", "one_time"] = "free"
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    amount_micros: int = Field(default=0, ge=0)
    per_compute_ms_micros: int = Field(default=0, ge=0)
    per_output_mb_micros: int = Field(default=0, ge=0)
    per_network_request_micros: int = Field(default=0, ge=0)
    events: dict[str, int] = Field(default_factory=dict)
    max_events: int = Field(default=0, ge=0)
    charge_on_failure: bool = False


class SupplyChain(_Model):
    """Where the SBOM and provenance files are inside the bundle."""

    sbom: str | None = None
    sigstore_bundle: str | None = None
    licenses: tuple[str, ...] = ()


class SpellManifest(_Model):
    """A spell's manifest, whichever file it came from."""

    id: str = Field(max_length=200)
    version: str
    name: str = Field(min_length=1, max_length=200)
    summary: str = Field(default="", max_length=2000)
    inputs_schema: str = "./schema.json"
    risk: Risk = "low"
    permissions: tuple[Permission, ...] = ()
    effects: tuple[Effect, ...] = ()
    billing: Billing = Billing()
    runtime: RuntimeSpec
    steps: tuple[Step, ...] = ()
    checks: tuple[Check, ...] = ()
    io: IoSpec = IoSpec()
    pricing: Pricing = Pricing()
    supply_chain: SupplyChain = SupplyChain()
    metadata: dict[str, Any] = Field(default_factory=dict)
    source_format: Literal["yaml", "toml"] = "yaml"

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ID_PATTERN.fullmatch(value):
            raise ValueError("must be 'publisher/name' in lowercase letters, digits, '.', '_' or '-'")
        return value

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        # Before type coercion: YAML reads `version: 1.0` as a float, and "a valid string" would not
        # tell the maker what is wanted.
        if not isinstance(value, str) or not VERSION_PATTERN.fullmatch(value):
            raise ValueError("must be a version like 1.2.3 (x.y.z)")
        return value

    @field_validator("inputs_schema")
    @classmethod
    def _schema_path(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError("must be a relative path inside the bundle")
        return value

    @model_validator(mode="after")
    def _runtime_shape(self) -> SpellManifest:
        execution = self.runtime.execution
        if execution in ("host", "docker") and not self.steps:
            raise ValueError(f"steps must not be empty when runtime.execution is {execution!r}")
        if execution == "wasm" and self.runtime.wasm is None:
            raise ValueError("runtime.wasm.module is required when runtime.execution is 'wasm'")
        _check_dag(self.steps)
        return self

    @property
    def publisher(self) -> str:
        """The part of the id before the first ``/``."""
        return self.id.split("/", 1)[0]

    @property
    def schema_relpath(self) -> str:
        """``inputs_schema`` without a leading ``./``."""
        return self.inputs_schema.removeprefix("./")


def _check_dag(steps: tuple[Step, ...]) -> None:
    """Refuse duplicate names, unknown or self dependencies, duplicate edges and cycles."""
    graph = _dependency_graph(steps)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            cycle = [*trail[trail.index(node) :], node]
            raise ValueError("steps form a cycle: " + " -> ".join(cycle))
        state[node] = 1
        for dep in graph[node]:
            visit(dep, [*trail, node])
        state[node] = 2

    for name in graph:
        visit(name, [])


def _dependency_graph(steps: tuple[Step, ...]) -> dict[str, tuple[str, ...]]:
    names: set[str] = set()
    for step in steps:
        if step.name in names:
            raise ValueError(f"step name {step.name!r} is used twice")
        names.add(step.name)
    graph: dict[str, tuple[str, ...]] = {}
    for step in steps:
        if len(set(step.depends_on)) != len(step.depends_on):
            raise ValueError(f"step {step.name!r} lists a dependency twice")
        for dep in step.depends_on:
            if dep == step.name:
                raise ValueError(f"step {step.name!r} depends on itself")
            if dep not in names:
                raise ValueError(f"step {step.name!r} depends on unknown step {dep!r}")
        graph[step.name] = step.depends_on
    return graph
