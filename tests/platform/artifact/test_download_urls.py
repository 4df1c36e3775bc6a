"""Artifact download URLs: signed for one artifact and one expiry under the server's secret, refused
when tampered with, another artifact's, or past their time, before anything is looked up."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from spell.errors import AuthError
from spell.platform.artifact.errors import ArtifactNotFound
from spell.platform.artifact.service import ArtifactService
from spell.storage.blobs.local import LocalBlobStore
from spell.storage.session import Database

SECRET = "artifact-secret"


def _service(root: Path, secret: str = SECRET) -> ArtifactService:
    return ArtifactService(LocalBlobStore(root), secret, ttl=timedelta(days=1), url_ttl=timedelta(minutes=5))


def _expires_and_sig(query: str) -> tuple[int, str]:
    fields = parse_qs(query, strict_parsing=True)
    return int(fields["expires"][0]), fields["sig"][0]


def test_a_signature_covers_the_artifact_the_expiry_and_the_server_secret(tmp_path: Path) -> None:
    artifacts = _service(tmp_path)
    expires, sig = _expires_and_sig(artifacts.download_query("art_1"))
    assert 0 < expires - time.time() <= 5 * 60
    assert sig == artifacts.sign("art_1", expires)
    assert artifacts.sign("art_2", expires) != sig
    assert artifacts.sign("art_1", expires + 1) != sig
    assert _service(tmp_path, "another-secret").sign("art_1", expires) != sig


def test_a_tampered_foreign_or_stale_url_is_refused(tmp_path: Path, rolled_back_database: Database) -> None:
    artifacts = _service(tmp_path)
    expires, sig = _expires_and_sig(artifacts.download_query("art_1"))
    flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    past = int(time.time()) - 60
    refused = [
        ("art_1", expires, flipped),
        ("art_1", expires, "é" * len(sig)),  # not even ASCII
        ("art_2", expires, sig),  # another artifact's URL
        ("art_1", expires + 60, sig),  # a later expiry written in by hand
        ("art_1", past, artifacts.sign("art_1", past)),  # signed, but its time is over
    ]
    with rolled_back_database.unit_of_work(write=False) as uow:
        for artifact_id, when, signature in refused:
            with pytest.raises(AuthError) as error:
                artifacts.open_signed(uow, artifact_id, when, signature)
            assert error.value.code == "UNAUTHORIZED"


def test_a_valid_url_of_an_unknown_artifact_is_not_found(
    tmp_path: Path, rolled_back_database: Database
) -> None:
    artifacts = _service(tmp_path)
    expires, sig = _expires_and_sig(artifacts.download_query("art_ghost"))
    with rolled_back_database.unit_of_work(write=False) as uow, pytest.raises(ArtifactNotFound) as missing:
        artifacts.open_signed(uow, "art_ghost", expires, sig)
    assert missing.value.code == "ARTIFACT_NOT_FOUND"
    assert missing.value.details == {"artifact_id": "art_ghost"}
