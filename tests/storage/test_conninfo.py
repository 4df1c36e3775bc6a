"""The libpq URI the notification listener connects with keeps every connection option as written."""

from __future__ import annotations

import pytest

from spell.storage.notify import conninfo_of

conninfo = pytest.importorskip("psycopg.conninfo")


def test_options_with_a_space_reach_libpq_unchanged() -> None:
    url = "postgresql+psycopg://spell@db.internal:5433/spell?options=-csearch_path%3Dt_1%20-csynchronous_commit%3Doff"
    parsed = conninfo.conninfo_to_dict(conninfo_of(url))
    assert parsed["options"] == "-csearch_path=t_1 -csynchronous_commit=off"
    assert (parsed["host"], parsed["port"], parsed["dbname"], parsed["user"]) == (
        "db.internal",
        "5433",
        "spell",
        "spell",
    )


def test_a_password_and_several_parameters_are_kept() -> None:
    url = "postgresql+psycopg://spell:p%40ss%20word@localhost/spell?sslmode=require&application_name=a%20b"
    parsed = conninfo.conninfo_to_dict(conninfo_of(url))
    assert parsed["password"] == "p@ss word"
    assert parsed["sslmode"] == "require"
    assert parsed["application_name"] == "a b"


def test_a_url_without_parameters_has_no_query() -> None:
    assert conninfo_of("postgresql+psycopg://spell@localhost/spell") == "postgresql://spell@localhost/spell"


def test_an_ipv6_host_and_a_socket_directory_are_kept() -> None:
    ipv6 = conninfo.conninfo_to_dict(conninfo_of("postgresql+psycopg://spell@[::1]:5432/spell"))
    assert (ipv6["host"], ipv6["port"]) == ("::1", "5432")
    parsed = conninfo.conninfo_to_dict(conninfo_of("postgresql+psycopg:///spell?host=/var/run/postgresql"))
    assert (parsed["host"], parsed["dbname"]) == ("/var/run/postgresql", "spell")
