"""The blocking SDK against a live server: publish, cast and follow, artifacts, money, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from spell.client import Client, RetryPolicy
from spell.client.models import BudgetCaps, CastEvent
from spell.errors import AuthError, EgressDenied, ServerUnreachable, SpellNotFound
from spell.platform.budget.errors import BudgetCapExceeded
from spell.platform.ledger.errors import InsufficientCredits
from tests.api.money_helpers import credit
from tests.client.live_server import LiveServer, expire_key, free_port, maker_of, writer_bundle
from tests.fixtures.server import seed_user

NO_RETRY = RetryPolicy(max_retries=0)


def _published(live: LiveServer, tmp_path: Path, *, priced: bool = True) -> Client:
    """A maker's client whose publisher key is registered and whose writer spell is published."""
    maker = maker_of(live)
    assert maker.publisher is not None
    client = Client(live.url, maker.token)
    client.spells.register_key("acme", maker.publisher.key_id, maker.publisher.public_key)
    client.spells.publish(writer_bundle(tmp_path / "writer", maker.publisher, priced=priced))
    return client


def test_publish_cast_follow_download_and_read_the_money(live: LiveServer, tmp_path: Path) -> None:
    caster = seed_user(live.platform, "caster@example.com", ["caster"])
    credit(live.platform, caster.user_id, 1_000_000)
    seen: list[CastEvent] = []
    with _published(live, tmp_path) as maker, Client(live.url, caster.token) as client:
        assert client.me().user_id == caster.user_id
        assert client.spells.get("acme/writer").latest.signer_key_id == "k1"
        cast = client.cast("acme/writer", "w:report.txt", wait=True, on_event=seen.append)
        assert cast.status == "succeeded"
        assert seen[-1].type == "succeeded"
        assert [e.id for e in seen] == sorted({e.id for e in seen})
        artifacts = client.casts.artifacts(cast.id).items
        assert [a.name for a in artifacts] == ["out/report.txt"]
        assert client.artifacts.download(artifacts[0]) == b"x"
        assert client.artifacts.save(artifacts[0], tmp_path).read_bytes() == b"x"
        usage = client.usage()
        assert [(i.spell, i.amount_micros, i.casts) for i in usage.items] == [("acme/writer", 250_000, 1)]
        entries = list(client.ledger())
        assert sum(e.amount_micros for e in entries if e.account == "wallet") == 1_000_000 - 250_000
        assert client.budget.get().balance_micros == 750_000
        assert [s.spell_id for s in maker.earnings().spells] == ["acme/writer"]


def test_events_resume_after_the_last_event_id_given(live: LiveServer, tmp_path: Path) -> None:
    with _published(live, tmp_path, priced=False) as client:
        cast = client.cast("acme/writer", "w:a.txt", wait=True)
        every = list(client.casts.events(cast.id))
        later = list(client.casts.events(cast.id, after=every[0].id))
        assert [e.id for e in later] == [e.id for e in every[1:]]
        assert later[-1].is_terminal


def test_a_long_poll_answers_with_the_ended_cast(live: LiveServer, tmp_path: Path) -> None:
    with _published(live, tmp_path, priced=False) as client:
        queued = client.cast("acme/writer", "w:a.txt")
        assert client.casts.get(queued.id, wait=30).status == "succeeded"


class _CutStream(httpx.SyncByteStream):
    """The first event of a chunk, then a dropped connection."""

    def __init__(self, chunk: bytes) -> None:
        self.chunk = chunk

    def __iter__(self) -> Iterator[bytes]:
        yield self.chunk[: self.chunk.index(b"\n\n") + 2]
        raise httpx.ReadError("connection dropped")


