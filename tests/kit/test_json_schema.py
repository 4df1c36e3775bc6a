from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from spell.kit.json_schema import SchemaInvalid, compile_schema, schema_problems

PERSON = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "a/b~c": {"type": "integer"},
    },
    "additionalProperties": False,
}


class _CountingServer(ThreadingHTTPServer):
    hits: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _CountingServer

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        body = b'{"type": "string"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def schema_server() -> Iterator[_CountingServer]:
    """A local server that would hand out any schema asked for, and counts every request."""
    server = _CountingServer(("127.0.0.1", 0), _Handler)
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _url(server: _CountingServer, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_a_valid_value_has_no_problems() -> None:
    assert schema_problems(PERSON, {"name": "Ada", "tags": ["x"]}) == []


def test_every_problem_is_listed_with_its_json_pointer_sorted_by_path() -> None:
    tags: list[object] = ["ok"] * 11
    tags[2] = 2
    tags[10] = 10
    problems = schema_problems(PERSON, {"name": 5, "tags": tags, "a/b~c": "x"})
    assert [p["path"] for p in problems] == ["/a~1b~0c", "/name", "/tags/2", "/tags/10"]
    assert all(p["message"] for p in problems)


def test_problems_of_the_whole_value_have_the_root_path() -> None:
    problems = schema_problems(PERSON, {"extra": True})
    assert {p["path"] for p in problems} == {"/"}
    assert len(problems) == 2  # the missing name and the unexpected property


def test_a_non_object_schema_root_failure_is_reported_once() -> None:
    with pytest.raises(SchemaInvalid) as info:
        compile_schema([1])
    assert [p["path"] for p in info.value.problems] == ["/"]


def test_an_invalid_schema_is_refused_naming_the_bad_keyword() -> None:
    with pytest.raises(SchemaInvalid) as info:
        compile_schema({"type": "object", "properties": {"n": {"minimum": "ten"}}, "required": "n"})
    assert [p["path"] for p in info.value.problems] == ["/properties/n/minimum", "/required"]
    assert "/properties/n/minimum" in str(info.value)


def test_an_invalid_regular_expression_is_refused() -> None:
    with pytest.raises(SchemaInvalid):
        compile_schema({"type": "string", "pattern": "(?<"})


def test_a_dangling_local_ref_is_refused() -> None:
    with pytest.raises(SchemaInvalid) as info:
        compile_schema({"$ref": "#/$defs/missing"})
    assert "missing" in info.value.problems[0]["message"]


def test_a_local_ref_resolves() -> None:
    schema = {"$defs": {"name": {"type": "string"}}, "properties": {"n": {"$ref": "#/$defs/name"}}}
    assert [p["path"] for p in schema_problems(schema, {"n": 1})] == ["/n"]


def test_a_remote_ref_is_refused_without_any_network_attempt(schema_server: _CountingServer) -> None:
    with pytest.raises(SchemaInvalid) as info:
        compile_schema({"properties": {"n": {"$ref": _url(schema_server, "/name.json")}}})
    assert "not allowed" in info.value.problems[0]["message"]
    assert schema_server.hits == []


def test_a_relative_ref_under_a_remote_id_is_refused_without_any_network_attempt(
    schema_server: _CountingServer,
) -> None:
    with pytest.raises(SchemaInvalid):
        compile_schema({"$id": _url(schema_server, "/root.json"), "$ref": "other.json"})
    assert schema_server.hits == []


def test_a_remote_meta_schema_is_never_fetched(schema_server: _CountingServer) -> None:
    # Input schemas are 2020-12 whatever $schema says; a custom meta-schema URL is not followed.
    compiled = compile_schema({"$schema": _url(schema_server, "/meta.json"), "type": "integer"})
    assert not compiled.is_valid("x")
    assert schema_server.hits == []


def test_equal_schemas_share_one_compiled_validator() -> None:
    first = compile_schema({"type": "object", "required": ["a"]})
    second = compile_schema({"required": ["a"], "type": "object"})
    assert first is second


def test_a_schema_outside_canonical_json_range_still_compiles() -> None:
    compiled = compile_schema({"type": "integer", "maximum": 10**20})
    assert compiled.is_valid(5)
    assert [p["path"] for p in compiled.problems(10**21)] == ["/"]
