"""The one internal manifest model; ``spell.yaml`` and ``manifest.toml`` both load into it.

Field names follow spell-runtime v1 (``spell.yaml``). ``manifest.toml`` sections map onto the same
fields (see ``spell.bundle.loaders``). Every model is a frozen ``msgspec.Struct`` that refuses unknown
keys, so a typo is an error that names its path instead of a silently ignored setting. msgspec rather
than pydantic keeps the import and validation cost of ``spell cast`` to a few milliseconds.
"""

import re
import types
import typing
from typing import Annotated, Any, Literal, TypeVar, Union

import msgspec
from msgspec.structs import force_setattr

from spell.kit.money import MAX_MICROS

__all__ = [
    "ID_PATTERN",
    "STEPS_DIR",
    "Billing",
    "Capabilities",
    "Check",
    "DeclaredComponent",
    "Effect",
    "Execution",
    "IoSpec",
    "ManifestValidationError",
    "Permission",
    "Pricing",
    "Retry",
    "RuntimeSpec",
    "SpellManifest",
    "Step",
    "SupplyChain",
    "WasmSpec",
    "When",
    "WorkflowSpec",
]

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)+$")
# At most 50 characters: what the grimoire stores and routes accept, and numbers int() reads at once.
VERSION_PATTERN = re.compile(r"^(?=.{5,50}$)(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
STEP_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
Execution = Literal["host", "docker", "wasm", "builtin", "api", "workflow"]
Risk = Literal["low", "medium", "high", "critical"]
_VERSION_MESSAGE = "must be a version like 1.2.3 (x.y.z), at most 50 characters long"

_Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
_NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
_NonNegative = Annotated[int, msgspec.Meta(ge=0)]
_Micros = Annotated[int, msgspec.Meta(ge=0, le=MAX_MICROS)]
_Positive = Annotated[int, msgspec.Meta(ge=1)]
_M = TypeVar("_M", bound="_Model")
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_AT = re.compile(r"^(?P<message>.*) - at `\$(?P<path>[^`]*)`$", re.DOTALL)


class ManifestValidationError(ValueError):
    """A manifest that does not fit the model: the dotted ``path`` of the problem and what is wrong."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class _FieldError(ValueError):
    """Raised by a struct's checks to name the field at fault (msgspec only knows the struct)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class _Model(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    @classmethod
    def from_dict(cls: type[_M], raw: Any) -> _M:
        """Validate plain data (as parsed from YAML, TOML or JSON) into this model."""
        try:
            return msgspec.convert(raw, cls)
        except msgspec.ValidationError as exc:
            raise _problem(exc, cls) from None

    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-safe plain data (lists, dicts, strings, numbers); reloads with ``from_dict``."""
        data: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(self))
        return data


def _problem(exc: msgspec.ValidationError, root: type[_Model]) -> ManifestValidationError:
    """Turn msgspec's ``message - at `$.steps[0].name``` into a dotted path and a friendly message."""
    text = str(exc)
    match = _AT.match(text)
    message, where = (match["message"], match["path"]) if match else (text, "")
    parts = [m[1] or m[2] for m in _PATH_PART.finditer(where)]
    cause = exc.__cause__
    if isinstance(cause, _FieldError):
        parts.append(cause.field)
    elif found := re.fullmatch(r"Object contains unknown field `(.+)`", message):
        parts.append(found[1])
        message = "unknown field (not part of the manifest format)"
    elif found := re.fullmatch(r"Object missing required field `(.+)`", message):
        parts.append(found[1])
        message = "field required"
    elif message.startswith("Invalid enum value") and (allowed := _literal_values(root, parts)):
        *head, last = (repr(v) for v in allowed)
        message = (
            f"{message}; expected {', '.join(head)} or {last}" if head else f"{message}; expected {last}"
        )
    return ManifestValidationError(".".join(parts) or "(root)", message)


def _literal_values(root: type[_Model], parts: list[str]) -> tuple[Any, ...]:
    """The allowed values of the ``Literal`` field at ``parts``, for a message that says what was expected."""
    kind: Any = root
    for part in parts:
        kind = typing.get_args(kind)[0] if part.isdigit() else typing.get_type_hints(kind).get(part)
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        if typing.get_origin(kind) in (Union, types.UnionType) and len(options) == 1:
            kind = options[0]
    return typing.get_args(kind) if typing.get_origin(kind) is Literal else ()


def _relative(field: str, value: str | None) -> None:
    if value is not None and (value.startswith("/") or ".." in value.split("/")):
        raise _FieldError(field, "must be a relative path inside the bundle")


STEPS_DIR = "steps"


def _step_file(step: str, field: str, value: str | None) -> None:
    """A step's ``run``/``rollback`` file must be a plain path under ``steps/``.

    The digest covers ``steps/`` (and nothing else a step could name), so a file outside it could be
    swapped after signing and still verify; a ``..`` or ``.`` part could lead back out of it.
    """
    if value is None:
        return
    parts = value.removeprefix("./").split("/")
    if len(parts) < 2 or parts[0] != STEPS_DIR or any(part in ("", ".", "..") for part in parts):
        raise _FieldError(
            field,
            f"step {step!r}: {field} file {value!r} is not under {STEPS_DIR}/; only files under "
            f"{STEPS_DIR}/ are covered by the signature, so move it there (e.g. {STEPS_DIR}/<file>)",
        )


class Permission(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A connector the spell uses, with the scopes it needs (token from ``CONNECTOR_<NAME>_TOKEN``)."""

    connector: Annotated[str, msgspec.Meta(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")]
    scopes: tuple[str, ...] = ()

    @property
    def token_env(self) -> str:
        """The environment variable that must carry this connector's token."""
        return f"CONNECTOR_{self.connector.upper().replace('-', '_')}_TOKEN"


class Effect(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A declared side effect: what kind, on what, and whether it changes it."""

    type: _NonEmpty
    target: _NonEmpty
    mutates: bool


class Billing(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """spell-runtime's billing block: whether casting costs money, and the most it may cost."""

    enabled: bool = False
    mode: Literal["none", "upfront", "on_success"] = "none"
    currency: _Currency = "USD"
    max_amount: Annotated[float, msgspec.Meta(ge=0)] = 0

    def __post_init__(self) -> None:
        if self.enabled and self.mode == "none":
            raise ValueError("billing.enabled is true but billing.mode is 'none'")


class When(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Run a step only when a value at an input or output path equals (or not) a given value.

    ``equals: null`` and an absent ``equals`` differ: an absent comparison is ``msgspec.UNSET``.
    """

    input_path: str | None = None
    output_path: str | None = None
    equals: Any = msgspec.UNSET
    not_equals: Any = msgspec.UNSET

    def __post_init__(self) -> None:
        if (self.input_path is None) == (self.output_path is None):
            raise ValueError("when needs exactly one of input_path or output_path")
        if self.has_equals == (self.not_equals is not msgspec.UNSET):
            raise ValueError("when needs exactly one of equals or not_equals")

    @property
    def has_equals(self) -> bool:
        """True when the condition is ``equals`` (even ``equals: null``), False for ``not_equals``."""
        return self.equals is not msgspec.UNSET


class Retry(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Retry a failing step up to ``max_attempts`` times in all, waiting ``backoff_ms`` between."""

    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=20)] = 1
    backoff_ms: Annotated[int, msgspec.Meta(ge=0, le=600_000)] = 0


class Step(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One step of a host/docker spell."""

    uses: Literal["shell", "http"]
    name: Annotated[str, msgspec.Meta(pattern=STEP_NAME_PATTERN.pattern, max_length=64)]
    run: _NonEmpty
    depends_on: tuple[str, ...] = ()
    when: When | None = None
    retry: Retry | None = None
    rollback: str | None = None
    timeout_ms: _Positive | None = None

    def __post_init__(self) -> None:
        _step_file(self.name, "run", self.run)
        _step_file(self.name, "rollback", self.rollback)


class Check(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A post-condition checked after the steps ran."""

    type: Literal["exit_code", "file_exists", "http_status", "jsonpath_equals"]
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class Capabilities(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What a sandboxed spell may touch; everything absent is denied."""

    fs_read: tuple[str, ...] = ()
    fs_write: tuple[str, ...] = ()
    net_allow: tuple[str, ...] = ()
    env_vars: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for host in self.net_allow:
            if not re.fullmatch(r"[A-Za-z0-9.-]+", host) or host.startswith(".") or "." not in host:
                raise _FieldError(
                    "net_allow", f"net_allow entry {host!r} is not a host name (like api.example.com)"
                )
        # frozen, but normalising in place is how the model hands out lower-case hosts
        force_setattr(self, "net_allow", tuple(h.lower() for h in self.net_allow))


class WasmSpec(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Where the module is and the limits the maker asks for (capped by the operator's maxima)."""

    module: _NonEmpty = "spell.wasm"
    target: str = "wasm32-wasi"
    timeout_ms: _Positive | None = None
    max_memory_mb: _Positive | None = None
    max_output_mb: Annotated[float, msgspec.Meta(gt=0)] | None = None
    fuel: _Positive | None = None


class WorkflowSpec(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A GitHub Actions workflow in the caster's repository (named by the cast input's ``repo``).

    ``inputs_from`` names the key of the cast input whose object becomes the workflow's inputs; the
    platform adds ``spell_run``, which the workflow declares and puts in its ``run-name`` so the run it
    dispatched can be told from any other.
    """

    file: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*\.ya?ml$", max_length=200)]
    ref: Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=r"^[^\s~^:?*\[\\]+$")] = "main"
    inputs_from: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = "inputs"
    # How long the run may take, queueing on GitHub included (GitHub itself stops a job after 6 hours).
    timeout_ms: Annotated[int, msgspec.Meta(ge=1_000, le=6 * 3_600_000)] = 600_000


class RuntimeSpec(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How the spell runs."""

    execution: Execution
    # The os/arch targets a host or docker spell supports (empty: any); spell-runtime v1 names the key.
    targets: tuple[str, ...] = msgspec.field(default=(), name="platforms")
    docker_image: str | None = None
    max_parallel_steps: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    wasm: WasmSpec | None = None
    policy: Capabilities = msgspec.field(default_factory=Capabilities)
    builtin: str | None = None
    api_url: str | None = None
    workflow: WorkflowSpec | None = None

    def __post_init__(self) -> None:
        if self.execution == "docker" and not self.docker_image:
            raise ValueError("runtime.docker_image is required when execution is 'docker'")
        if self.execution == "builtin" and not self.builtin:
            raise ValueError("runtime.builtin (the function name) is required when execution is 'builtin'")
        if self.execution == "api" and not (self.api_url or "").startswith("https://"):
            raise ValueError("runtime.api_url must be an https:// URL when execution is 'api'")
        if self.execution == "workflow" and self.workflow is None:
            raise ValueError("runtime.workflow (file, ref) is required when execution is 'workflow'")


class IoSpec(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Input and output formats."""

    input_format: Literal["json"] = "json"
    output_format: Literal["json", "text"] = "json"


class Pricing(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What a cast costs, in integer micro-units of ``currency``."""

    model: Literal["free", "flat", "metered", "per_event", "one_time"] = "free"
    currency: _Currency = "USD"
    amount_micros: _Micros = 0
    per_compute_ms_micros: _Micros = 0
    per_output_mb_micros: _Micros = 0
    per_network_request_micros: _Micros = 0
    events: dict[str, _Micros] = msgspec.field(default_factory=dict)
    max_events: _NonNegative = 0
    charge_on_failure: bool = False
    # Clone mode: buying the spell also buys its signed archive, to install and run locally.
    clone: bool = False

    def __post_init__(self) -> None:
        if self.clone and self.model != "one_time":
            raise _FieldError("clone", "clone mode needs one_time pricing (pricing.model: one_time)")


class SupplyChain(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Where the SBOM and provenance files are inside the bundle."""

    sbom: str | None = None
    sigstore_bundle: str | None = None
    licenses: tuple[str, ...] = ()


class DeclaredComponent(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A third-party package the spell contains, declared by hand (C and WAT spells have no lock file).

    ``spell sbom generate`` writes these into the SBOM. The package URL is ``purl``, or is built from
    ``type`` (a purl type: ``generic``, ``github``, ``cargo``…), ``namespace``, ``name`` and ``version``.
    """

    name: _NonEmpty
    version: _NonEmpty
    purl: _NonEmpty | None = None
    type: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z][A-Za-z0-9.+-]*$")] | None = None
    namespace: _NonEmpty | None = None
    license: _NonEmpty | None = None  # an SPDX licence expression

    def __post_init__(self) -> None:
        if (self.purl is None) == (self.type is None):
            raise _FieldError(
                "purl",
                f"component {self.name!r} needs either purl (pkg:TYPE/NAME@VERSION) or type (a purl "
                "type such as generic, github or cargo) to build one, not both and not neither",
            )
        if self.purl is not None and self.namespace is not None:
            raise _FieldError("namespace", f"component {self.name!r}: namespace goes with type, not purl")


class SpellManifest(_Model, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A spell's manifest, whichever file it came from."""

    id: Annotated[str, msgspec.Meta(max_length=200)]
    version: str
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    summary: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    inputs_schema: str = "./schema.json"
    risk: Risk = "low"
    permissions: tuple[Permission, ...] = ()
    effects: tuple[Effect, ...] = ()
    billing: Billing = msgspec.field(default_factory=Billing)
    runtime: RuntimeSpec
    steps: tuple[Step, ...] = ()
    checks: tuple[Check, ...] = ()
    io: IoSpec = msgspec.field(default_factory=IoSpec)
    pricing: Pricing = msgspec.field(default_factory=Pricing)
    supply_chain: SupplyChain = msgspec.field(default_factory=SupplyChain)
    # Not part of spell-runtime v1; only ``spell sbom generate`` reads it.
    components: tuple[DeclaredComponent, ...] = ()
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    source_format: Literal["yaml", "toml"] = "yaml"

    @classmethod
    def from_dict(cls, raw: Any) -> "SpellManifest":
        """Validate a parsed manifest document; raises ``ManifestValidationError``."""
        if isinstance(raw, dict) and "version" in raw:
            # Before type checks: YAML reads `version: 1.0` as a float, and "expected str" would not
            # tell the maker what is wanted.
            version = raw["version"]
            if not isinstance(version, str) or not VERSION_PATTERN.fullmatch(version):
                raise ManifestValidationError("version", _VERSION_MESSAGE)
        return super().from_dict(raw)

    def __post_init__(self) -> None:
        if not ID_PATTERN.fullmatch(self.id):
            raise _FieldError("id", "must be 'publisher/name' in lowercase letters, digits, '.', '_' or '-'")
        if not VERSION_PATTERN.fullmatch(self.version):
            raise _FieldError("version", _VERSION_MESSAGE)
        _relative("inputs_schema", self.inputs_schema)
        execution = self.runtime.execution
        if execution in ("host", "docker") and not self.steps:
            raise ValueError(f"steps must not be empty when runtime.execution is {execution!r}")
        if execution == "wasm" and self.runtime.wasm is None:
            raise ValueError("runtime.wasm.module is required when runtime.execution is 'wasm'")
        _check_dag(self.steps)

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