class _Forwarding(httpx.BaseTransport):
    """Sends every request to the live server; subclasses break some of the exchanges."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.seen: list[str | None] = []

    def close(self) -> None:
        self.inner.close()


class _BreakFirstStream(_Forwarding):
    """Cuts the first event stream after its first chunk: a dropped connection, which the client
    must resume with ``Last-Event-ID`` (each stream's header is kept in ``seen``)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not request.url.path.endswith("/events"):
            return response
        self.seen.append(request.headers.get("Last-Event-ID"))
        if len(self.seen) > 1:
            return response
        stream = response.stream
        assert isinstance(stream, httpx.SyncByteStream)
        first = next(iter(stream))
        response.close()
        return httpx.Response(200, headers=response.headers, stream=_CutStream(first), request=request)


def test_a_dropped_event_stream_is_resumed_with_last_event_id(live: LiveServer, tmp_path: Path) -> None:
    with _published(live, tmp_path, priced=False) as maker:
        cast = maker.cast("acme/writer", "w:a.txt", wait=True)
        expected = [e.id for e in maker.casts.events(cast.id)]
        transport = _BreakFirstStream()
        key = maker.settings.api_key
        with Client(live.url, key, transport=transport, retry=RetryPolicy(backoff=0.01)) as client:
            got = [e.id for e in client.casts.events(cast.id)]
        assert got == expected
        assert transport.seen == [None, str(expected[0])]


class _LoseFirstCastAnswer(_Forwarding):
    """Lets the first cast request reach the server, then loses its answer (as a broken connection);
    each cast's ``Idempotency-Key`` is kept in ``seen``."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith("/cast"):
            self.seen.append(request.headers.get("Idempotency-Key"))
            if len(self.seen) == 1:
                response.read()
                raise httpx.ReadError("answer lost")
        return response


def test_a_cast_whose_answer_is_lost_is_retried_with_the_same_idempotency_key(
    live: LiveServer, tmp_path: Path
) -> None:
    with _published(live, tmp_path, priced=False) as maker:
        transport = _LoseFirstCastAnswer()
        with Client(
            live.url, maker.settings.api_key, transport=transport, retry=RetryPolicy(backoff=0.01)
        ) as client:
            cast = client.cast("acme/writer", "w:a.txt")
        assert len(transport.seen) == 2
        assert transport.seen[0] == transport.seen[1] is not None
        assert cast.idempotent_replay is True
        assert [c.id for c in maker.casts.list()] == [cast.id]


def test_an_explicit_idempotency_key_replays_the_same_cast(live: LiveServer, tmp_path: Path) -> None:
    with _published(live, tmp_path, priced=False) as client:
        first = client.cast("acme/writer", "w:a.txt", idempotency_key="once")
        again = client.cast("acme/writer", "w:a.txt", idempotency_key="once")
        assert again.id == first.id
        assert again.idempotent_replay
        assert not first.idempotent_replay


def test_casts_are_listed_across_pages(live: LiveServer, tmp_path: Path) -> None:
    with _published(live, tmp_path, priced=False) as client:
        made = [client.cast("acme/writer", f"w:{n}.txt", wait=True).id for n in range(5)]
        listed = [c.id for c in client.casts.list(limit=2)]
        assert listed == made[::-1]
        assert [
            c.id for c in client.casts.list(spell_id="acme/writer", status="succeeded", limit=3)
        ] == listed


def test_cancel_and_retry_answer_the_server_errors(live: LiveServer, tmp_path: Path) -> None:
    with _published(live, tmp_path, priced=False) as client:
        cast = client.cast("acme/writer", "w:a.txt", wait=True)
        from spell.platform.cast.errors import AlreadyTerminal, NotRetryable

        with pytest.raises(AlreadyTerminal) as ended:
            client.casts.cancel(cast.id)
        assert ended.value.code == "ALREADY_TERMINAL"
        with pytest.raises(NotRetryable):
            client.casts.retry(cast.id)


def test_keys_buttons_versions_and_estimate_round_trip(live: LiveServer, tmp_path: Path) -> None:
    with _published(live, tmp_path) as client:
        created = client.keys.create("ci", scopes=["spell:read"])
        assert created.token.startswith("sk_")
        assert created.id in [k.id for k in client.keys.list().items]
        with Client(live.url, created.token) as narrow:
            assert narrow.spells.versions("acme/writer").items[0].version == "1.0.0"
        assert client.keys.revoke(created.id).revoked_at is not None
        with pytest.raises(AuthError), Client(live.url, created.token, retry=NO_RETRY) as revoked:
            revoked.me()
        assert client.spells.estimate("acme/writer").estimate.amount_micros == 250_000
        button = client.buttons.create("go", "acme/writer", "1.0.0", label="Go", require_signature=True)
        assert [b.id for b in client.buttons.list().items] == [button.id]
        assert client.buttons.delete("go").deleted
        assert [s.id for s in client.spells.list(q="writer")] == ["acme/writer"]


def test_a_publisher_reads_its_notices_and_sets_its_webhook(live: LiveServer, tmp_path: Path) -> None:
    with _published(live, tmp_path, priced=False) as client:
        assert client.spells.notices("acme").items == []
        assert client.spells.set_webhook("acme", None).url is None
        with pytest.raises(EgressDenied):
            client.spells.set_webhook("acme", "https://127.0.0.1/hook")  # an address, not a public name


def test_a_wrong_key_raises_auth_error(live: LiveServer) -> None:
    with Client(live.url, "sk_live_wrong", retry=NO_RETRY) as client, pytest.raises(AuthError) as caught:
        client.me()
    assert caught.value.code == "UNAUTHORIZED"
    assert caught.value.details.get("request_id")


def test_an_expired_key_raises_auth_error(live: LiveServer) -> None:
    caller = seed_user(live.platform, "old@example.com", ["caster"])
    expire_key(live, caller)
    with Client(live.url, caller.token, retry=NO_RETRY) as client, pytest.raises(AuthError) as caught:
        client.me()
    assert caught.value.code == "UNAUTHORIZED"


def test_an_unknown_spell_raises_its_not_found_class(live: LiveServer) -> None:
    caller = seed_user(live.platform, "c@example.com", ["caster"])
    with Client(live.url, caller.token) as client, pytest.raises(SpellNotFound) as caught:
        client.spells.get("acme/missing")
    assert caught.value.code == "SPELL_NOT_FOUND"


def test_an_unreachable_server_raises_server_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = Client(url, "sk_x", retry=RetryPolicy(max_retries=2, backoff=0.01))
    with client, pytest.raises(ServerUnreachable) as caught:
        client.me()
    assert caught.value.code == "SERVER_UNREACHABLE"
    assert caught.value.details == {"server": url}


def test_no_credit_is_a_402_insufficient_credits(live: LiveServer, tmp_path: Path) -> None:
    _published(live, tmp_path).close()
    caster = seed_user(live.platform, "poor@example.com", ["caster"])
    with Client(live.url, caster.token) as client, pytest.raises(InsufficientCredits) as caught:
        client.cast("acme/writer", "w:a.txt")
    assert caught.value.status_code == 402


def test_a_daily_budget_cap_is_a_402_with_retry_after(live: LiveServer, tmp_path: Path) -> None:
    _published(live, tmp_path).close()
    caster = seed_user(live.platform, "capped@example.com", ["caster"])
    credit(live.platform, caster.user_id, 1_000_000)
    with Client(live.url, caster.token) as client:
        assert client.budget.set(BudgetCaps(daily_micros=1)).caps.daily_micros == 1
        with pytest.raises(BudgetCapExceeded) as caught:
            client.cast("acme/writer", "w:a.txt")
    assert caught.value.code == "BUDGET_CAP_EXCEEDED"
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 86_400
    assert caught.value.details["window"] == "daily"
