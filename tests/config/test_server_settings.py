"""``ServerSettings.from_env``: embedded defaults, every variable read, garbage refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from spell.config.server import ServerSettings
from spell.errors import InvalidInput


def test_the_embedded_default_is_sqlite_under_spell_home(tmp_path: Path) -> None:
    settings = ServerSettings.from_env({"SPELL_HOME": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'platform.db'}"
    assert settings.is_sqlite
    assert settings.bundles_dir == tmp_path / "server" / "bundles"
    assert settings.blobs_dir == tmp_path / "server" / "blobs"
    assert settings.queue_url is None
    assert settings.allow_unsigned is False
    assert settings.egress_allow_http is False
    assert settings.unsafe_egress_allow_private is False
    assert settings.allow_private_webhooks is False
    # fair share is on by default: rate limits, and all but one of each pool of cast threads per tenant
    assert settings.rate_limit_per_minute > 0
    assert settings.tenant_rate_limit_per_minute > 0
    assert (settings.tenant_slots(2), settings.tenant_slots(4), settings.tenant_slots(1)) == (1, 3, 1)
    assert settings.tenant_slots(0) == 0


def test_every_variable_is_read(tmp_path: Path) -> None:
    env = {
        "SPELL_HOME": str(tmp_path),
        "SPELL_DATABASE_URL": "postgresql+psycopg://u@h/db",
        "SPELL_QUEUE_URL": "nats://h:4222",
        "SPELL_SERVER_WORKERS": "8",
        "SPELL_SERVER_INLINE_CASTS": "0",
        "SPELL_SERVER_CACHE_MS": "250",
        "SPELL_SERVER_ALLOW_UNSIGNED": "yes",
        "SPELL_SERVER_ALLOW_HOST_RUNTIME": "1",
        "SPELL_SERVER_ALLOW_DOCKER_RUNTIME": "true",
        "SPELL_FORCE_REQUIRE_SIGNATURE": "on",
        "SPELL_SERVER_ALLOW_PRIVATE_WEBHOOKS": "true",
        "SPELL_SERVER_EGRESS_ALLOW_HTTP": "true",
        "SPELL_SERVER_UNSAFE_EGRESS_ALLOW_PRIVATE": "true",
        "SPELL_SERVER_JWKS_FILE": str(tmp_path / "jwks.json"),
        "SPELL_SERVER_JWT_ISSUERS": "https://a, https://b",
        "SPELL_SERVER_JWT_AUDIENCE": "spell",
        "SPELL_SERVER_BUTTONS_FILE": str(tmp_path / "buttons.json"),
        "SPELL_SERVER_SECRET_KEY": "k",
        "SPELL_SERVER_RATE_LIMIT_PER_MINUTE": "30",
        "SPELL_SERVER_TENANT_RATE_LIMIT_PER_MINUTE": "90",
        "SPELL_SERVER_TENANT_CASTS": "3",
        "SPELL_RATE_LIMIT_URL": "redis://h:6379/0",
    }
    settings = ServerSettings.from_env(env)
    assert not settings.is_sqlite
    assert settings.queue_url == "nats://h:4222"
    assert settings.workers == 8
    flags = (
        "allow_unsigned",
        "allow_host_runtime",
        "allow_docker_runtime",
        "force_require_signature",
        "allow_private_webhooks",
        "egress_allow_http",
        "unsafe_egress_allow_private",
    )
    assert all(getattr(settings, flag) is True for flag in flags)
    assert settings.jwt_issuers == ("https://a", "https://b")
    assert settings.jwks_file == tmp_path / "jwks.json"
    assert settings.buttons_file == tmp_path / "buttons.json"
    assert settings.secret_key == "k"
    assert settings.rate_limit_per_minute == 30
    assert settings.tenant_rate_limit_per_minute == 90
    assert settings.tenant_casts == 3
    assert settings.tenant_slots(8) == 3
    assert settings.tenant_slots(2) == 2
    assert settings.inline_casts == 0
    assert settings.cache_ms == 250
    assert settings.rate_limit_url == "redis://h:6379/0"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SPELL_SERVER_ALLOW_UNSIGNED", "maybe"),
        ("SPELL_SERVER_WORKERS", "0"),
        ("SPELL_SERVER_INLINE_CASTS", "-1"),
        ("SPELL_SERVER_CACHE_MS", "soon"),
        ("SPELL_SERVER_JWT_ROLE_MAP", "{not json"),
        ("SPELL_SERVER_JWT_ROLE_MAP", '["maker"]'),
        ("SPELL_SERVER_JWT_ROLE_MAP", '{"https://id.example.com": "maker"}'),
        ("SPELL_SERVER_JWT_ROLE_MAP", '{"https://id.example.com": {"m": 1}}'),
        ("SPELL_SERVER_RATE_LIMIT_PER_MINUTE", "-1"),
        ("SPELL_SERVER_TENANT_RATE_LIMIT_PER_MINUTE", "many"),
        ("SPELL_SERVER_TENANT_CASTS", "-2"),
    ],
)
def test_garbage_settings_are_refused_by_name(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(InvalidInput, match=name):
        ServerSettings.from_env({"SPELL_HOME": str(tmp_path), name: value})


def test_the_jwt_role_map_takes_an_object_or_a_list_per_issuer(tmp_path: Path) -> None:
    raw = '{"https://a.example": {"makers": "maker"}, "https://b.example": ["auditor"]}'
    settings = ServerSettings.from_env({"SPELL_HOME": str(tmp_path), "SPELL_SERVER_JWT_ROLE_MAP": raw})
    assert settings.jwt_role_map == {
        "https://a.example": {"makers": "maker"},
        "https://b.example": {"auditor": "auditor"},
    }
    assert ServerSettings.from_env({"SPELL_HOME": str(tmp_path)}).jwt_role_map == {}


def test_a_generated_secret_is_kept_across_restarts(tmp_path: Path) -> None:
    from spell.platform.server import resolve_secret

    settings = ServerSettings.for_home(tmp_path)
    first = resolve_secret(settings)
    assert first == resolve_secret(settings)
    assert (tmp_path / "server" / "secret.key").stat().st_mode & 0o077 == 0


def test_runtimes_follow_the_operator_switches(tmp_path: Path) -> None:
    from spell.platform.server import default_runtimes

    plain = default_runtimes(ServerSettings.for_home(tmp_path))
    everything = default_runtimes(
        ServerSettings.for_home(tmp_path, allow_host_runtime=True, allow_docker_runtime=True)
    )
    try:
        assert set(plain) == {"wasm"}
        assert set(everything) == {"wasm", "host", "docker"}
    finally:
        for runtimes in (plain, everything):
            runtimes["wasm"].close()  # type: ignore[attr-defined]


def test_the_server_wasm_runtime_reads_the_wasm_maxima_and_caches_under_spell_home(tmp_path: Path) -> None:
    from spell.platform.server import default_runtimes

    settings = ServerSettings.from_env({"SPELL_HOME": str(tmp_path), "SPELL_WASM_MAX_FUEL": "1234"})
    assert settings.wasm.cache_dir == tmp_path / "cache"
    runtimes = default_runtimes(settings)
    try:
        wasm = runtimes["wasm"]
        assert wasm.settings.max_fuel == 1234  # type: ignore[attr-defined]
        assert wasm.settings.cache_dir == tmp_path / "cache"  # type: ignore[attr-defined]
    finally:
        runtimes["wasm"].close()  # type: ignore[attr-defined]


def test_the_server_docker_runtime_reads_the_docker_settings_as_spell_cast_does(tmp_path: Path) -> None:
    from spell.platform.server import default_runtimes
    from spell.runtimes.docker import DockerRuntime

    environ = {
        "SPELL_HOME": str(tmp_path),
        "SPELL_SERVER_ALLOW_DOCKER_RUNTIME": "1",
        "SPELL_DOCKER_MEMORY": "256m",
        "SPELL_DOCKER_BINARY": "podman",
        "DOCKER_HOST": "unix:///run/podman.sock",
    }
    runtimes = default_runtimes(ServerSettings.from_env(environ))
    try:
        docker = runtimes["docker"]
        assert isinstance(docker, DockerRuntime)
        assert (docker.options.memory, docker.options.binary) == ("256m", "podman")
        assert ("DOCKER_HOST", "unix:///run/podman.sock") in docker.options.client_env
    finally:
        runtimes["wasm"].close()  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="SPELL_DOCKER_PIDS_LIMIT"):
        ServerSettings.from_env({"SPELL_HOME": str(tmp_path), "SPELL_DOCKER_PIDS_LIMIT": "0"})


def test_the_host_sandbox_settings_are_read_from_the_environment(tmp_path: Path) -> None:
    env = {
        "SPELL_HOME": str(tmp_path),
        "SPELL_SERVER_HOST_SANDBOX": "unsafe-none",
        "SPELL_SERVER_HOST_SANDBOX_BWRAP": "/opt/bwrap",
        "SPELL_SERVER_HOST_SANDBOX_UID": "1234",
        "SPELL_SERVER_HOST_SANDBOX_GID": "4321",
    }

    settings = ServerSettings.from_env(env)

    assert (settings.host_sandbox, settings.host_sandbox_bwrap) == ("unsafe-none", "/opt/bwrap")
    assert (settings.host_sandbox_uid, settings.host_sandbox_gid) == (1234, 4321)
    with pytest.raises(InvalidInput) as raised:
        ServerSettings.from_env({**env, "SPELL_SERVER_HOST_SANDBOX": "none"})
    assert "SPELL_SERVER_HOST_SANDBOX" in raised.value.message


def test_the_host_sandbox_defaults_to_bubblewrap_as_nobody(tmp_path: Path) -> None:
    settings = ServerSettings.from_env({"SPELL_HOME": str(tmp_path)})

    assert (settings.host_sandbox, settings.host_sandbox_bwrap) == ("bwrap", "bwrap")
    assert (settings.host_sandbox_uid, settings.host_sandbox_gid) == (65534, 65534)


def test_host_steps_cannot_be_set_to_run_as_root(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as raised:
        ServerSettings.from_env({"SPELL_HOME": str(tmp_path), "SPELL_SERVER_HOST_SANDBOX_UID": "0"})

    assert "SPELL_SERVER_HOST_SANDBOX_UID" in raised.value.message


def test_the_sweep_interval_is_read_and_a_bad_one_refused(tmp_path: Path) -> None:
    home = {"SPELL_HOME": str(tmp_path)}
    assert ServerSettings.from_env(home).sweep_seconds == 30
    assert ServerSettings.from_env({**home, "SPELL_SERVER_SWEEP_SECONDS": "5"}).sweep_seconds == 5
    for bad in ("0", "often"):
        with pytest.raises(InvalidInput, match="SPELL_SERVER_SWEEP_SECONDS"):
            ServerSettings.from_env({**home, "SPELL_SERVER_SWEEP_SECONDS": bad})
