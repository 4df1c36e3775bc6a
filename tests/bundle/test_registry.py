from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from spell.bundle.registry import (
    RegistryEntry,
    RegistryIndex,
    add_index,
    fetch_index,
    load_registry_config,
    parse_index,
    parse_registry_config,
    read_registry_config,
    remove_index,
    resolve_entry,
    set_default_index,
)
from spell.errors import SpellError

INDEX = {
    "version": "v1",
    "spells": [{"id": "acme/hello", "version": "1.0.0", "source": "https://x/r.git#v1"}],
}


def _code(exc: pytest.ExceptionInfo[SpellError]) -> str:
    return exc.value.code


def test_set_add_and_remove_indexes(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    assert read_registry_config(path) is None
    set_default_index(path, " https://registry.example.test/spell-index.v1.json ")
    add_index(path, "mirror", "https://mirror.example.test/index.json")
    config = load_registry_config(path)
    assert [(i.name, i.url) for i in config.indexes] == [
        ("default", "https://registry.example.test/spell-index.v1.json"),
        ("mirror", "https://mirror.example.test/index.json"),
    ]
    assert json.loads(path.read_text())["version"] == "v1"
    remove_index(path, "mirror")
    assert [i.name for i in load_registry_config(path).indexes] == ["default"]


def test_index_management_refusals(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    with pytest.raises(SpellError) as not_configured:
        add_index(path, "mirror", "https://m.example.test/i.json")
    assert _code(not_configured) == "REGISTRY_NOT_FOUND"
    set_default_index(path, "https://r.example.test/i.json")
    before = path.read_bytes()
    with pytest.raises(SpellError) as duplicate:
        add_index(path, "default", "https://m.example.test/i.json")
    assert _code(duplicate) == "ALREADY_EXISTS"
    with pytest.raises(SpellError) as default:
        remove_index(path, "default")
    assert _code(default) == "VALIDATION_ERROR"
    with pytest.raises(SpellError) as unknown:
        remove_index(path, "nope")
    assert _code(unknown) == "REGISTRY_NOT_FOUND"
    with pytest.raises(SpellError) as blank:
        add_index(path, "  ", "https://m.example.test/i.json")
    assert _code(blank) == "VALIDATION_ERROR"
    with pytest.raises(SpellError) as bad_url:
        add_index(path, "m", "ftp://m.example.test/i.json")
    assert _code(bad_url) == "INVALID_REGISTRY"
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "document",
    [
        "{nope",
        json.dumps({"version": "v2", "indexes": [{"name": "default", "url": "https://a.test/i.json"}]}),
        json.dumps({"version": "v1", "indexes": []}),
        json.dumps({"version": "v1", "indexes": [{"name": "a", "url": "https://a.test/", "x": 1}]}),
        json.dumps(
            {
                "version": "v1",
                "indexes": [{"name": "a", "url": "https://a.test/"}, {"name": "a", "url": "https://b.test/"}],
            }
        ),
    ],
)
def test_invalid_registry_configs_are_refused(document: str) -> None:
    with pytest.raises(SpellError) as exc:
        parse_registry_config(document, "registry.json")
    assert _code(exc) == "INVALID_REGISTRY"


@pytest.mark.parametrize(
    "spell",
    [
        {"id": "a/b", "version": "1.0.0"},
        {"id": "a/b", "version": "1.0.0", "source": "s#r", "commit": "abc"},
        {"id": "a/b", "version": "1.0.0", "source": "s#r", "digest": "sha256:zz"},
        {"id": "a/b", "version": "1.0.0", "source": "s#r", "extra": True},
    ],
)
def test_invalid_index_entries_are_refused(spell: dict[str, object]) -> None:
    with pytest.raises(SpellError) as exc:
        parse_index(json.dumps({"version": "v1", "spells": [spell]}), "index")
    assert _code(exc) == "INVALID_REGISTRY"


def test_latest_prefers_numeric_semver_then_text_order() -> None:
    def index(*versions: str) -> RegistryIndex:
        return RegistryIndex(
            version="v1",
            spells=tuple(RegistryEntry(id="a/b", version=v, source="https://x/r.git#v") for v in versions),
        )

    assert resolve_entry(index("1.9.0", "1.10.0", "nightly"), "a/b", None).version == "1.10.0"
    assert resolve_entry(index("alpha", "beta"), "a/b", "latest").version == "beta"
    assert resolve_entry(index("1.9.0", "1.10.0"), "a/b", "1.9.0").version == "1.9.0"


@pytest.fixture
def http_index() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/spell-index.v1.json":
                body = json.dumps(INDEX).encode()
                self.send_response(200)
            else:
                body = b"missing"
                self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_fetch_index_over_http(http_index: str) -> None:
    index = fetch_index(f"{http_index}/spell-index.v1.json", timeout_s=5)
    assert [s.id for s in index.spells] == ["acme/hello"]


def test_fetch_index_http_errors_and_oversized_documents(http_index: str, tmp_path: Path) -> None:
    with pytest.raises(SpellError) as missing:
        fetch_index(f"{http_index}/other.json", timeout_s=5)
    assert _code(missing) == "FETCH_FAILED"
    big = tmp_path / "big.json"
    big.write_text(json.dumps(INDEX))
    with pytest.raises(SpellError) as too_big:
        fetch_index(big.as_uri(), max_bytes=10)
    assert _code(too_big) == "INVALID_REGISTRY"
    with pytest.raises(SpellError) as absent:
        fetch_index((tmp_path / "absent.json").as_uri())
    assert _code(absent) == "FETCH_FAILED"
