"""The ``spell.http_request`` host function against a local HTTPS server with its own CA."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from spell.bundle.manifest import Capabilities
from spell.config.wasm import WasmSettings
from spell.runtimes.base import CastResult, Outcome
from spell.runtimes.egress.rules import Denied, check_url, host_allowed, is_public_address
from spell.runtimes.wasm import EgressOptions, WasmRuntime
from spell.runtimes.wasm.egress import EgressClient
from spell.runtimes.wasm.interrupt import Watch
from tests.runtimes.wasm.conftest import MakeCast
from tests.runtimes.wasm.https_server import BIG_BODY, FakeHttps, fake_https, reaching

ALLOW = Capabilities(net_allow=("api.example.test",))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeHttps]:
    with fake_https(tmp_path_factory.mktemp("tls")) as running:
        yield running


def _runtime(server: FakeHttps, **settings: Any) -> WasmRuntime:
    options = reaching(server.port, server.client_context)
    return WasmRuntime(WasmSettings(egress_max_response_bytes=200_000, **settings), egress=options)


@pytest.fixture(scope="module")
def egress_runtime(server: FakeHttps) -> Iterator[WasmRuntime]:
    runtime = _runtime(server)
    yield runtime
    runtime.close()


def _fetch(
    runtime: WasmRuntime, make_cast: MakeCast, request: Any, policy: Capabilities = ALLOW
) -> CastResult:
    return runtime.run(make_cast("http_echo", input=request, policy=policy))


def test_an_allowed_https_request_reaches_the_host_and_is_counted(
    egress_runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = _fetch(egress_runtime, make_cast, {"url": "https://api.example.test/hello"})
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert result.output["ok"] is True
    assert result.output["status"] == 200
    assert result.output["body"] == "hi from api.example.test"
    assert result.usage.network_requests == 1
    assert result.usage.network_bytes == len("hi from api.example.test")
    assert result.violations == []


def test_a_post_sends_its_body(egress_runtime: WasmRuntime, make_cast: MakeCast) -> None:
    request = {
        "method": "POST",
        "url": "https://api.example.test/echo",
        "body": "ping",
        "headers": {"X-A": "1"},
    }
    result = _fetch(egress_runtime, make_cast, request)
    assert result.output["body"] == "ping"
    assert result.usage.network_bytes == 8


def test_a_subdomain_of_an_allowed_host_is_allowed(egress_runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = _fetch(egress_runtime, make_cast, {"url": "https://sub.api.example.test/hello"})
    assert result.outcome is Outcome.SUCCEEDED
    assert result.output["body"] == "hi from sub.api.example.test"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://evil.example.org/hello", "host_not_allowed"),
        ("https://notapi.example.test/hello", "host_not_allowed"),
        ("http://api.example.test/hello", "not_https"),
        ("https://127.0.0.1/hello", "ip_literal"),
        ("https://[::1]/hello", "ip_literal"),
        ("https://2130706433/hello", "ip_literal"),
        ("https://user:pw@api.example.test/", "bad_url"),
    ],
)
def test_a_refused_url_is_a_policy_violation_and_never_sent(
    egress_runtime: WasmRuntime, make_cast: MakeCast, server: FakeHttps, url: str, reason: str
) -> None:
    before = len(server.seen)
    result = _fetch(egress_runtime, make_cast, {"url": url})
    assert result.outcome is Outcome.POLICY_VIOLATION
    assert result.violations[0]["reason"] == reason
    assert result.violations[0]["url"] == url
    assert result.output is None
    assert "EGRESS_DENIED" in result.stdout
    assert result.usage.network_requests == 0
    assert len(server.seen) == before


def test_a_redirect_to_an_unlisted_host_is_not_followed(
    egress_runtime: WasmRuntime, make_cast: MakeCast, server: FakeHttps
) -> None:
    result = _fetch(egress_runtime, make_cast, {"url": "https://api.example.test/redirect-out"})
    assert result.outcome is Outcome.POLICY_VIOLATION
    assert result.violations[0]["reason"] == "redirect_host_not_allowed"
    assert result.usage.network_requests == 1
    assert not any("evil.example.org" in line for line in server.seen)


def test_a_redirect_to_plain_http_is_not_followed(egress_runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = _fetch(egress_runtime, make_cast, {"url": "https://api.example.test/redirect-http"})
    assert result.violations[0]["reason"] == "redirect_not_https"


def test_a_redirect_within_the_allow_list_is_followed(
    egress_runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = _fetch(egress_runtime, make_cast, {"url": "https://api.example.test/redirect-in"})
    assert result.outcome is Outcome.SUCCEEDED
    assert result.output["body"] == "hi from sub.api.example.test"
    assert result.usage.network_requests == 2


def test_a_response_over_the_cap_is_refused_to_the_guest(
    egress_runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = _fetch(egress_runtime, make_cast, {"url": "https://api.example.test/big"})
    assert result.outcome is Outcome.SUCCEEDED
    assert result.output["error"]["code"] == "RESPONSE_TOO_LARGE"
    assert len(BIG_BODY) > 200_000


def test_a_request_body_over_the_cap_is_refused(server: FakeHttps, make_cast: MakeCast) -> None:
    runtime = _runtime(server, egress_max_request_bytes=10)
    result = _fetch(
        runtime, make_cast, {"method": "POST", "url": "https://api.example.test/echo", "body": "x" * 11}
    )
    assert result.output["error"]["code"] == "REQUEST_TOO_LARGE"
    assert result.usage.network_requests == 0
    runtime.close()


@pytest.mark.parametrize(
    "request_doc",
    [
        "not an object",
        {"url": 5},
        {"url": "https://api.example.test/", "method": "TRACE"},
        {"url": "https://api.example.test/", "headers": {"Host": "evil.example.org"}},
        {"url": "https://api.example.test/", "headers": {"Transfer-Encoding": "chunked"}},
        {"url": "https://api.example.test/", "headers": {"X-A": "1\r\nX-Injected: 1"}},
        {"url": "https://api.example.test/", "headers": {"X-A": 1}},
        {"url": "https://api.example.test/", "body": 5},
    ],
)
def test_a_malformed_request_document_gets_bad_request(
    egress_runtime: WasmRuntime, make_cast: MakeCast, request_doc: Any
) -> None:
    result = _fetch(egress_runtime, make_cast, request_doc)
    assert result.outcome is Outcome.SUCCEEDED
    assert result.output["error"]["code"] == "BAD_REQUEST"


def test_requests_past_the_per_cast_cap_are_violations(server: FakeHttps, make_cast: MakeCast) -> None:
    runtime = _runtime(server, egress_max_requests=0)
    result = _fetch(runtime, make_cast, {"url": "https://api.example.test/hello"})
    assert result.outcome is Outcome.POLICY_VIOLATION
    assert result.violations[0]["reason"] == "request_limit"
    runtime.close()


def test_a_server_certificate_from_an_untrusted_ca_is_a_network_error(
    server: FakeHttps, make_cast: MakeCast
) -> None:
    runtime = WasmRuntime(egress=reaching(server.port, ssl.create_default_context()))
    result = _fetch(runtime, make_cast, {"url": "https://api.example.test/hello"})
    assert result.output["error"]["code"] == "NETWORK_ERROR"
    runtime.close()


def test_the_host_function_does_not_exist_without_net_allow(
    egress_runtime: WasmRuntime, make_cast: MakeCast
) -> None:
    result = _fetch(
        egress_runtime, make_cast, {"url": "https://api.example.test/hello"}, policy=Capabilities()
    )
    assert result.outcome is Outcome.POLICY_VIOLATION
    assert result.details["reason"] == "egress_not_granted"
    assert result.usage.network_requests == 0


def test_host_rules_follow_the_subdomain_rule() -> None:
    assert host_allowed("api.example.com", ("example.com",))
    assert host_allowed("EXAMPLE.com.", ("example.com",))
    assert not host_allowed("badexample.com", ("example.com",))
    assert not host_allowed("example.com.evil.net", ("example.com",))


def test_check_url_keeps_path_and_query() -> None:
    target = check_url("https://a.example.com:8443/x/y?q=1", ("example.com",))
    assert (target.host, target.port, target.path) == ("a.example.com", 8443, "/x/y?q=1")


@pytest.mark.parametrize("url", ["https://", "https://a.example.com:notaport/", "https://0x7f.1/"])
def test_check_url_refuses_nonsense(url: str) -> None:
    with pytest.raises(Denied):
        check_url(url, ("example.com",))


@pytest.mark.parametrize(
    ("address", "public"),
    [("127.0.0.1", False), ("10.1.2.3", False), ("169.254.169.254", False), ("8.8.8.8", True)],
)
def test_only_public_addresses_count_as_public(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_a_bad_pointer_gets_minus_one(egress_runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = egress_runtime.run(make_cast("http_bad_pointer", policy=ALLOW))
    assert result.exit_code == 90


def test_a_redirect_loop_stops(egress_runtime: WasmRuntime, make_cast: MakeCast) -> None:
    result = _fetch(egress_runtime, make_cast, {"url": "https://api.example.test/loop"})
    assert result.output["error"]["code"] == "TOO_MANY_REDIRECTS"
    assert result.usage.network_requests == 6


def _client(allow: tuple[str, ...], *, timeout_s: float = 5.0) -> tuple[EgressClient, list[dict[str, Any]]]:
    violations: list[dict[str, Any]] = []
    watch = Watch(timeout_s=timeout_s, cancel=None)
    return EgressClient(allow, WasmSettings(), watch, EgressOptions(), violations), violations


def test_a_host_resolving_to_a_private_address_is_refused() -> None:
    client, violations = _client(("localhost",))
    answer = client.handle(b'{"url": "https://localhost/"}')
    assert answer["error"]["code"] == "EGRESS_DENIED"
    assert violations[0]["reason"] == "private_address"


def test_no_request_is_sent_once_the_wall_clock_is_spent() -> None:
    client, _ = _client(("example.com",), timeout_s=0)
    answer = client.handle(b'{"url": "https://example.com/"}')
    assert answer["error"]["code"] == "TIMEOUT"
    assert client.requests == 0


def test_a_host_that_does_not_resolve_is_a_network_error() -> None:
    client, violations = _client(("invalid",))
    answer = client.handle(b'{"url": "https://nothing.invalid/"}')
    assert answer["error"]["code"] == "NETWORK_ERROR"
    assert violations == []
