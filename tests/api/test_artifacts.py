"""Artifacts: stored content-addressed, listed with signed URLs, downloaded, expired → 410."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from spell.kit.time import utcnow
from spell.models import Artifact
from spell.platform.server import Platform
from spell.runtimes.base import Runtime
from spell.runtimes.wasm import WasmRuntime
from spell.storage.blobs.local import LocalBlobStore
from spell.testing.runtimes import FileWritingRuntime
from tests.fixtures.server import Caller, publish, seed_maker, seed_user

pytestmark = pytest.mark.anyio


@pytest.fixture
def runtimes(tmp_path: Path) -> dict[str, Runtime]:
    return {"wasm": FileWritingRuntime(tmp_path / "scratch")}


async def _cast_with_files(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> tuple[Caller, Any]:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, schema={"type": "object"})
    response = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**maker.headers, "Idempotency-Key": "files", "Prefer": "wait=10"},
        json={"input": {"files": {"a.txt": "alpha", "b.txt": "beta"}}},
    )
    assert response.json()["status"] == "succeeded", response.text
    return maker, response.json()


async def test_artifacts_are_listed_and_downloaded_through_signed_urls(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker, cast = await _cast_with_files(client, platform, tmp_path)
    listed = (await client.get(f"/v1/casts/{cast['id']}/artifacts", headers=maker.headers)).json()["items"]
    assert [a["name"] for a in listed] == ["a.txt", "b.txt"]
    assert listed[0]["size"] == 5
    download = await client.get(listed[0]["url"])  # the signed URL needs no bearer token
    assert download.status_code == 200
    assert download.content == b"alpha"
    events = (await client.get(f"/v1/casts/{cast['id']}/events", headers=maker.headers)).text
    assert '"artifacts": 2' in events


async def test_a_tampered_or_stale_url_is_refused(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker, cast = await _cast_with_files(client, platform, tmp_path)
    url = (await client.get(f"/v1/casts/{cast['id']}/artifacts", headers=maker.headers)).json()["items"][0][
        "url"
    ]
    tampered = await client.get(url[:-4] + "0000")
    assert tampered.status_code == 401
    artifact_id = url.split("/")[-1].split("?")[0]
    past = int((utcnow() - timedelta(minutes=1)).timestamp())
    stale = await client.get(
        f"/v1/artifacts/{artifact_id}?expires={past}&sig={platform.artifacts.sign(artifact_id, past)}"
    )
    assert stale.status_code == 401
    ghost_query = platform.artifacts.download_query("art_ghost")
    ghost = await client.get(f"/v1/artifacts/art_ghost?{ghost_query}")
    assert ghost.json()["error"]["code"] == "ARTIFACT_NOT_FOUND"


async def test_an_expired_artifact_is_gone(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker, cast = await _cast_with_files(client, platform, tmp_path)
    url = (await client.get(f"/v1/casts/{cast['id']}/artifacts", headers=maker.headers)).json()["items"][0][
        "url"
    ]
    with platform.db.unit_of_work() as uow:
        for row in uow.session.query(Artifact).all():
            row.expires_at = utcnow() - timedelta(seconds=1)
    response = await client.get(url)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "ARTIFACT_EXPIRED"


async def test_identical_files_are_stored_once(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker, _ = await _cast_with_files(client, platform, tmp_path)
    await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**maker.headers, "Idempotency-Key": "again", "Prefer": "wait=10"},
        json={"input": {"files": {"c.txt": "alpha"}}},
    )
    store = platform.artifacts.blobs
    assert isinstance(store, LocalBlobStore)
    # artifacts live under sha256/ (bundle archives beside them, under bundles/)
    blobs = [p for p in (store.root / "sha256").rglob("*") if p.is_file()]
    assert len(blobs) == 2


async def test_another_tenant_cannot_list_a_casts_artifacts(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    _, cast = await _cast_with_files(client, platform, tmp_path)
    other = seed_user(platform, "o@example.com", ["caster"])
    response = await client.get(f"/v1/casts/{cast['id']}/artifacts", headers=other.headers)
    assert response.json()["error"]["code"] == "CAST_NOT_FOUND"


async def test_a_wasm_spell_that_writes_a_file_yields_a_downloadable_artifact(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path, wasm_runtime: WasmRuntime
) -> None:
    platform.runner.runtimes = {"wasm": wasm_runtime}  # the real sandbox, not the file-writing double
    maker = await seed_maker(client, platform)
    wat = (Path(__file__).resolve().parents[1] / "assets" / "wasm" / "open_path.wat").read_text(
        encoding="utf-8"
    )
    await publish(
        client, maker, tmp_path, spell_id="acme/writer", wat=wat, schema={"type": "string"}, fs_write=("out",)
    )
    cast = (
        await client.post(
            "/v1/spells/acme/writer/cast",
            json={"input": "w:report.txt"},
            headers={**maker.headers, "Idempotency-Key": "w", "Prefer": "wait=10"},
        )
    ).json()
    assert cast["status"] == "succeeded", cast
    listed = (await client.get(f"/v1/casts/{cast['id']}/artifacts", headers=maker.headers)).json()["items"]
    assert [a["name"] for a in listed] == ["out/report.txt"]
    assert (await client.get(listed[0]["url"])).content == b"x"
    assert not (platform.runner.work_dir / cast["id"]).exists()  # the scratch folder is gone after the cast
