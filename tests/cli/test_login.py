"""``spell login`` / ``spell logout`` and the profiles remote commands use, against a live server."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from spell.cli.app import main
from spell.cli.profiles import Profile, client_for, profiles_path, resolve_profile, save_profile
from spell.errors import AuthError, InvalidInput, NotFound
from tests.cli.run_cli import CliResult, run_cli
from tests.client.live_server import LiveServer, expire_key, free_port
from tests.fixtures.live import database_backend, live
from tests.fixtures.server import seed_user

__all__ = ["database_backend", "live"]


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG config folder, and no server or key from the environment."""
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    for name in ("SPELL_SERVER", "SPELL_API_KEY", "SPELL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return home


def _stored() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(profiles_path().read_text(encoding="utf-8"))["profiles"]
    return data


def _login_typing_the_key(*args: str, key: str) -> CliResult:
    with CliRunner().isolation(input=f"{key}\n") as (out, err, _):
        try:
            main(["login", *args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        sys.stdout.flush()
        sys.stderr.flush()
    return CliResult(code, out.getvalue().decode(), err.getvalue().decode())


def test_login_checks_the_key_and_saves_a_private_profile(live: LiveServer, config_home: Path) -> None:
    caller = seed_user(live.platform, "me@example.com", ["caster"])
    result = run_cli("login", "--server", live.url + "/", "--api-key", caller.token, "--json")
    assert result.exit_code == 0, result.stderr
    payload = result.json()
    assert (payload["profile"], payload["email"], payload["server"]) == (
        "default",
        "me@example.com",
        live.url,
    )
    path = profiles_path()
    assert path == config_home / "spell" / "profiles.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert _stored() == {"default": {"server": live.url, "api_key": caller.token}}
    assert [p.name for p in path.parent.iterdir()] == ["profiles.json"]  # no temporary file left behind
    with client_for(None) as client:
        assert client.me().user_id == caller.user_id


def test_login_asks_for_the_key_when_it_is_not_given(live: LiveServer) -> None:
    caller = seed_user(live.platform, "typed@example.com", ["caster"])
    result = _login_typing_the_key("--server", live.url, "--profile", "typed", key=caller.token)
    assert result.exit_code == 0, result.stderr
    assert "logged in to" in result.stdout
    assert caller.token not in result.stdout
    assert _stored()["typed"]["api_key"] == caller.token


def test_a_wrong_key_is_one_line_exit_8_and_nothing_is_written(live: LiveServer) -> None:
    result = run_cli("login", "--server", live.url, "--api-key", "sk_live_wrong")
    assert result.exit_code == 8
    assert result.stderr.splitlines()[0].endswith("[UNAUTHORIZED]")
    assert not profiles_path().exists()


def test_an_expired_key_is_refused_and_nothing_is_written(live: LiveServer) -> None:
    caller = seed_user(live.platform, "old@example.com", ["caster"])
    expire_key(live, caller)
    result = run_cli("login", "--server", live.url, "--api-key", caller.token, "--json")
    assert result.exit_code == 8
    assert result.error()["code"] == "UNAUTHORIZED"
    assert not profiles_path().exists()


def test_an_unreachable_server_is_one_line_and_nothing_is_written() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("login", "--server", url, "--api-key", "sk_live_x")
    assert result.exit_code == 11
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: cannot reach {url}")
    assert first.endswith("[SERVER_UNREACHABLE]")
    assert not profiles_path().exists()


def test_a_failed_login_leaves_the_saved_profile_as_it_was(live: LiveServer) -> None:
    caller = seed_user(live.platform, "kept@example.com", ["caster"])
    assert run_cli("login", "--server", live.url, "--api-key", caller.token).exit_code == 0
    before = profiles_path().read_bytes()
    assert run_cli("login", "--server", live.url, "--api-key", "sk_live_wrong").exit_code == 8
    assert profiles_path().read_bytes() == before


def test_profiles_are_chosen_by_name_and_overridden_by_the_environment(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = seed_user(live.platform, "a@example.com", ["caster"])
    second = seed_user(live.platform, "b@example.com", ["caster"])
    assert run_cli("login", "--server", live.url, "--api-key", first.token).exit_code == 0
    assert run_cli("login", "--server", live.url, "--api-key", second.token, "--profile", "b").exit_code == 0
    assert resolve_profile(None).api_key == first.token
    with client_for("b") as client:
        assert client.me().user_id == second.user_id
    monkeypatch.setenv("SPELL_PROFILE", "b")
    monkeypatch.setenv("SPELL_API_KEY", first.token)
    assert resolve_profile("b") == Profile("b", live.url, first.token)
    monkeypatch.setenv("SPELL_SERVER", "http://elsewhere:1")
    assert resolve_profile(None).server == "http://elsewhere:1"


def test_without_a_profile_or_environment_remote_commands_say_to_log_in() -> None:
    with pytest.raises(AuthError) as caught:
        client_for(None)
    assert caught.value.hint is not None
    assert "spell login" in caught.value.hint
    with pytest.raises(NotFound):
        client_for("nowhere")


def test_the_environment_alone_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPELL_SERVER", "http://spell.example")
    monkeypatch.setenv("SPELL_API_KEY", "sk_env")
    assert resolve_profile(None) == Profile("default", "http://spell.example", "sk_env")


def test_logout_removes_only_the_named_profile() -> None:
    save_profile(Profile("default", "http://a", "sk_a"))
    save_profile(Profile("other", "http://b", "sk_b"))
    result = run_cli("logout", "--json")
    assert result.exit_code == 0
    assert result.json()["profile"] == "default"
    assert list(_stored()) == ["other"]
    missing = run_cli("logout", "--profile", "default", "--json")
    assert missing.exit_code == 3
    assert missing.error()["code"] == "NOT_FOUND"


def test_a_corrupt_profiles_file_is_an_invalid_input_error() -> None:
    path = profiles_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInput):
        resolve_profile(None)
