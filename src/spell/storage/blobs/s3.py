"""Blobs in an S3 bucket (AWS or any S3-compatible server), handed out through presigned GET URLs.

Keys are ``<prefix>/sha256/<ab>/<hex>``, as on disk. Credentials come from boto3's own chain (the
``AWS_*`` variables, a profile, an instance role) and are never read or logged here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import boto3
from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from spell.errors import BlobNotFound, BlobStoreUnavailable
from spell.storage.blobs import check_digest

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["S3BlobStore"]

# SigV4 presigned URLs cannot live longer than a week.
_MAX_PRESIGN = timedelta(days=7)
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


class S3BlobStore:
    """Content-addressed objects in one bucket under one key prefix."""

    def __init__(self, client: S3Client, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    @classmethod
    def connect(
        cls,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        path_style: bool = False,
    ) -> S3BlobStore:
        """A store on ``bucket``, once the bucket answers (a missing or forbidden one is refused now)."""
        config = Config(
            signature_version="s3v4",
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": "path" if path_style else "auto"},
        )
        client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None, config=config
        )
        store = cls(client, bucket, prefix)
        store.check()
        return store

    def check(self) -> None:
        """``BLOB_STORE_UNAVAILABLE`` unless the bucket exists and these credentials may use it."""
        where = {"variable": "SPELL_BLOB_URL", "bucket": self.bucket}
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except NoCredentialsError:
            raise BlobStoreUnavailable(
                f"SPELL_BLOB_URL: no AWS credentials to reach bucket {self.bucket!r}",
                details=where,
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE",
            ) from None
        except ClientError as exc:
            status = _code(exc)
            if status in _MISSING or status == "NoSuchBucket":
                raise BlobStoreUnavailable(
                    f"SPELL_BLOB_URL: bucket {self.bucket!r} does not exist",
                    details=where,
                    hint="create the bucket, or fix SPELL_BLOB_URL (and SPELL_BLOB_S3_ENDPOINT_URL)",
                ) from None
            raise BlobStoreUnavailable(
                f"SPELL_BLOB_URL: bucket {self.bucket!r} refused access ({status})", details=where
            ) from None
        except BotoCoreError as exc:
            raise BlobStoreUnavailable(
                f"SPELL_BLOB_URL: cannot reach bucket {self.bucket!r}: {exc}", details=where
            ) from None

    def key_of(self, sha256_hex: str) -> str:
        """The object key of a blob (whether or not it exists)."""
        check_digest(sha256_hex)
        key = f"sha256/{sha256_hex[:2]}/{sha256_hex}"
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_file(self, source: Path) -> tuple[str, int]:
        """Upload a file (multipart when large); return its SHA-256 hex and size."""
        hasher = hashlib.sha256()
        size = 0
        with source.open("rb") as src:
            while chunk := src.read(1 << 20):
                hasher.update(chunk)
                size += len(chunk)
        digest = hasher.hexdigest()
        # Same key, same bytes; uploading again anyway renews the object's last-modified time, which
        # keeps a bucket lifecycle rule on age from deleting bytes a newer artifact still uses.
        with self._failures(digest):
            self.client.upload_file(str(source), self.bucket, self.key_of(digest))
        return digest, size

    def put_bundle(self, digest_hex: str, data: bytes) -> None:
        """Keep a published bundle's archive under its bundle digest (apart from the artifacts)."""
        with self._failures(digest_hex):
            self.client.put_object(Bucket=self.bucket, Key=self._bundle_key(digest_hex), Body=data)

    def read_bundle(self, digest_hex: str) -> bytes:
        """A published bundle's archive; its reader checks the digest, the store does not."""
        with self._failures(digest_hex):
            return self.client.get_object(Bucket=self.bucket, Key=self._bundle_key(digest_hex))["Body"].read()

    def _bundle_key(self, digest_hex: str) -> str:
        check_digest(digest_hex)
        key = f"bundles/{digest_hex[:2]}/{digest_hex}"
        return f"{self.prefix}/{key}" if self.prefix else key

    def read(self, sha256_hex: str) -> bytes:
        """A blob's bytes."""
        with self._failures(sha256_hex):
            return self.client.get_object(Bucket=self.bucket, Key=self.key_of(sha256_hex))["Body"].read()

    def exists(self, sha256_hex: str) -> bool:
        """Whether a blob is stored."""
        try:
            with self._failures(sha256_hex):
                self.client.head_object(Bucket=self.bucket, Key=self.key_of(sha256_hex))
        except BlobNotFound:
            return False
        return True

    def delete(self, sha256_hex: str) -> None:
        """Remove a blob; S3 answers a missing key's delete as done."""
        with self._failures(sha256_hex):
            self.client.delete_object(Bucket=self.bucket, Key=self.key_of(sha256_hex))

    def link(self, sha256_hex: str, *, filename: str, media_type: str, expires_in: timedelta) -> str:
        """A presigned GET URL valid for ``expires_in`` (at least a second, at most a week), which
        names the file and its type the way the API's own download does."""
        seconds = max(1, int(min(expires_in, _MAX_PRESIGN).total_seconds()))
        params = {
            "Bucket": self.bucket,
            "Key": self.key_of(sha256_hex),
            "ResponseContentType": media_type,
            "ResponseContentDisposition": f"attachment; filename*=UTF-8''{quote(filename, safe='')}",
        }
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)

    @contextmanager
    def _failures(self, sha256_hex: str) -> Iterator[None]:
        """boto3's failures as the catalog's: a missing key, or a store that cannot serve."""
        try:
            yield
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise BlobNotFound(f"no blob sha256:{sha256_hex}", details={"sha256": sha256_hex}) from None
            raise self._unavailable(exc) from exc
        except (BotoCoreError, Boto3Error) as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: Exception) -> BlobStoreUnavailable:
        return BlobStoreUnavailable(
            f"the artifact bucket {self.bucket!r} failed: {exc}", details={"bucket": self.bucket}
        )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
