"""Pinned connections: the address checked is the address dialled; redirects checked hop by hop."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator

import pytest

from spell.runtimes.egress import Denied, EgressPolicy, Refused
from tests.runtimes.egress.world import PUBLIC, Local, World, local_server
from tests.runtimes.wasm.https_server import FakeHttps, fake_https

ALLOW = ("example.test",)


@pytest.fixture
def local() -> Iterator[Local]:
    with local_server() as served:
        yield served


def _world(local: Local, **extra: list[list[str]]) -> World:
    answers = {
        "api.example.test": [[PUBLIC]],
        "internal.example.test": [["127.0.0.1"]],
        "localhost": [["127.0.0.1"]],
        **extra,
    }
    return World(answers, public_port=local.port)


def _policy(world: World, *, allow_http: bool = False) -> EgressPolicy:
    return EgressPolicy(allow_http=allow_http, resolver=world.resolve, dial=world.dial)


def _get(policy: EgressPolicy, url: str, allow: tuple[str, ...] | None = ALLOW) -> int:
    return policy.fetch("GET", url, allow=allow, timeout_s=5, max_bytes=1024).status


def test_a_public_allow_listed_host_is_reached_at_the_address_checked(local: Local) -> None:
    world = _world(local)
    response = _policy(world, allow_http=True).fetch(
        "GET", local.url("/hello", "api.example.test"), allow=ALLOW, timeout_s=5, max_bytes=1024
    )
    assert response.status == 200
    assert response.body == f'{{"hello": "api.example.test:{local.port}"}}'.encode()
    assert world.dialled == [(PUBLIC, local.port)]


def test_a_rebinding_name_is_resolved_once_and_its_checked_answer_dialled(local: Local) -> None:
    # First answer public, every later one loopback: a client that resolved again to connect
    # (as urllib and httpx do) would reach 127.0.0.1.
    world = _world(local, **{"rebind.example.test": [[PUBLIC], ["127.0.0.1"]]})
    policy = _policy(world, allow_http=True)
    assert _get(policy, local.url("/first", "rebind.example.test")) == 200
    assert world.resolved == ["rebind.example.test"]
    assert world.dialled == [(PUBLIC, local.port)]
    with pytest.raises(Denied) as caught:
        _get(policy, local.url("/second", "rebind.example.test"))
    assert caught.value.reason == "private_address"
    assert world.dialled == [(PUBLIC, local.port)]
    assert local.seen == ["GET /first"]


def test_a_name_with_any_private_answer_is_refused(local: Local) -> None:
    world = _world(local, **{"mixed.example.test": [[PUBLIC, "10.0.0.7"]]})
    with pytest.raises(Denied) as caught:
        _get(_policy(world, allow_http=True), local.url("/x", "mixed.example.test"))
    assert caught.value.reason == "private_address"
    assert world.dialled == []


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://127.0.0.1:{port}/secret", "redirect_ip_literal"),
        ("http://2130706433:{port}/secret", "redirect_ip_literal"),
        ("http://127.1:{port}/secret", "redirect_ip_literal"),
        ("http://0x7f.1:{port}/secret", "redirect_ip_literal"),
        ("http://[::1]:{port}/secret", "redirect_ip_literal"),
        ("http://[::ffff:127.0.0.1]:{port}/secret", "redirect_ip_literal"),
        ("http://localhost:{port}/secret", "redirect_host_not_allowed"),
        ("http://internal.example.test:{port}/secret", "redirect_private_address"),
        ("file:///etc/passwd", "redirect_not_https"),
    ],
)
def test_a_redirect_to_loopback_is_refused_before_it_is_followed(
    local: Local, target: str, reason: str
) -> None:
    world = _world(local)
    url = local.url("/to", "api.example.test") + "?u=" + target.format(port=local.port)
    with pytest.raises(Denied) as caught:
        _get(_policy(world, allow_http=True), url)
    assert caught.value.reason == reason
    assert [line.split("?")[0] for line in local.seen] == ["GET /to"]
    assert all(address[0] == PUBLIC for address in world.dialled)


def test_redirects_are_returned_not_followed_when_none_are_allowed(local: Local) -> None:
    world = _world(local)
    url = local.url("/to", "api.example.test") + "?u=" + local.url("/secret")
    response = _policy(world, allow_http=True).fetch(
        "POST", url, allow=None, timeout_s=5, max_bytes=1024, max_redirects=0
    )
    assert response.status == 302
    assert len(local.seen) == 1


def test_a_redirect_loop_stops(local: Local) -> None:
    world = _world(local)
    with pytest.raises(Refused) as caught:
        _get(_policy(world, allow_http=True), local.url("/loop", "api.example.test"))
    assert caught.value.code == "TOO_MANY_REDIRECTS"
    assert len(local.seen) == 6


def test_plain_http_needs_the_operator(local: Local) -> None:
    world = _world(local)
    with pytest.raises(Denied) as caught:
        _get(_policy(world), local.url("/x", "api.example.test"))
    assert caught.value.reason == "not_https"
    assert world.dialled == []


def test_opened_loopback_reaches_a_local_server_over_plain_http(local: Local) -> None:
    world = _world(local)
    policy = EgressPolicy.loopback_allowed()
    policy = EgressPolicy(networks=policy.networks, resolver=world.resolve, dial=world.dial)
    assert _get(policy, local.url("/a")) == 200
    assert _get(policy, local.url("/b", "localhost")) == 200  # not on the allow-list, but opened
    assert world.dialled == [("127.0.0.1", local.port)] * 2
    with pytest.raises(Denied) as caught:
        _get(policy, local.url("/x", "api.example.test"))  # opening loopback is not opening http
    assert caught.value.reason == "not_https"


def test_loopback_is_closed_by_default(local: Local) -> None:
    for url in (local.url("/a"), local.url("/a", "localhost")):
        with pytest.raises(Denied):
            _get(EgressPolicy(allow_http=True), url)
    assert local.seen == []


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeHttps]:
    with fake_https(tmp_path_factory.mktemp("tls")) as running:
        yield running


def test_tls_names_and_verifies_the_host_while_dialling_the_pinned_address(tls: FakeHttps) -> None:
    world = World({"api.example.test": [[PUBLIC]], "elsewhere.example.net": [[PUBLIC]]}, tls.port)
    policy = EgressPolicy(resolver=world.resolve, dial=world.dial, ssl_context=tls.client_context)
    response = policy.fetch(
        "GET", f"https://api.example.test:{tls.port}/hello", allow=ALLOW, timeout_s=5, max_bytes=1024
    )
    assert response.body == b"hi from api.example.test:" + str(tls.port).encode()
    with pytest.raises(ssl.SSLCertVerificationError):
        policy.fetch(
            "GET", f"https://elsewhere.example.net:{tls.port}/", allow=None, timeout_s=5, max_bytes=1024
        )
    assert world.dialled == [(PUBLIC, tls.port)] * 2


def test_a_name_that_does_not_resolve_is_an_os_error(local: Local) -> None:
    world = _world(local)
    with pytest.raises(OSError, match="not known"):
        _get(_policy(world), "https://nowhere.example.test/")


def test_credentials_are_not_carried_to_another_origin(local: Local) -> None:
    world = _world(local, **{"other.example.test": [[PUBLIC]]})
    url = local.url("/to", "api.example.test") + "?u=" + local.url("/next", "other.example.test")
    headers = {"Authorization": "Bearer t0k", "Cookie": "s=1", "X-Note": "kept"}
    policy = _policy(world, allow_http=True)
    assert policy.fetch("GET", url, allow=ALLOW, headers=headers, timeout_s=5, max_bytes=1024).status == 200
    first, second = local.headers
    assert (first["authorization"], first["cookie"]) == ("Bearer t0k", "s=1")
    assert "authorization" not in second
    assert "cookie" not in second
    assert second["x-note"] == "kept"


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "internal.corp"},
        {"content-length": "0"},
        {"Transfer-Encoding": "chunked"},
        {"X-Note": "a\r\nX-Injected: 1"},
        {"": "empty name"},
    ],
)
def test_headers_the_sender_sets_or_that_break_lines_are_refused_before_any_lookup(
    local: Local, headers: dict[str, str]
) -> None:
    world = _world(local)
    with pytest.raises(Refused) as caught:
        _policy(world, allow_http=True).fetch(
            "GET",
            local.url("/a", "api.example.test"),
            allow=ALLOW,
            headers=headers,
            timeout_s=5,
            max_bytes=1024,
        )
    assert caught.value.code == "BAD_REQUEST"
    assert world.dialled == []
    assert local.seen == []


def test_a_name_with_one_public_answer_among_opened_ones_stays_under_the_allow_list(local: Local) -> None:
    world = _world(local, **{"mixed.example.net": [["127.0.0.1", PUBLIC]]})
    opened = EgressPolicy.loopback_allowed()
    policy = EgressPolicy(networks=opened.networks, resolver=world.resolve, dial=world.dial)
    with pytest.raises(Denied) as caught:
        _get(policy, local.url("/a", "mixed.example.net"))  # not allow-listed, and not wholly opened
    assert caught.value.reason == "host_not_allowed"
    assert world.dialled == []


def test_the_redirect_header_rule_wasm_egress_shares_keeps_credentials_on_one_origin_only() -> None:
    from spell.runtimes.egress import check_url
    from spell.runtimes.egress.client import without_credentials_across_origins

    headers = {"Authorization": "Bearer t0k", "Cookie": "s=1", "X-Note": "kept"}
    here = check_url("https://api.example.test/a", ALLOW)
    same = check_url("https://api.example.test/b", ALLOW)
    other = check_url("https://cdn.example.test/b", ALLOW)
    assert without_credentials_across_origins(here, same, headers) == headers
    assert without_credentials_across_origins(here, other, headers) == {"X-Note": "kept"}


def test_a_server_that_trickles_its_answer_is_given_up_at_the_request_deadline(local: Local) -> None:
    policy = _policy(_world(local), allow_http=True)
    started = time.monotonic()
    with pytest.raises(Refused) as refused:
        policy.fetch("GET", "http://api.example.test/trickle", allow=ALLOW, timeout_s=0.5, max_bytes=1024)
    assert refused.value.code == "TIMEOUT"
    # The answer would take ten seconds; every single read was quick, so only a deadline stops it.
    assert time.monotonic() - started < 5


def test_a_lookup_that_hangs_is_given_up_at_the_request_deadline(local: Local) -> None:
    released = threading.Event()

    def hanging(host: str, port: int) -> list[str]:
        released.wait(30)
        return [PUBLIC]

    policy = EgressPolicy(allow_http=True, resolver=hanging, dial=_world(local).dial)
    try:
        with pytest.raises(Refused) as refused:
            policy.fetch("GET", "http://api.example.test/", allow=ALLOW, timeout_s=0.2, max_bytes=1024)
    finally:
        released.set()
    assert refused.value.code == "TIMEOUT"
    assert "api.example.test" in refused.value.message
    assert local.seen == []


def test_an_answer_read_in_pieces_is_whole_and_the_size_cap_still_holds(local: Local) -> None:
    policy = _policy(_world(local), allow_http=True)
    whole = policy.fetch("GET", "http://api.example.test/", allow=ALLOW, timeout_s=5, max_bytes=1024)
    assert whole.body == b'{"hello": "api.example.test"}'
    with pytest.raises(Refused) as refused:
        policy.fetch("GET", "http://api.example.test/", allow=ALLOW, timeout_s=5, max_bytes=10)
    assert refused.value.code == "RESPONSE_TOO_LARGE"
