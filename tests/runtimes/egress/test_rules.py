"""The URL and address rules every way out shares."""

from __future__ import annotations

import pytest

from spell.runtimes.egress.rules import (
    LOOPBACK_NETWORKS,
    Denied,
    check_url,
    ip_literal,
    is_public_address,
)

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "2130706433",
    "127.1",
    "0x7f.1",
    "0x7f000001",
    "0177.0.0.1",
    "127.0.0.1.",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:0:0:1]",
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # full-width digits, which IDNA maps to 127.0.0.1
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_every_spelling_of_an_ip_address_is_refused_as_a_literal(host: str) -> None:
    with pytest.raises(Denied) as caught:
        check_url(f"https://{host}/x", None)
    assert caught.value.reason == "ip_literal"


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_a_redirect_to_any_spelling_is_refused_with_the_redirect_prefix(host: str) -> None:
    with pytest.raises(Denied) as caught:
        check_url(f"http://{host}:8080/x", ("example.com",), allow_http=True, reason_prefix="redirect_")
    assert caught.value.reason == "redirect_ip_literal"


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "2130706433", "127.1", "0x7f.1", "[::1]", "[::ffff:127.0.0.1]"]
)
def test_loopback_literals_pass_only_when_loopback_is_opened(host: str) -> None:
    target = check_url(f"http://{host}:8765/x", ("example.com",), networks=LOOPBACK_NETWORKS)
    assert target.literal is not None
    assert not target.listed


def test_an_opened_network_does_not_open_other_literals() -> None:
    for url in ("http://10.0.0.1/", "https://8.8.8.8/", "https://[::ffff:10.0.0.1]/"):
        with pytest.raises(Denied) as caught:
            check_url(url, None, networks=LOOPBACK_NETWORKS)
        assert caught.value.reason == "ip_literal"


def test_plain_http_is_refused_unless_allowed() -> None:
    with pytest.raises(Denied) as caught:
        check_url("http://api.example.com/", ("example.com",))
    assert caught.value.reason == "not_https"
    assert check_url("http://api.example.com/", ("example.com",), allow_http=True).scheme == "http"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/", "not_https"),
        ("https://user:pw@example.com/", "bad_url"),
        ("https://other.org/", "host_not_allowed"),
        ("https://example.com.evil.net/", "host_not_allowed"),
    ],
)
def test_other_rules_have_their_reason(url: str, reason: str) -> None:
    with pytest.raises(Denied) as caught:
        check_url(url, ("example.com",))
    assert caught.value.reason == reason


def test_any_host_may_be_named_without_an_allow_list() -> None:
    assert check_url("https://hooks.example.org/x?y=1", None).path == "/x?y=1"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",  # CGNAT
        "0.0.0.0",  # noqa: S104 - an address to judge, not one to bind
        "224.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "fe80::1",
        "fd00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::808:808",  # NAT64 of a public address: a gateway still decides where it goes
        "64:ff9b:1::1",
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2001::1",  # Teredo
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


# A mapped address is judged as the IPv4 address it carries.
@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


def test_names_are_not_literals() -> None:
    assert ip_literal("1e100.net") is None
    assert ip_literal("api.example.com") is None
    assert str(ip_literal("0x7f.1")) == "127.0.0.1"
