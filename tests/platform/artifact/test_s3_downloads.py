"""A platform keeping artifacts in S3: the listed URL is still the API's signed one, checked by the
API (401, 410 as with files), which then redirects to a presigned URL of the bucket that ends no later
than the artifact; the SDK follows it."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from spell.api.app import create_app
from spell.client import AsyncClient
from spell.config.server import ServerSettings
from spell.kit.time import utcnow
from spell.models import Artifact
from spell.platform.server import Platform
from spell.storage.blobs.s3 import S3BlobStore
from spell.storage.session import Database
from spell.testing.runtimes import FileWritingRuntime
from tests.fixtures.s3 import S3Bucket
from tests.fixtures.server import Caller, publish, seed_maker, started_platform

pytestmark = pytest.mark.anyio


@pytest.fixture
def s3_settings(server_settings: ServerSettings, s3_bucket: S3Bucket) -> ServerSettings:
    return replace(server_settings, blob_url=s3_bucket.url, blob_s3_endpoint_url=s3_bucket.endpoint_url)


@pytest.fixture
def s3_platform(s3_settings: ServerSettings, database: Database, tmp_path: Path) -> Iterator[Platform]:
    yield from started_platform(s3_settings, database, {"wasm": FileWritingRuntime(tmp_path / "scratch")})


@pytest.fixture
async def s3_client(s3_platform: Platform, s3_settings: ServerSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(s3_settings, platform=s3_platform, manage=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://spell.test"
    ) as http:
        yield http


async def _listed(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> tuple[Caller, str, list[Any]]:
    maker = await seed_maker(client, platform)
    await publish(client, maker, tmp_path, schema={"type": "object"})
    cast = await client.post(
        "/v1/spells/acme/hello/cast",
        headers={**maker.headers, "Idempotency-Key": "files", "Prefer": "wait=10"},
        json={"input": {"files": {"a.txt": "alpha", "b.txt": "beta"}}},
    )
    assert cast.json()["status"] == "succeeded", cast.text
    listed = await client.get(f"/v1/casts/{cast.json()['id']}/artifacts", headers=maker.headers)
    return maker, cast.json()["id"], listed.json()["items"]


async def test_artifacts_are_stored_in_the_bucket_and_downloaded_through_presigned_urls(
    s3_client: httpx.AsyncClient, s3_platform: Platform, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    assert isinstance(s3_platform.artifacts.blobs, S3BlobStore)
    _, _, listed = await _listed(s3_client, s3_platform, tmp_path)
    assert [item["name"] for item in listed] == ["a.txt", "b.txt"]
    keys = {
        item["Key"]
        for item in s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name, Prefix="artifacts/sha256/")[
            "Contents"
        ]
    }
    assert keys == {f"artifacts/sha256/{item['sha256'][:2]}/{item['sha256']}" for item in listed}
    for item, content in zip(listed, (b"alpha", b"beta"), strict=True):
        assert item["url"].startswith(f"/v1/artifacts/{item['id']}?expires=")  # the API's own, as before
        redirect = await s3_client.get(item["url"])
        assert redirect.status_code == 302
        presigned = redirect.headers["location"]
        assert presigned.startswith(f"{s3_bucket.endpoint_url}/")
        fetched = httpx.get(presigned)
        assert fetched.status_code == 200
        assert fetched.content == content
        assert hashlib.sha256(fetched.content).hexdigest() == item["sha256"]
        assert fetched.headers["content-type"] == "text/plain"


async def test_a_presigned_url_ends_with_the_download_url_or_the_artifact(
    s3_client: httpx.AsyncClient, s3_platform: Platform, tmp_path: Path
) -> None:
    _, _, listed = await _listed(s3_client, s3_platform, tmp_path)

    async def presigned_expiry() -> int:
        location = (await s3_client.get(listed[0]["url"])).headers["location"]
        return int(parse_qs(urlsplit(location).query)["X-Amz-Expires"][0])

    assert await presigned_expiry() == s3_platform.settings.artifact_url_ttl_seconds
    with s3_platform.db.unit_of_work() as uow:
        for row in uow.session.query(Artifact).all():
            row.expires_at = utcnow() + timedelta(seconds=30)
    assert 1 <= await presigned_expiry() <= 30


async def test_an_expired_artifact_is_gone_before_any_presigned_url_is_made(
    s3_client: httpx.AsyncClient, s3_platform: Platform, tmp_path: Path
) -> None:
    _, _, listed = await _listed(s3_client, s3_platform, tmp_path)
    with s3_platform.db.unit_of_work() as uow:
        for row in uow.session.query(Artifact).all():
            row.expires_at = utcnow() - timedelta(seconds=1)
    response = await s3_client.get(listed[0]["url"])
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "ARTIFACT_EXPIRED"
    assert "location" not in response.headers
    tampered = await s3_client.get(listed[1]["url"][:-4] + "0000")
    assert tampered.status_code == 401


async def test_a_deleted_blob_is_no_longer_served_from_the_bucket(
    s3_client: httpx.AsyncClient, s3_platform: Platform, tmp_path: Path
) -> None:
    _, _, listed = await _listed(s3_client, s3_platform, tmp_path)
    presigned = (await s3_client.get(listed[0]["url"])).headers["location"]
    assert httpx.get(presigned).content == b"alpha"
    s3_platform.artifacts.blobs.delete(listed[0]["sha256"])
    assert not s3_platform.artifacts.blobs.exists(listed[0]["sha256"])
    # S3 answers a missing key 403 to whoever may not list the bucket, 404 to whoever may
    assert httpx.get(presigned).status_code in (403, 404)


class _Routed(httpx.AsyncBaseTransport):
    """The app for the API's host, the network (the test S3 server) for the rest."""

    def __init__(self, app: httpx.AsyncBaseTransport) -> None:
        self.app = app
        self.network = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "spell.test":
            return await self.app.handle_async_request(request)
        # The bearer token of the API never travels to the bucket with the redirect.
        assert "authorization" not in request.headers
        return await self.network.handle_async_request(request)

    async def aclose(self) -> None:
        await self.network.aclose()


async def test_the_sdk_follows_the_redirect_to_the_bucket(
    s3_client: httpx.AsyncClient, s3_platform: Platform, s3_settings: ServerSettings, tmp_path: Path
) -> None:
    maker, cast_id, _ = await _listed(s3_client, s3_platform, tmp_path)
    app = create_app(s3_settings, platform=s3_platform, manage=False)
    transport = _Routed(httpx.ASGITransport(app=app))
    async with AsyncClient("http://spell.test", maker.token, transport=transport) as sdk:
        listing = await sdk.casts.artifacts(cast_id)
        assert [await sdk.artifacts.download(item) for item in listing.items] == [b"alpha", b"beta"]
