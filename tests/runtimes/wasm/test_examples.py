"""The example spells: they cast with their demo input and their signatures are current."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spell.bundle.digest import bundle_digest
from spell.bundle.loaders import load_manifest
from spell.runtimes.base import CastRequest, Outcome
from spell.runtimes.wasm import WasmRuntime
from tests.runtimes.wasm.https_server import fake_https, reaching

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "spells"
NAMES = ["hello-wasm", "word-count-c", "dict-lookup-rust", "egress-wasm"]


@pytest.fixture(scope="module")
def example_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WasmRuntime]:
    with fake_https(tmp_path_factory.mktemp("tls")) as server:
        runtime = WasmRuntime(egress=reaching(server.port, server.client_context))
        yield runtime
        runtime.close()


def _cast(runtime: WasmRuntime, name: str, payload: Any = None) -> Any:
    folder = EXAMPLES / name
    if payload is None:
        payload = json.loads((folder / "demo-input.json").read_text(encoding="utf-8"))
    result = runtime.run(CastRequest(bundle_dir=folder, manifest=load_manifest(folder), input=payload))
    assert result.outcome is Outcome.SUCCEEDED, (result.message, result.stderr)
    return result.output


def test_hello_wasm_greets(example_runtime: WasmRuntime) -> None:
    assert _cast(example_runtime, "hello-wasm") == {"greeting": "hello", "input": {"name": "world"}}


def test_word_count_c_counts_like_wc(example_runtime: WasmRuntime) -> None:
    assert _cast(example_runtime, "word-count-c") == {"lines": 2, "words": 9, "chars": 44}
    assert _cast(example_runtime, "word-count-c", {"text": "é\ta b\n"}) == {
        "lines": 1,
        "words": 3,
        "chars": 6,
    }


def test_dict_lookup_rust_reads_its_resources(example_runtime: WasmRuntime) -> None:
    output = _cast(example_runtime, "dict-lookup-rust")
    assert output["word"] == "grimoire"
    assert output["definition"].startswith("a book of spells")
    assert _cast(example_runtime, "dict-lookup-rust", {"word": "Nope"}) == {
        "word": "nope",
        "definition": None,
    }


def test_egress_wasm_fetches_an_allowed_host(example_runtime: WasmRuntime) -> None:
    output = _cast(example_runtime, "egress-wasm")
    assert output["status"] == 200
    assert output["body"] == "hi from example.com"


@pytest.mark.parametrize("name", NAMES)
def test_each_example_is_signed_over_its_current_files(name: str) -> None:
    folder = EXAMPLES / name
    signature = json.loads((folder / "spell.sig.json").read_text(encoding="utf-8"))
    assert signature["publisher"] == "samples"
    assert signature["digest"]["value"] == bundle_digest(folder, load_manifest(folder)).hex


def _run(runtime: WasmRuntime, name: str, payload: Any) -> Any:
    folder = EXAMPLES / name
    return runtime.run(CastRequest(bundle_dir=folder, manifest=load_manifest(folder), input=payload))


def test_egress_wasm_fails_the_cast_when_the_request_fails() -> None:
    with socket.socket() as probe:  # a port nothing listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    runtime = WasmRuntime(egress=reaching(closed_port))
    try:
        result = _run(runtime, "egress-wasm", {"url": "https://example.com/"})
    finally:
        runtime.close()
    assert result.outcome is Outcome.FAILED
    assert result.exit_code == 1
    assert "NETWORK_ERROR" in result.message
    assert result.output is None
    assert result.usage.network_requests == 1


def test_egress_wasm_to_an_unlisted_host_is_a_policy_violation(example_runtime: WasmRuntime) -> None:
    result = _run(example_runtime, "egress-wasm", {"url": "https://evil.example.org/"})
    assert result.outcome is Outcome.POLICY_VIOLATION
    assert result.violations[0]["reason"] == "host_not_allowed"
    assert '"EGRESS_DENIED"' in result.stderr
    assert result.usage.network_requests == 0
