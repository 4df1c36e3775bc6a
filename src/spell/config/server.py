"""Server settings: ``SPELL_SERVER_*`` (and older names like ``SPELL_DATABASE_URL``), read once at start."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from spell.config.docker import DockerOptions
from spell.config.group import layered, read, setting
from spell.config.home import SpellHome
from spell.config.wasm import WasmSettings

__all__ = [
    "HOST_SANDBOXES",
    "LOG_FORMATS",
    "TRACE_EXPORTERS",
    "ServerSettings",
    "file_location",
    "s3_location",
]

#: The host step sandboxes (``spell.runtimes.host.sandbox``); the unsafe one says so in its name.
HOST_SANDBOXES = ("bwrap", "unsafe-none")
#: Where spans go (``spell.platform.tracing``): nowhere, printed as JSON, or OTLP over HTTP.
TRACE_EXPORTERS = ("none", "console", "otlp")
#: How server logs are written: one JSON object per line, or plain text for a terminal.
LOG_FORMATS = ("json", "text")


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _queue_name(raw: str) -> str:
    """Letters, digits, ``-`` and ``_``: a NATS subject token and part of a stream name."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", raw):
        raise ValueError("use 1 to 64 letters, digits, '-' or '_'")
    return raw


def _role_map(raw: str) -> dict[str, dict[str, str]]:
    """``{"issuer": {"token role": "platform role"}}``; a list of names maps each to itself."""
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError("must be a JSON object of issuer -> role map")
    result: dict[str, dict[str, str]] = {}
    for issuer, roles in parsed.items():
        if isinstance(roles, list) and all(isinstance(role, str) for role in roles):
            result[issuer] = {role: role for role in roles}
        elif isinstance(roles, dict) and all(isinstance(role, str) for role in roles.values()):
            result[issuer] = dict(roles)
        else:
            raise ValueError(f"the roles of {issuer!r} must be a list of names or an object of name -> role")
    return result


def s3_location(url: str) -> tuple[str, str]:
    """The bucket and key prefix (no slashes around it) of ``s3://bucket[/prefix]``."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or scheme.lower() != "s3":
        raise ValueError("must be an s3://bucket[/prefix] URL")
    bucket, _, prefix = rest.partition("/")
    if "@" in bucket or ":" in bucket:
        # Keys in the URL would end up in logs and process listings; boto3 reads them from the environment.
        raise ValueError("must not carry credentials or a port (AWS_* variables and the endpoint setting do)")
    if not bucket:
        raise ValueError("names no bucket (s3://bucket[/prefix])")
    return bucket, prefix.strip("/")


def file_location(url: str) -> Path | None:
    """The folder of a ``file:///abs/dir`` blob URL (a store shared by nodes on one host), else None."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or scheme.lower() != "file":
        return None
    if not rest.startswith("/"):
        raise ValueError("a file:// URL names an absolute folder (file:///srv/spell-blobs)")
    return Path(rest)


def _blob_url(raw: str) -> str:
    if file_location(raw) is None:
        s3_location(raw)
    return raw.strip()


