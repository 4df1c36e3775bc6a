"""Publishing a host spell whose step runs a file outside ``steps/`` is refused: that file is not
covered by the signature, so what ran could differ from what the maker signed."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from spell.config.server import ServerSettings
from spell.platform.server import Platform
from tests.bundle.factories import make_host_bundle, sign_steps_only
from tests.fixtures.bundles import archive_of
from tests.fixtures.server import seed_maker

pytestmark = pytest.mark.anyio


@pytest.fixture
def server_settings(tmp_path: Path, database_url: str) -> ServerSettings:
    return ServerSettings.for_home(
        tmp_path / "home", database_url=database_url, secret_key="s", allow_host_runtime=True
    )


async def test_publishing_a_step_file_outside_steps_is_an_invalid_manifest(
    client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> None:
    maker = await seed_maker(client, platform)
    assert maker.publisher is not None
    bundle = make_host_bundle(
        tmp_path / "b", spell_id="acme/tool", files={"bin/tool": "#!/bin/sh\necho ok\n"}
    )
    manifest = bundle / "spell.yaml"
    manifest.write_text(manifest.read_text().replace("run: steps/hello.sh", "run: bin/tool"))
    sign_steps_only(bundle, maker.publisher.private_key, key_id=maker.publisher.key_id)

    response = await client.post("/v1/spells", headers=maker.headers, content=archive_of(bundle))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_MANIFEST"
    assert "bin/tool" in response.json()["error"]["message"]
    listed = await client.get("/v1/spells/acme/tool", headers=maker.headers)
    assert listed.json()["error"]["code"] == "SPELL_NOT_FOUND"
