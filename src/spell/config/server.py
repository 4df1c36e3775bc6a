"""Server settings: ``SPELL_DATABASE_URL`` and ``SPELL_SERVER_*``, read once by ``spell serve``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from spell.config.home import SpellHome
from spell.config.runtime import env_int
from spell.config.wasm import WasmSettings
from spell.errors import InvalidInput

__all__ = ["HOST_SANDBOXES", "ServerSettings"]

#: The host step sandboxes (``spell.runtimes.host.sandbox``); the unsafe one says so in its name.
HOST_SANDBOXES = ("bwrap", "unsafe-none")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _env_bool(env: dict[str, str] | os._Environ[str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise InvalidInput(f"{name} must be true or false, got {raw!r}")


def _env_choice(
    env: dict[str, str] | os._Environ[str], name: str, default: str, choices: tuple[str, ...]
) -> str:
    raw = env.get(name, "").strip() or default
    if raw not in choices:
        raise InvalidInput(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _env_list(env: dict[str, str] | os._Environ[str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


def _env_role_map(env: dict[str, str] | os._Environ[str], name: str) -> dict[str, dict[str, str]]:
    """``{"issuer": {"token role": "platform role"}}``; a list of names maps each to itself."""
    raw = env.get(name, "").strip()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"{name} is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise InvalidInput(f"{name} must be a JSON object of issuer -> role map")
    result: dict[str, dict[str, str]] = {}
    for issuer, roles in parsed.items():
        if isinstance(roles, list) and all(isinstance(role, str) for role in roles):
            result[issuer] = {role: role for role in roles}
        elif isinstance(roles, dict) and all(isinstance(role, str) for role in roles.values()):
            result[issuer] = dict(roles)
        else:
            raise InvalidInput(
                f"{name}: the roles of {issuer!r} must be a list of names or an object of name -> role"
            )
    return result


@dataclass(frozen=True)
class ServerSettings:
    """Everything the platform needs to start; the embedded default needs none of it set."""

    data_dir: Path
    database_url: str
    # Keys API-key hashes and signed artifact URLs; None: a random one kept in data_dir/secret.key.
    secret_key: str | None = None
    workers: int = 2
    # Server processes sharing the port (``spell serve --processes``); each has its own workers and slots.
    processes: int = 1
    # ``Prefer: wait`` casts run on the requesting side, up to this many at once (0: always queue them).
    inline_casts: int = 4
    # On SQLite, create ``Prefer: wait`` casts on the event loop and try pure WASM spells there within a
    # few milliseconds (docs/server.md); off: every inline cast runs on a cast thread.
    quick_casts: bool = True
    # How long key and spell lookups stay cached; changes made by the processes of this data dir are seen
    # at once, those of processes elsewhere sharing the database within this time. 0 turns caches off.
    cache_ms: int = 2000
    max_body_bytes: int = 16 * 1024 * 1024
    max_wait_seconds: int = 60
    allow_unsigned: bool = False
    allow_host_runtime: bool = False
    # Where host steps run on the server: "bwrap" (bubblewrap namespaces, an unprivileged uid/gid, only
    # the cast's workspace mounted) or "unsafe-none" (as the server's own user, with its files in reach).
    host_sandbox: str = "bwrap"
    host_sandbox_bwrap: str = "bwrap"  # the bubblewrap binary, a name on PATH or a path
    host_sandbox_uid: int = 65534
    host_sandbox_gid: int = 65534
    allow_docker_runtime: bool = False
    force_require_signature: bool = False
    artifact_ttl_seconds: int = 7 * 24 * 3600
    artifact_url_ttl_seconds: int = 300
    public_url: str = "http://127.0.0.1:8787"
    jwks_file: Path | None = None
    jwks_url: str | None = None
    jwt_issuers: tuple[str, ...] = ()
    jwt_audience: str | None = None
    jwt_algorithms: tuple[str, ...] = ("EdDSA", "ES256", "RS256")
    # Per trusted issuer, which roles its tokens may carry (token role -> platform role). Unmapped
    # issuers and roles give a caster; operator and admin come only from an explicit entry.
    jwt_role_map: dict[str, dict[str, str]] = field(default_factory=dict)
    key_rotation_grace_seconds: int = 24 * 3600
    sse_heartbeat_seconds: float = 15.0
    allow_private_webhooks: bool = False  # http:// and internal webhook targets (closed networks, tests)
    # Host http steps and webhooks: plain http to public hosts (addresses are still checked).
    egress_allow_http: bool = False
    # Host http steps may reach any address, loopback included: closed networks and tests only.
    unsafe_egress_allow_private: bool = False
    buttons_file: Path | None = None  # operator-managed buttons, loaded by `spell serve` at start
    # Casts a minute per credential (API key or token) and per tenant (all its credentials together);
    # 0 turns that limit off. Without ``rate_limit_url`` each of ``processes`` counts its share.
    rate_limit_per_minute: int = 120
    tenant_rate_limit_per_minute: int = 600
    rate_limit_url: str | None = None  # redis://… shares the limits between server processes
    # Casts of one tenant running at once in each pool of a process (queue workers, inline slots); the
    # tenant's further casts wait queued. 0: half of each pool (at least one).
    tenant_casts: int = 0
    queue_url: str | None = None  # nats://… switches the work queue to NATS JetStream
    # How often each process looks for casts nothing will end (a dead runner) or run (a lost job).
    sweep_seconds: float = 30.0
    # Maxima and module caches of the WASM runtime; the AOT disk cache lives under $SPELL_HOME/cache.
    wasm: WasmSettings = field(default_factory=WasmSettings)

    @property
    def is_sqlite(self) -> bool:
        """True when the database is a SQLite file (the embedded default)."""
        return self.database_url.startswith("sqlite")

    def tenant_slots(self, pool: int) -> int:
        """How many of a pool's ``pool`` threads one tenant's casts may hold at once."""
        if pool <= 0:
            return 0
        return min(pool, self.tenant_casts) if self.tenant_casts > 0 else max(1, pool // 2)

    @property
    def bundles_dir(self) -> Path:
        """Where published bundles are unpacked, one folder per digest."""
        return self.data_dir / "bundles"

    @property
    def run_dir(self) -> Path:
        """What the processes serving one data dir share while they run (generations, cancel inboxes)."""
        return self.data_dir / "run"

    @property
    def blobs_dir(self) -> Path:
        """Content-addressed artifact store of the local blob backend."""
        return self.data_dir / "blobs"

    @classmethod
    def for_home(cls, home: Path, **overrides: object) -> ServerSettings:
        """Embedded defaults rooted at a ``SPELL_HOME`` folder (SQLite ``platform.db``)."""
        data_dir = home / "server"
        values: dict[str, object] = {
            "data_dir": data_dir,
            "database_url": f"sqlite:///{home / 'platform.db'}",
            "wasm": WasmSettings(cache_dir=SpellHome(home).cache),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ServerSettings:
        """Read ``SPELL_DATABASE_URL`` and ``SPELL_SERVER_*``; unset ones keep the embedded defaults."""
        env = os.environ if environ is None else environ
        spell_home = SpellHome.from_env(dict(env))
        base = cls.for_home(spell_home.root)
        jwks_file = env.get("SPELL_SERVER_JWKS_FILE")
        return cls(
            data_dir=Path(env.get("SPELL_SERVER_DATA_DIR") or base.data_dir),
            database_url=env.get("SPELL_DATABASE_URL") or base.database_url,
            secret_key=env.get("SPELL_SERVER_SECRET_KEY") or base.secret_key,
            workers=env_int(env, "SPELL_SERVER_WORKERS", base.workers, minimum=1),
            processes=env_int(env, "SPELL_SERVER_PROCESSES", base.processes, minimum=1),
            inline_casts=env_int(env, "SPELL_SERVER_INLINE_CASTS", base.inline_casts, minimum=0),
            cache_ms=env_int(env, "SPELL_SERVER_CACHE_MS", base.cache_ms, minimum=0),
            quick_casts=_env_bool(env, "SPELL_SERVER_QUICK_CASTS", base.quick_casts),
            max_body_bytes=env_int(env, "SPELL_SERVER_MAX_BODY_BYTES", base.max_body_bytes, minimum=1024),
            allow_unsigned=_env_bool(env, "SPELL_SERVER_ALLOW_UNSIGNED", base.allow_unsigned),
            allow_host_runtime=_env_bool(env, "SPELL_SERVER_ALLOW_HOST_RUNTIME", base.allow_host_runtime),
            host_sandbox=_env_choice(env, "SPELL_SERVER_HOST_SANDBOX", base.host_sandbox, HOST_SANDBOXES),
            host_sandbox_bwrap=env.get("SPELL_SERVER_HOST_SANDBOX_BWRAP") or base.host_sandbox_bwrap,
            host_sandbox_uid=env_int(env, "SPELL_SERVER_HOST_SANDBOX_UID", base.host_sandbox_uid, minimum=1),
            host_sandbox_gid=env_int(env, "SPELL_SERVER_HOST_SANDBOX_GID", base.host_sandbox_gid, minimum=1),
            allow_docker_runtime=_env_bool(
                env, "SPELL_SERVER_ALLOW_DOCKER_RUNTIME", base.allow_docker_runtime
            ),
            force_require_signature=_env_bool(
                env, "SPELL_FORCE_REQUIRE_SIGNATURE", base.force_require_signature
            ),
            artifact_ttl_seconds=env_int(
                env, "SPELL_SERVER_ARTIFACT_TTL_SECONDS", base.artifact_ttl_seconds, minimum=1
            ),
            public_url=env.get("SPELL_SERVER_PUBLIC_URL") or base.public_url,
            jwks_file=Path(jwks_file) if jwks_file else None,
            jwks_url=env.get("SPELL_SERVER_JWKS_URL") or None,
            jwt_issuers=_env_list(env, "SPELL_SERVER_JWT_ISSUERS"),
            jwt_audience=env.get("SPELL_SERVER_JWT_AUDIENCE") or None,
            jwt_role_map=_env_role_map(env, "SPELL_SERVER_JWT_ROLE_MAP"),
            queue_url=env.get("SPELL_QUEUE_URL") or None,
            sweep_seconds=env_int(env, "SPELL_SERVER_SWEEP_SECONDS", int(base.sweep_seconds), minimum=1),
            rate_limit_url=env.get("SPELL_RATE_LIMIT_URL") or None,
            rate_limit_per_minute=env_int(
                env, "SPELL_SERVER_RATE_LIMIT_PER_MINUTE", base.rate_limit_per_minute, minimum=0
            ),
            tenant_rate_limit_per_minute=env_int(
                env,
                "SPELL_SERVER_TENANT_RATE_LIMIT_PER_MINUTE",
                base.tenant_rate_limit_per_minute,
                minimum=0,
            ),
            tenant_casts=env_int(env, "SPELL_SERVER_TENANT_CASTS", base.tenant_casts, minimum=0),
            buttons_file=Path(env["SPELL_SERVER_BUTTONS_FILE"])
            if env.get("SPELL_SERVER_BUTTONS_FILE")
            else None,
            allow_private_webhooks=_env_bool(
                env, "SPELL_SERVER_ALLOW_PRIVATE_WEBHOOKS", base.allow_private_webhooks
            ),
            egress_allow_http=_env_bool(env, "SPELL_SERVER_EGRESS_ALLOW_HTTP", base.egress_allow_http),
            unsafe_egress_allow_private=_env_bool(
                env, "SPELL_SERVER_UNSAFE_EGRESS_ALLOW_PRIVATE", base.unsafe_egress_allow_private
            ),
            wasm=WasmSettings.from_env(dict(env), cache_dir=spell_home.cache),
        )
