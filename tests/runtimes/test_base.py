"""The runtime contract: ``run(request)``, with the cancel signal and the sinks on the request."""

from __future__ import annotations

import inspect
import threading
from pathlib import Path

import pytest

from spell.bundle.loaders import load_manifest
from spell.runtimes.base import CastRequest, Outcome, Runtime
from spell.runtimes.docker import DockerRuntime
from spell.runtimes.host import HostRuntime
from spell.runtimes.wasm import WasmRuntime
from spell.testing.runtimes import FileWritingRuntime
from tests.runtimes.host.bundles import make_bundle


@pytest.mark.parametrize("runtime", [WasmRuntime, HostRuntime, DockerRuntime, FileWritingRuntime])
def test_every_runtime_takes_the_request_and_nothing_else(runtime: type[Runtime]) -> None:
    assert list(inspect.signature(runtime.run).parameters) == ["self", "request"]


def test_a_cancel_set_on_the_request_ends_a_host_cast_before_its_step_runs(tmp_path: Path) -> None:
    started = tmp_path / "started"
    steps = [{"uses": "shell", "name": "main", "run": "steps/main.sh"}]
    bundle = make_bundle(tmp_path / "b", steps, {"steps/main.sh": f"#!/bin/sh\ntouch {started}\n"})
    cancel = threading.Event()
    cancel.set()
    events: list[tuple[str, str]] = []
    request = CastRequest(
        bundle_dir=bundle,
        manifest=load_manifest(bundle),
        input={},
        cancel=cancel,
        progress=lambda event, step, _detail: events.append((event, step)),
    )
    result = HostRuntime().run(request)
    assert result.outcome is Outcome.CANCELED
    assert not started.exists()  # the step never ran
    assert events[-1] == ("failed", "main")  # and the request's progress sink heard of it
