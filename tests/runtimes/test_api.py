"""The ``api`` runtime: the input POSTed to the maker's endpoint under the egress rules, the JSON answer
as output, and each way a call can go wrong ending the cast with its own outcome."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from spell.bundle.manifest import SpellManifest
from spell.runtimes.api import ApiRuntime
from spell.runtimes.base import CastRequest, Limits, Outcome
from spell.runtimes.egress import EgressPolicy
from tests.runtimes.api_endpoint import Endpoint, maker_endpoint


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[Endpoint]:
    with maker_endpoint(tmp_path) as served:
        yield served


def _request(url: str, value: Any = None, *, net_allow: tuple[str, ...] = (), **kwargs: Any) -> CastRequest:
    manifest = SpellManifest.from_dict(
        {
            "id": "acme/api",
            "version": "1.2.3",
            "name": "api",
            "runtime": {"execution": "api", "api_url": url, "policy": {"net_allow": list(net_allow)}},
            **kwargs.pop("manifest", {}),
        }
    )
    return CastRequest(Path("/nonexistent"), manifest, {"q": 1} if value is None else value, **kwargs)


def test_the_input_is_posted_and_the_json_answer_is_the_output(endpoint: Endpoint) -> None:
    result = ApiRuntime(endpoint.egress).run(_request(endpoint.url("/echo"), {"q": "ünï"}))
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert result.output == {"received": {"q": "ünï"}}
    call = endpoint.calls[0]
    assert call.headers["content-type"] == "application/json"
    assert (call.headers["spell-id"], call.headers["spell-version"]) == ("acme/api", "1.2.3")
    assert result.usage.network_requests == 1
    assert result.usage.network_bytes == len(call.body) + result.usage.output_bytes
    assert result.usage.wall_ms > 0


def test_a_signer_signs_the_exact_body_so_the_maker_can_verify_it(endpoint: Endpoint) -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    signer_calls: list[bytes] = []

    def signer(request: CastRequest, body: bytes) -> dict[str, str]:
        signer_calls.append(body)
        from datetime import UTC, datetime

        from spell.platform.webhook.service import signature_headers

        return signature_headers([secret], "call_1", int(datetime.now(UTC).timestamp()), body)

    result = ApiRuntime(endpoint.egress, signer=signer).run(_request(endpoint.url("/echo")))
    assert result.outcome is Outcome.SUCCEEDED
    call = endpoint.calls[0]
    assert signer_calls == [call.body]
    Webhook(secret).verify(call.body, call.headers)  # raises when the signature does not match


@pytest.mark.parametrize(
    ("path", "outcome", "reason"),
    [
        ("/fail", Outcome.FAILED, "status"),
        ("/html", Outcome.FAILED, "not_json"),
        ("/big", Outcome.OUTPUT_LIMIT, "RESPONSE_TOO_LARGE"),
    ],
)
def test_an_answer_that_is_no_output_fails_with_its_reason(
    endpoint: Endpoint, path: str, outcome: Outcome, reason: str
) -> None:
    result = ApiRuntime(endpoint.egress).run(
        _request(endpoint.url(path), limits=Limits(max_stdout_bytes=1024))
    )
    assert result.outcome is outcome
    assert result.details["reason"] == reason
    assert result.output is None


def test_the_status_and_an_excerpt_of_a_refusal_are_kept(endpoint: Endpoint) -> None:
    result = ApiRuntime(endpoint.egress).run(_request(endpoint.url("/fail")))
    assert result.details["status"] == 503
    assert result.details["body"] == "down for maintenance"


def test_a_text_spell_gets_the_answer_as_text(endpoint: Endpoint) -> None:
    request = _request(endpoint.url("/html"), manifest={"io": {"output_format": "text"}})
    assert ApiRuntime(endpoint.egress).run(request).output == "<html>not json</html>"


def test_an_answer_nested_too_deep_is_refused(endpoint: Endpoint) -> None:
    deep: Any = 1
    for _ in range(200):
        deep = [deep]
    result = ApiRuntime(endpoint.egress).run(_request(endpoint.url("/echo"), deep))
    assert result.outcome is Outcome.FAILED
    assert result.details["reason"] == "too_deep"


def test_a_slow_endpoint_is_given_up_at_the_cast_time_limit(endpoint: Endpoint) -> None:
    result = ApiRuntime(endpoint.egress).run(_request(endpoint.url("/slow"), limits=Limits(timeout_ms=200)))
    assert result.outcome is Outcome.TIMEOUT
    assert result.usage.wall_ms < 5000


def test_a_redirect_off_the_allow_list_is_refused_and_one_on_it_is_followed(endpoint: Endpoint) -> None:
    refused = ApiRuntime(endpoint.egress).run(_request(endpoint.url("/away")))
    assert refused.outcome is Outcome.POLICY_VIOLATION
    assert refused.details == {"code": "EGRESS_DENIED", "reason": "redirect_host_not_allowed"}
    assert refused.violations[0]["code"] == "EGRESS_DENIED"
    followed = ApiRuntime(endpoint.egress).run(
        _request(endpoint.url("/away"), {"q": 2}, net_allow=("evil.example.org",))
    )
    assert followed.outcome is Outcome.SUCCEEDED, followed.message
    assert [c.path for c in endpoint.calls] == ["/away", "/away", "/echo"]


def test_a_private_address_is_refused_before_anything_is_sent(endpoint: Endpoint) -> None:
    inside = EgressPolicy(resolver=lambda host, port: ["10.0.0.7"], dial=endpoint.egress.dial)
    result = ApiRuntime(inside).run(_request(endpoint.url("/echo")))
    assert result.outcome is Outcome.POLICY_VIOLATION
    assert result.details["reason"] == "private_address"
    assert endpoint.calls == []


def test_a_name_that_does_not_resolve_fails_the_cast(endpoint: Endpoint) -> None:
    result = ApiRuntime(endpoint.egress).run(_request(f"https://nowhere.invalid:{endpoint.port}/echo"))
    assert result.outcome is Outcome.FAILED
    assert result.details["reason"] == "unreachable"


def test_a_cancel_ends_the_cast_before_or_while_the_endpoint_answers(endpoint: Endpoint) -> None:
    cancel = threading.Event()
    cancel.set()
    before = ApiRuntime(endpoint.egress).run(_request(endpoint.url("/echo"), cancel=cancel))
    assert before.outcome is Outcome.CANCELED
    assert endpoint.calls == []
    during = threading.Event()
    runtime = ApiRuntime(endpoint.egress)
    request = _request(endpoint.url("/slow"), cancel=during, limits=Limits(timeout_ms=10_000))
    timer = threading.Timer(0.1, during.set)
    timer.start()
    result = runtime.run(request)
    timer.join()
    assert result.outcome is Outcome.CANCELED
    assert result.usage.wall_ms < 5000
