"""The SDK's pure parts: the retry rule, SSE decoding, error envelopes, what importing it loads."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from spell.client import _calls as calls
from spell.client._core import Call, ClientSettings, RetryPolicy, SseDecoder
from spell.client._errors import error_from_response
from spell.errors import Conflict, QuotaError, SpellError, error_class
from spell.platform.budget.errors import BudgetCapExceeded
from spell.platform.ratelimit.errors import RateLimited

GET = Call("GET", "/v1/me", lambda _r: None)
POST = Call("POST", "/v1/casts/c/cancel", lambda _r: None)


def _answer(status: int, body: object = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def test_retry_after_is_honoured_for_idempotent_calls_up_to_max_wait() -> None:
    policy = RetryPolicy(max_retries=3, max_wait=5)
    assert policy.after_response(GET, 0, _answer(429, {}, **{"Retry-After": "2"})) == 2.0
    assert policy.after_response(GET, 0, _answer(503, {}, **{"Retry-After": "6"})) is None
    assert policy.after_response(GET, 3, _answer(503, {}, **{"Retry-After": "1"})) is None


def test_only_idempotent_calls_and_busy_answers_are_retried() -> None:
    policy = RetryPolicy()
    assert policy.after_response(POST, 0, _answer(503, {})) is None
    assert policy.after_failure(POST, 0) is None
    assert policy.after_response(GET, 0, _answer(500, {})) is None
    assert policy.after_response(GET, 0, _answer(402, {}, **{"Retry-After": "1"})) is None
    assert policy.after_response(GET, 0, _answer(409, {}, **{"Retry-After": "1"})) == 1.0
    cast = calls.cast_create("a/b", {}, version=None, webhook_url=None, idempotency_key=None, wait=0)
    assert cast.headers["Idempotency-Key"].startswith("sdk-")
    assert policy.after_failure(cast, 0) is not None


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    policy = RetryPolicy(max_retries=10, backoff=1.0, max_backoff=4.0)
    for attempt, full in [(0, 1.0), (1, 2.0), (2, 4.0), (5, 4.0)]:
        delay = policy.after_failure(GET, attempt)
        assert delay is not None
        assert full / 2 <= delay <= full


def test_each_cast_call_gets_its_own_idempotency_key_unless_one_is_given() -> None:
    one, two = (
        calls.cast_create("a/b", {}, version=None, webhook_url=None, idempotency_key=None, wait=0)
        for _ in range(2)
    )
    assert one.headers["Idempotency-Key"] != two.headers["Idempotency-Key"]
    given = calls.button_press("btn", {}, confirm=False, idempotency_key="k", wait=5)
    assert given.headers == {"Idempotency-Key": "k", "Prefer": "wait=5"}


def test_sse_lines_become_events_and_heartbeats_are_skipped() -> None:
    decoder = SseDecoder()
    lines = [": heartbeat", "", "id: 7", "event: log", 'data: {"line": "a"}', "", "id: 8", "event: succeeded"]
    events = [e for e in (decoder.feed(line) for line in [*lines, 'data: {"status": "succeeded"}', ""]) if e]
    assert [(e.id, e.type, e.data) for e in events] == [
        (7, "log", {"line": "a"}),
        (8, "succeeded", {"status": "succeeded"}),
    ]
    assert events[-1].is_terminal
    assert decoder.resume_headers() == {"Last-Event-ID": "8"}


def test_an_envelope_becomes_the_registered_class_with_its_fields() -> None:
    body = {
        "ok": False,
        "error": {
            "code": "BUDGET_CAP_EXCEEDED",
            "message": "cap",
            "details": {"window": "daily"},
            "hint": "raise it",
            "request_id": "req_1",
        },
    }
    error = error_from_response(_answer(402, body, **{"Retry-After": "60"}))
    assert type(error) is BudgetCapExceeded
    assert (error.message, error.hint, error.retry_after) == ("cap", "raise it", 60)
    assert error.details == {"window": "daily", "request_id": "req_1"}


def test_an_unknown_code_is_raised_as_its_status_family_keeping_the_code() -> None:
    error = error_from_response(_answer(402, {"ok": False, "error": {"code": "NEW_QUOTA", "message": "m"}}))
    assert isinstance(error, QuotaError)
    assert error.code == "NEW_QUOTA"
    assert isinstance(
        error_from_response(_answer(409, {"ok": False, "error": {"code": "X", "message": "m"}})), Conflict
    )
    slow = error_from_response(_answer(429, {"ok": False, "error": {"code": "SLOW_DOWN", "message": "m"}}))
    assert type(slow) is RateLimited
    assert slow.to_dict()["code"] == "SLOW_DOWN"


def test_every_catalog_code_maps_back_to_the_class_that_first_defined_it() -> None:
    def family(cls: type[SpellError]) -> list[type[SpellError]]:
        return [cls, *(k for sub in cls.__subclasses__() for k in family(sub))]

    for cls in family(SpellError):
        owner = error_class(cls.code)
        assert owner is not None
        assert issubclass(cls, owner)
        assert owner.code == cls.code
    assert error_class("NO_SUCH_CODE") is None


def test_an_answer_without_an_envelope_is_still_a_spell_error() -> None:
    error = error_from_response(httpx.Response(502, text="<html>bad gateway</html>"))
    assert isinstance(error, SpellError)
    assert error.code == "HTTP_ERROR"
    assert "502" in error.message


def test_a_long_poll_gets_the_time_it_holds_on_top_of_the_timeout() -> None:
    settings = ClientSettings.resolve("http://spell", "sk", timeout=10)
    assert settings.request(calls.cast_get("c", 20))["timeout"].read == 30
    assert "timeout" not in settings.request(calls.cast_get("c"))


def test_settings_fall_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPELL_SERVER", "http://spell.example:9000/")
    monkeypatch.setenv("SPELL_API_KEY", "sk_env")
    settings = ClientSettings.resolve(None, None)
    assert (settings.base_url, settings.api_key) == ("http://spell.example:9000", "sk_env")
    assert ClientSettings.resolve("http://other", "sk_arg").headers()["Authorization"] == "Bearer sk_arg"


def test_importing_the_sdk_loads_no_server_machinery() -> None:
    probe = (
        "import json, sys, spell.client;"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'sqlalchemy', 'alembic', 'uvicorn') or "
        "m.startswith(('spell.models', 'spell.storage', 'spell.api', 'spell.platform.server')))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
