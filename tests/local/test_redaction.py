from __future__ import annotations

from spell.local.redaction import REDACTED, Redactor, is_secret_key


def test_known_secret_values_are_replaced_everywhere_in_text() -> None:
    redactor = Redactor(["s3cr3t-value", "abc"])  # too-short values are ignored
    assert redactor.text("x s3cr3t-value y s3cr3t-value abc") == f"x {REDACTED} y {REDACTED} abc"


def test_bearer_and_token_like_strings_are_redacted_without_being_known() -> None:
    redactor = Redactor()
    text = "Authorization: Bearer eyJabc.def and ghp_0123456789abcdefghij and AKIAABCDEFGHIJKLMNOP"
    out = redactor.text(text)
    assert "eyJabc" not in out
    assert "ghp_0123" not in out
    assert "AKIAABCD" not in out
    assert f"Bearer {REDACTED}" in out


def test_secret_keys_lose_their_values_in_nested_json() -> None:
    value = {"user": "ann", "api_key": "k", "nested": [{"Password": {"x": 1}}, {"ok": "fine"}]}
    assert Redactor().value(value) == {
        "user": "ann",
        "api_key": REDACTED,
        "nested": [{"Password": REDACTED}, {"ok": "fine"}],
    }


def test_for_cast_collects_tokens_secret_env_and_secret_input_values() -> None:
    environ = {"CONNECTOR_GH_TOKEN": "tok-1234", "MY_PASSWORD": "pw-5678", "HOME": "/home/ann"}
    redactor = Redactor.for_cast(
        environ, token_names=["CONNECTOR_GH_TOKEN"], input_value={"auth": {"secret": "in-9999"}, "n": "plain"}
    )
    out = redactor.text("tok-1234 pw-5678 in-9999 /home/ann plain")
    assert out == f"{REDACTED} {REDACTED} {REDACTED} /home/ann plain"


def test_is_secret_key_matches_common_names() -> None:
    assert all(is_secret_key(k) for k in ("token", "X-Api-Key", "client_secret", "cookie", "authorization"))
    assert not any(is_secret_key(k) for k in ("name", "count", "url"))


def test_env_names_are_matched_by_whole_parts() -> None:
    environ = {"GIT_AUTHOR_NAME": "root", "GITHUB_AUTH_TOKEN": "gh-value-1", "DB_PASSWORD": "pw-value-2"}
    redactor = Redactor.for_cast(environ, token_names=(), input_value={})
    assert redactor.text("root gh-value-1 pw-value-2") == f"root {REDACTED} {REDACTED}"
