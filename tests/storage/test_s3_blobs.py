"""The S3 blob store against an S3-compatible server: the local store's behaviour, keys under the
prefix, presigned URLs that fetch the bytes, and a store that cannot be used refused at start."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from spell.config.server import ServerSettings
from spell.errors import BlobNotFound, BlobStoreUnavailable, InvalidInput
from spell.storage.blobs import BlobStore, blob_store
from spell.storage.blobs.local import LocalBlobStore
from spell.storage.blobs.s3 import S3BlobStore
from tests.fixtures.s3 import S3Bucket

GHOST = "0" * 64


def _settings(tmp_path: Path, **overrides: object) -> ServerSettings:
    return ServerSettings.for_home(tmp_path / "home", **overrides)


def _s3(tmp_path: Path, bucket: S3Bucket) -> S3BlobStore:
    store = blob_store(_settings(tmp_path, blob_url=bucket.url, blob_s3_endpoint_url=bucket.endpoint_url))
    assert isinstance(store, S3BlobStore)
    return store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return blob_store(_settings(tmp_path))
    return _s3(tmp_path, request.getfixturevalue("s3_bucket"))


def test_without_a_blob_url_blobs_are_files_under_the_data_dir(tmp_path: Path) -> None:
    store = blob_store(_settings(tmp_path))
    assert isinstance(store, LocalBlobStore)
    assert store.root == tmp_path / "home" / "server" / "blobs"


def test_put_read_exists_delete_round_trip(store: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "report.txt"
    source.write_bytes(b"hello blobs")
    sha, size = store.put_file(source)
    assert (sha, size) == (hashlib.sha256(b"hello blobs").hexdigest(), 11)
    assert store.exists(sha)
    assert store.read(sha) == b"hello blobs"
    assert store.put_file(source) == (sha, size)  # the same bytes again: the same blob
    store.delete(sha)
    assert not store.exists(sha)
    with pytest.raises(BlobNotFound):
        store.read(sha)
    store.delete(sha)  # already gone: fine


def test_a_missing_blob_is_blob_not_found(store: BlobStore) -> None:
    assert not store.exists(GHOST)
    with pytest.raises(BlobNotFound) as missing:
        store.read(GHOST)
    assert missing.value.code == "BLOB_NOT_FOUND"
    assert missing.value.details == {"sha256": GHOST}


def test_a_key_is_only_ever_a_digest(store: BlobStore) -> None:
    for bad in ("../../etc/passwd", "A" * 64, "0" * 63):
        with pytest.raises(ValueError, match="sha256"):
            store.exists(bad)


def test_objects_live_under_the_prefix_of_the_blob_url(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"\x00\x01")
    sha, _ = _s3(tmp_path, s3_bucket).put_file(source)
    keys = [item["Key"] for item in s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name)["Contents"]]
    assert keys == [f"artifacts/sha256/{sha[:2]}/{sha}"]


def test_a_presigned_link_fetches_the_bytes_for_its_time_only(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    source = tmp_path / "out.csv"
    source.write_bytes(b"a,b\n1,2\n")
    store = _s3(tmp_path, s3_bucket)
    sha, _ = store.put_file(source)
    url = store.link(sha, filename="out é.csv", media_type="text/csv", expires_in=timedelta(seconds=90))
    assert url.startswith(f"{s3_bucket.endpoint_url}/")
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["90"]
    assert "X-Amz-Signature" in query
    fetched = httpx.get(url)
    assert fetched.status_code == 200
    assert fetched.content == b"a,b\n1,2\n"
    assert fetched.headers["content-type"] == "text/csv"
    assert fetched.headers["content-disposition"] == "attachment; filename*=UTF-8''out%20%C3%A9.csv"
    tampered = url.replace(f"/{sha}", f"/{GHOST}")
    assert httpx.get(tampered).status_code == 403  # the signature covers the key


def test_a_link_lives_a_second_at_least_and_a_week_at_most(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    store = _s3(tmp_path, s3_bucket)

    def expires(delta: timedelta) -> str:
        url = store.link(GHOST, filename="x", media_type="text/plain", expires_in=delta)
        return parse_qs(urlsplit(url).query)["X-Amz-Expires"][0]

    assert expires(timedelta(milliseconds=10)) == "1"
    assert expires(timedelta(days=30)) == str(7 * 24 * 3600)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://bucket/prefix", "must be an s3://bucket[/prefix] URL"),
        ("bucket/prefix", "must be an s3://bucket[/prefix] URL"),
        ("s3://", "names no bucket"),
        ("s3:///prefix", "names no bucket"),
        ("s3://AKIA:secret@bucket/prefix", "must not carry credentials"),
    ],
)
def test_a_bad_blob_url_is_refused_naming_the_variable(tmp_path: Path, url: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as from_env:
        ServerSettings.from_env({"SPELL_HOME": str(tmp_path), "SPELL_BLOB_URL": url})
    assert from_env.value.message.startswith("SPELL_BLOB_URL: ")
    assert reason in from_env.value.message
    assert from_env.value.details == {"variable": "SPELL_BLOB_URL"}
    # Settings built in code are checked when the store is made
    with pytest.raises(InvalidInput) as built:
        blob_store(_settings(tmp_path, blob_url=url))
    assert built.value.message.startswith("SPELL_BLOB_URL: ")
    assert reason in built.value.message


def test_the_s3_settings_are_read_from_the_environment(tmp_path: Path) -> None:
    settings = ServerSettings.from_env(
        {
            "SPELL_HOME": str(tmp_path),
            "SPELL_BLOB_URL": "s3://spell-artifacts/prod/",
            "SPELL_BLOB_S3_ENDPOINT_URL": "http://minio.internal:9000",
            "SPELL_BLOB_S3_REGION": "eu-west-3",
            "SPELL_BLOB_S3_PATH_STYLE": "true",
        }
    )
    assert settings.blob_url == "s3://spell-artifacts/prod/"
    assert settings.blob_s3_endpoint_url == "http://minio.internal:9000"
    assert settings.blob_s3_region == "eu-west-3"
    assert settings.blob_s3_path_style is True


def test_a_missing_bucket_is_refused_at_start(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    settings = _settings(
        tmp_path, blob_url="s3://no-such-bucket/artifacts", blob_s3_endpoint_url=s3_bucket.endpoint_url
    )
    with pytest.raises(BlobStoreUnavailable) as refused:
        blob_store(settings)
    assert refused.value.message == "SPELL_BLOB_URL: bucket 'no-such-bucket' does not exist"
    assert refused.value.details == {"variable": "SPELL_BLOB_URL", "bucket": "no-such-bucket"}
    assert refused.value.status_code == 503


def test_an_unreachable_endpoint_is_refused_at_start(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    closed = replace(
        _settings(tmp_path, blob_url=s3_bucket.url),
        blob_s3_endpoint_url="http://127.0.0.1:9",  # discard: nothing listens
    )
    with pytest.raises(BlobStoreUnavailable, match=r"^SPELL_BLOB_URL: cannot reach bucket 'spell-test-"):
        blob_store(closed)


def test_no_credentials_are_refused_at_start(
    tmp_path: Path, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(BlobStoreUnavailable, match="no AWS credentials") as refused:
        _s3(tmp_path, s3_bucket)
    assert refused.value.hint == "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"


def test_a_store_whose_bucket_went_away_fails_as_unavailable(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    store = _s3(tmp_path, s3_bucket)
    s3_bucket.client.delete_bucket(Bucket=s3_bucket.name)
    source = tmp_path / "late.txt"
    source.write_bytes(b"late")
    with pytest.raises(BlobStoreUnavailable, match="the artifact bucket 'spell-test-"):
        store.put_file(source)
    with pytest.raises(BlobStoreUnavailable):
        store.read(GHOST)
    with pytest.raises(BlobStoreUnavailable):
        store.delete(GHOST)


def test_storing_the_same_bytes_again_renews_the_object(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    # A lifecycle rule on age then never deletes bytes that a newer artifact still uses.
    store = _s3(tmp_path, s3_bucket)
    source = tmp_path / "same.txt"
    source.write_bytes(b"same")
    sha, _ = store.put_file(source)
    key = store.key_of(sha)
    first = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=key)["LastModified"]
    time.sleep(1.1)  # S3 keeps whole seconds
    store.put_file(source)
    assert s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=key)["LastModified"] > first


def test_a_local_link_to_a_missing_blob_is_blob_not_found(tmp_path: Path) -> None:
    store = blob_store(_settings(tmp_path))
    source = tmp_path / "gone.txt"
    source.write_bytes(b"gone")
    sha, _ = store.put_file(source)
    assert store.link(sha, filename="gone.txt", media_type="text/plain", expires_in=timedelta(1)) == (
        tmp_path / "home" / "server" / "blobs" / "sha256" / sha[:2] / sha
    )
    store.delete(sha)
    with pytest.raises(BlobNotFound):
        store.link(sha, filename="gone.txt", media_type="text/plain", expires_in=timedelta(1))