@dataclass(frozen=True)
class ServerSettings:
    """Everything the platform needs to start; the embedded default needs none of it set."""

    env_prefix: ClassVar[str] = "SPELL_SERVER_"

    data_dir: Path = setting(
        description="bundles, artifacts, the generated secret (made, or tightened to, 0700)",
        shown_default="`$SPELL_HOME/server`",
    )
    database_url: str = setting(
        description="`postgresql+psycopg://…` switches to PostgreSQL (`spell db upgrade` first)",
        aliases=("SPELL_DATABASE_URL",),
        shown_default="`sqlite:///$SPELL_HOME/platform.db`",
    )
    secret_key: str | None = setting(
        None,
        "keys API-key hashes, artifact URL signatures and the sealing of webhook secrets; the same on "
        "every process",
        shown_default="generated, kept in the data dir (0600)",
    )
    workers: int = setting(2, "queue worker threads (queued casts), per process", ge=1)
    processes: int = setting(1, "server processes sharing the port (`spell serve --processes N`)", ge=1)
    inline_casts: int = setting(
        4, "`Prefer: wait` casts run by the request at once; 0 queues every cast", ge=0
    )
    quick_casts: bool = setting(
        True,
        "try short `Prefer: wait` casts in one transaction on the event loop (on PostgreSQL in a "
        "greenlet whose database waits yield to the loop, and for free spells only; below)",
    )
    cache_ms: int = setting(
        2000,
        "how long key and spell lookups stay cached; changes are seen at once by the processes of this "
        "data dir and, on PostgreSQL, by every node (LISTEN/NOTIFY), others within this time; "
        "0 turns the caches off",
        ge=0,
    )
    max_body_bytes: int = setting(
        16 * 1024 * 1024, "larger bodies get 413 `PAYLOAD_TOO_LARGE`", ge=1024, shown_default="16 MiB"
    )
    max_wait_seconds: int = setting(60, "the longest `Prefer: wait=N` honoured", ge=0)
    allow_unsigned: bool = setting(False, "accept unsigned spells")
    allow_host_runtime: bool = setting(False, "run host-step spells (processes on this machine)")
    host_sandbox: str = setting(
        "bwrap",
        "where host steps run: `bwrap` (below) or `unsafe-none` (as the server's user, its files in reach)",
        choices=HOST_SANDBOXES,
    )
    host_sandbox_bwrap: str = setting("bwrap", "the bubblewrap binary (a name on `PATH` or a path)")
    host_sandbox_uid: int = setting(65534, "the unprivileged user host steps run as", ge=1)
    host_sandbox_gid: int = setting(65534, "the unprivileged group host steps run as", ge=1)
    host_sandbox_warm: int = setting(
        1,
        "`bwrap` sandboxes started ahead, each for one step of one cast (0: every step starts its own)",
        ge=0,
        le=16,
    )
    allow_docker_runtime: bool = setting(False, "run docker spells")
    allow_api_runtime: bool = setting(
        False, "run api spells: casts forwarded to the maker's https endpoint (the caster's input leaves)"
    )
    force_require_signature: bool = setting(
        False,
        "require signatures even where a button waives them",
        aliases=("SPELL_FORCE_REQUIRE_SIGNATURE",),
    )
    artifact_ttl_seconds: int = setting(
        7 * 24 * 3600,
        "artifacts expire after this (then 410 `ARTIFACT_EXPIRED`)",
        ge=1,
        shown_default="7 days",
    )
    artifact_url_ttl_seconds: int = setting(300, "how long a signed artifact URL stays valid", ge=1)
    public_url: str = setting("http://127.0.0.1:8787", "the base of signed artifact URLs")
    blob_url: str | None = setting(
        None,
        "`s3://bucket/prefix` keeps artifacts and published bundles in an S3 bucket (credentials: the "
        "AWS variables or profile boto3 reads) and downloads redirect to presigned URLs; "
        "`file:///abs/dir` keeps them in one folder that every node on the host shares",
        aliases=("SPELL_BLOB_URL",),
        parse=_blob_url,
        shown_default="files under the data dir",
    )
    blob_s3_endpoint_url: str | None = setting(
        None,
        "the endpoint of an S3-compatible server (MinIO, Ceph, R2, …); clients fetch presigned URLs from it",
        aliases=("SPELL_BLOB_S3_ENDPOINT_URL",),
        shown_default="AWS S3",
    )
    blob_s3_region: str | None = setting(
        None, "the bucket's region", aliases=("SPELL_BLOB_S3_REGION",), shown_default="boto3's (`AWS_REGION`)"
    )
    blob_s3_path_style: bool = setting(
        False,
        "address the bucket in the path (`endpoint/bucket/key`), for servers without a host name per bucket",
        aliases=("SPELL_BLOB_S3_PATH_STYLE",),
    )
    mcp_allowed_hosts: tuple[str, ...] = setting(
        ("127.0.0.1:*", "localhost:*", "[::1]:*"),
        "comma-separated `Host` values `/mcp` answers (DNS-rebinding protection; `name:*` is any port); "
        "the host of the public URL is always allowed",
        parse=_names,
    )
    mcp_allowed_origins: tuple[str, ...] = setting(
        ("http://127.0.0.1:*", "http://localhost:*"),
        "comma-separated browser `Origin` values `/mcp` accepts (`origin:*` is any port); the public "
        "URL is always allowed, requests without an `Origin` are",
        parse=_names,
    )
    cors_allow_origins: tuple[str, ...] = setting(
        (),
        "comma-separated browser origins (`https://app.example.com`) allowed to call the REST API "
        "(`/v1`, `/api`) cross-origin; `*` allows any; others' preflights get 403",
        parse=_names,
        shown_default="none",
    )
    oidc_client_id: str | None = setting(
        None,
        "the console's client id at the OpenID provider; set, the sign-in page offers the provider "
        "(authorization code flow with PKCE; its ID tokens are checked with the JWT settings, their "
        "audience being this client id)",
        shown_default="unset (API keys only)",
    )
    oidc_client_secret: str | None = setting(
        None, "the client secret, for providers that require one of confidential clients"
    )
    oidc_issuer: str | None = setting(
        None,
        "the provider's issuer URL (one of `SPELL_SERVER_JWT_ISSUERS`); its discovery document names "
        "the endpoints the two settings below leave unset",
        shown_default="the first JWT issuer",
    )
    oidc_authorize_url: str | None = setting(
        None, "the provider's authorization endpoint", shown_default="discovered"
    )
    oidc_token_url: str | None = setting(None, "the provider's token endpoint", shown_default="discovered")
    oidc_name: str = setting("your organization's sign-in", "how the sign-in button names the provider")
    console_session_seconds: int = setting(
        8 * 3600, "how long a console sign-in lasts", ge=60, shown_default="8 hours"
    )
    jwks_file: Path | None = setting(None, "accept JWT bearer tokens signed by the keys of this JWKS file")
    jwks_url: str | None = setting(None, "accept JWT bearer tokens signed by the keys this URL serves")
    jwt_issuers: tuple[str, ...] = setting(
        (), "comma-separated `iss` allow-list (required with a JWKS)", parse=_names
    )
    jwt_audience: str | None = setting(None, "the required `aud` (required with a JWKS)")
    jwt_algorithms: tuple[str, ...] = setting(
        ("EdDSA", "ES256", "RS256"), "comma-separated JWT algorithms accepted", parse=_names
    )
    jwt_role_map: dict[str, dict[str, str]] = setting(
        default_factory=dict,
        description="JSON: per issuer, the token roles it may grant, e.g. "
        '`{"https://id.example.com": {"spell-makers": "maker", "auditors": "auditor"}}` '
        '(a list `["maker"]` maps each name to itself); unmapped issuers and roles give a caster',
        parse=_role_map,
        shown_default="none (everyone a caster)",
    )
    key_rotation_grace_seconds: int = setting(
        24 * 3600, "how long the old secret of a rotated API key keeps working", ge=0, shown_default="1 day"
    )
    sse_heartbeat_seconds: float = setting(
        15.0, "seconds between keep-alive comments on event streams", ge=0.01
    )
    allow_private_webhooks: bool = setting(
        False, "allow `http://` and internal webhook targets (closed networks)"
    )
    egress_allow_http: bool = setting(
        False, "host `http` steps, api spells and webhooks may use plain `http://` to public hosts"
    )
    unsafe_egress_allow_private: bool = setting(
        False,
        "host `http` steps and api spells may reach any address, loopback included (closed networks, tests)",
    )
    buttons_file: Path | None = setting(None, "operator-managed buttons, loaded at start")
    rate_limit_per_minute: int = setting(
        120, "casts per credential (API key or token) per minute; 0 turns it off", ge=0
    )
    tenant_rate_limit_per_minute: int = setting(
        600, "casts per tenant per minute, all its keys and tokens together; 0 turns it off", ge=0
    )
    rate_limit_url: str | None = setting(
        None,
        "`redis://…` shares the rate limits between processes",
        aliases=("SPELL_RATE_LIMIT_URL",),
        shown_default="in memory",
    )
    tenant_casts: int = setting(
        0,
        "casts of one tenant running at once in each pool of a process (workers, inline slots); 0: all"
        " but one, so another tenant finds a free thread in any pool of two or more",
        ge=0,
        shown_default="all but one of each pool",
    )
    queue_url: str | None = setting(
        None,
        "`nats://…` runs the work queue on NATS JetStream (several server processes)",
        aliases=("SPELL_QUEUE_URL",),
        shown_default="in-process",
    )
    queue_name: str = setting(
        "spell",
        "names this deployment's stream, subjects and consumer on the broker, so several share one NATS",
        parse=_queue_name,
    )
    queue_ack_wait_seconds: float = setting(
        10.0,
        "how long the broker waits without word from a worker before giving its job to another; a "
        "running cast sends word every third of it. The same on every process",
        ge=1,
    )
    run_workers: bool = setting(
        True,
        "run queue workers in the server process; off (`spell serve --no-workers`): an API-only node "
        "whose queued casts run on `spell worker` processes (needs `SPELL_QUEUE_URL`)",
    )
    sweep_seconds: float = setting(
        30.0,
        "how often each process ends casts a dead runner left `running`, re-runs lost `queued` ones and, "
        "on PostgreSQL, adds the casts counted since to the spells' `cast_count` (the `popular` order "
        "lags that much)",
        ge=1,
    )
    metrics_token: str | None = setting(
        None,
        "the bearer token `/metrics` requires (`Authorization: Bearer …`, as Prometheus' `authorization` "
        "scrape option sends it); unset, `/metrics` answers 404",
        shown_default="unset (no `/metrics`)",
    )
    trace_exporter: str = setting(
        "none",
        "where OpenTelemetry spans go: `none`, `console` (JSON on stdout) or `otlp` (HTTP, to "
        "`OTEL_EXPORTER_OTLP_ENDPOINT`; `pip install 'spell-platform[otel]'`)",
        choices=TRACE_EXPORTERS,
    )
    log_level: str = setting(
        "info",
        "the server's log level (`spell serve --log-level`)",
        choices=("critical", "error", "warning", "info", "debug"),
    )
    log_format: str = setting(
        "json", "`json` (one object per line, with `request_id` and `cast_id`) or `text`", choices=LOG_FORMATS
    )
    access_log: bool = setting(True, "log one line per HTTP request (at `info`)")
    # Maxima and module caches of the WASM runtime, read from ``SPELL_WASM_*``; the AOT disk cache
    # lives under $SPELL_HOME/cache.
    wasm: WasmSettings = field(default_factory=WasmSettings)
    # The docker runtime's client and hardening flags, from ``SPELL_DOCKER_*`` as `spell cast` reads them.
    docker: DockerOptions = field(default_factory=DockerOptions)

    @property
    def is_sqlite(self) -> bool:
        """True when the database is a SQLite file (the embedded default)."""
        return self.database_url.startswith("sqlite")

    def tenant_slots(self, pool: int) -> int:
        """How many of a pool's ``pool`` threads one tenant's casts may hold at once."""
        if pool <= 0:
            return 0
        # All but one by default: a lone tenant keeps nearly the whole pool (a half share cost a
        # one-tenant server 10-15 % of its sync casts/s), and another tenant still finds a thread.
        return min(pool, self.tenant_casts) if self.tenant_casts > 0 else max(1, pool - 1)

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
        """Content-addressed artifact store of the local blob backend (without ``SPELL_BLOB_URL``)."""
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
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Read ``SPELL_SERVER_*`` (and older names) and ``SPELL_WASM_*``; unset ones keep the defaults."""
        env = layered(environ)
        home = SpellHome.from_env(env)
        settings = read(cls, env, cls.for_home(home.root))
        return replace(
            settings,
            wasm=WasmSettings.from_env(env, cache_dir=home.cache),
            docker=DockerOptions.from_mapping(env),
        )
