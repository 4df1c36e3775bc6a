"""A step can write the cast's workspace; nothing it writes there may steer what the runtime does
as the server's user: http definitions come from the signed bundle, step files must stay inside."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.runtimes.host.bundles import cast, make_bundle
from tests.runtimes.host.test_http_step import LOOPBACK, _Handler, server

__all__ = ["server"]  # the fixture, imported for these tests


def test_a_step_cannot_change_the_request_a_later_http_step_sends(tmp_path: Path, server: str) -> None:
    swapped = json.dumps({"method": "GET", "url": f"{server}/status/500"})
    bundle = make_bundle(
        tmp_path / "b",
        [
            {"uses": "shell", "name": "swap", "run": "steps/swap.sh"},
            {"uses": "http", "name": "call", "run": "steps/call.json", "depends_on": ["swap"]},
        ],
        {
            "steps/swap.sh": f"#!/bin/sh\nprintf '%s' '{swapped}' > steps/call.json\n",
            "steps/call.json": json.dumps({"method": "GET", "url": f"{server}/signed"}),
        },
    )

    result = cast(bundle, settings=LOOPBACK)  # the test server listens on 127.0.0.1

    assert result.outcome == "SUCCEEDED", result.message
    assert [r["path"] for r in _Handler.received] == ["/signed"]


@pytest.mark.parametrize(
    "swap",
    [
        "rm steps/b.sh; ln -s {outside} steps/b.sh",
        "mkdir -p x; mv steps/* x/; rmdir steps; ln -s {outside_dir} steps",
    ],
)
def test_a_link_planted_by_a_step_is_not_followed_out_of_the_workspace(tmp_path: Path, swap: str) -> None:
    outside = tmp_path / "host" / "b.sh"
    outside.parent.mkdir()
    outside.write_text("#!/bin/sh\necho escaped\n")
    outside.chmod(0o644)
    bundle = make_bundle(
        tmp_path / "b",
        [
            {"uses": "shell", "name": "a", "run": "steps/a.sh"},
            {"uses": "shell", "name": "b", "run": "steps/b.sh", "depends_on": ["a"]},
        ],
        {
            "steps/a.sh": "#!/bin/sh\n" + swap.format(outside=outside, outside_dir=outside.parent) + "\n",
            "steps/b.sh": "#!/bin/sh\necho signed\n",
        },
    )

    result = cast(bundle)

    assert result.outcome == "FAILED"
    assert "step file not found" in result.message
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
