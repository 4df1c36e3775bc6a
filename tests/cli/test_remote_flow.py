"""The remote flow against a live server: login, publish, cast --remote following progress,
artifacts, usage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spell.client import models
from spell.client._sync import Casts
from spell.client.models import CastOut
from tests.cli.remote_world import (
    new_caster,
    new_maker,
    private_homes,
    publish,
    write_input,
)
from tests.cli.run_cli import run_cli
from tests.client.live_server import LiveServer
from tests.fixtures.live import database_backend, live

__all__ = ["database_backend", "live", "private_homes"]


def test_publish_cast_with_progress_download_and_read_usage(live: LiveServer, tmp_path: Path) -> None:
    maker = new_maker(live, tmp_path)
    published = publish(maker, "--tag", "files", "--json")
    assert published.exit_code == 0, published.stderr
    version = published.json()
    assert (version["spell_id"], version["version"], version["key_registered"]) == (
        "acme/writer",
        "1.0.0",
        True,
    )
    assert version["digest"].startswith("sha256:")

    new_caster(live)
    document = write_input(tmp_path, '"w:report.txt"')
    cast = run_cli("cast", "acme/writer", "--remote", "--input", str(document), "--profile", "caster")
    assert cast.exit_code == 0, cast.stderr
    first = cast.stdout.splitlines()[0]
    cast_id = first.split()[0]
    assert first == f"{cast_id} succeeded (acme/writer@1.0.0)"
    progress = cast.stderr.splitlines()
    assert progress[0] == f"spell: cast {cast_id} (acme/writer@1.0.0)"
    assert progress[-1] == "spell: succeeded"
    assert f"{live.url}/v1/artifacts/" in cast.stdout

    target = tmp_path / "report.txt"
    got = run_cli("artifacts", "get", cast_id, "out/report.txt", "-o", str(target), "--profile", "caster")
    assert got.exit_code == 0, got.stderr
    assert target.read_bytes() == b"x"

    usage = run_cli("usage", "--profile", "caster", "--json")
    assert usage.exit_code == 0, usage.stderr
    assert [(i["spell"], i["amount_micros"], i["casts"]) for i in usage.json()["items"]] == [
        ("acme/writer", 250_000, 1)
    ]
    human = run_cli("usage", "--profile", "caster")
    assert "acme/writer  1      0.25" in human.stdout


def test_a_second_publish_finds_the_key_registered(live: LiveServer, tmp_path: Path) -> None:
    maker = new_maker(live, tmp_path)
    assert publish(maker).exit_code == 0
    again = publish(maker, "--json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["key_registered"] is False
    human = publish(maker)
    assert human.stdout.splitlines() == ["published acme/writer@1.0.0", f"digest: {again.json()['digest']}"]
    assert "key acme/k1: already on the server" in human.stderr


def test_cast_json_prints_the_ended_cast_and_nothing_else(live: LiveServer, tmp_path: Path) -> None:
    maker = new_maker(live, tmp_path, priced=False)
    assert publish(maker).exit_code == 0
    document = write_input(tmp_path, '"w:a.txt"')
    cast = run_cli(
        "cast", "acme/writer", "--remote", "--input", str(document), "--profile", "maker", "--json"
    )
    assert cast.exit_code == 0, cast.stderr
    assert cast.stderr == ""
    body = cast.json()
    assert body["status"] == "succeeded"
    assert [a["name"] for a in body["artifacts"]] == ["out/a.txt"]
    assert body["artifacts"][0]["url"].startswith(f"{live.url}/v1/artifacts/")


def test_a_named_profile_casts_remotely_a_spell_not_installed_here(live: LiveServer, tmp_path: Path) -> None:
    maker = new_maker(live, tmp_path, priced=False)
    assert publish(maker).exit_code == 0
    document = write_input(tmp_path, '"w:a.txt"')
    cast = run_cli("cast", "acme/writer", "--input", str(document), "--profile", "maker", "--json")
    assert cast.exit_code == 0, cast.stderr
    assert cast.json()["id"].startswith("cast_")


def test_an_installed_spell_is_cast_locally_even_with_a_profile(live: LiveServer, tmp_path: Path) -> None:
    maker = new_maker(live, tmp_path, priced=False)
    assert publish(maker).exit_code == 0
    assert run_cli("install", str(maker.bundle)).exit_code == 0
    document = write_input(tmp_path, '"w:a.txt"')
    local = run_cli("cast", "acme/writer", "--input", str(document), "--profile", "maker", "--json")
    # A local cast takes an input object only; the server would have cast this string input.
    assert local.exit_code == 6
    assert "must hold a JSON object" in local.error()["message"]
    remote = run_cli("casts", "list", "--profile", "maker", "--json")
    assert remote.json()["items"] == []


def test_a_failed_remote_cast_exits_with_its_error(live: LiveServer, tmp_path: Path) -> None:
    maker = new_maker(live, tmp_path, priced=False)
    assert publish(maker).exit_code == 0
    document = write_input(tmp_path, json.dumps("w:../escape.txt"))
    cast = run_cli("cast", "acme/writer", "--remote", "--input", str(document), "--profile", "maker")
    assert cast.exit_code == 10, cast.stderr
    assert " failed (acme/writer@1.0.0)" in cast.stdout.splitlines()[0]
    assert cast.stderr.splitlines()[-2].startswith("error: cast cast_")


def test_a_dry_run_is_never_sent_to_the_server(live: LiveServer, tmp_path: Path) -> None:
    maker = new_maker(live, tmp_path, priced=False)
    assert publish(maker).exit_code == 0
    result = run_cli("cast", "acme/writer", "--remote", "--dry-run", "--profile", "maker", "--json")
    assert (result.exit_code, result.error()["code"]) == (6, "VALIDATION_ERROR")
    assert run_cli("casts", "list", "--profile", "maker", "--json").json()["items"] == []


def test_ctrl_c_stops_following_and_says_how_to_cancel(
    live: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    maker = new_maker(live, tmp_path, priced=False)
    assert publish(maker).exit_code == 0

    def interrupted(self: Casts, cast_id: str, **_: object) -> CastOut:
        raise KeyboardInterrupt

    monkeypatch.setattr(Casts, "wait", interrupted)
    monkeypatch.setattr(models, "ended", lambda cast: False)
    document = write_input(tmp_path, '"w:a.txt"')
    result = run_cli("cast", "acme/writer", "--remote", "--input", str(document), "--profile", "maker")
    assert result.exit_code == 130
    cast_id = result.stderr.split("spell: stopped following ")[1].split(";")[0]
    assert f"(spell casts cancel {cast_id} stops it)" in result.stderr
