"""The blocking client: ``Client`` and one sub-client per resource."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from spell.client import _calls as calls
from spell.client._core import LONG_POLL_SECONDS, Call, ClientSettings, RetryPolicy, SseDecoder, next_delay
from spell.client._errors import error_from_response
from spell.client.models import (
    ArtifactList,
    ArtifactOut,
    BudgetCaps,
    BudgetView,
    ButtonList,
    ButtonOut,
    CastEvent,
    CastOut,
    Deleted,
    EarningsOut,
    EstimateOut,
    KeyCreated,
    KeyList,
    KeyOut,
    LedgerEntry,
    MeOut,
    NoticeList,
    PublishedVersion,
    PublisherKeyOut,
    PublisherWebhookOut,
    SigstoreIdentityOut,
    SigstorePolicyOut,
    SpellDetail,
    SpellList,
    SpellOut,
    UsageOut,
    VersionArchive,
    VersionList,
    VersionOut,
    VersionSbomOut,
    ended,
)
from spell.client.models import Paged as _Paged

__all__ = ["Client"]

T = TypeVar("T")
ItemT = TypeVar("ItemT", bound=BaseModel)
EventHook = Callable[[CastEvent], None]


class Client:
    """A blocking client of a Spell server.

    ``base_url`` and ``api_key`` default to ``SPELL_SERVER`` and ``SPELL_API_KEY``. Idempotent calls
    (GET, PUT, DELETE, and casts, which always carry an ``Idempotency-Key``) are retried with
    exponential backoff on connection failures and 429/502/503/504, honouring ``Retry-After``.
    Errors are raised as the ``spell.errors`` classes the server answered with. ``cast`` is
    ``casts.create``: cast a spell, and with ``wait=True`` follow it to its end.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = ClientSettings.resolve(base_url, api_key, timeout=timeout, retry=retry)
        self._http = httpx.Client(transport=transport, **self.settings.http_options())
        self.spells = Spells(self)
        self.casts = Casts(self)
        self.artifacts = Artifacts(self)
        self.budget = Budget(self)
        self.keys = Keys(self)
        self.buttons = Buttons(self)
        self.cast = self.casts.create

    def send(self, call: Call[T]) -> T:
        """Send one call, retrying it while that is safe; its parsed answer or the error."""
        attempt = 0
        while True:
            failed: httpx.Response | Exception
            try:
                failed = self._http.request(**self.settings.request(call))
            except httpx.TransportError as exc:
                failed = exc
            else:
                if failed.is_success:
                    return call.parse(failed)
            time.sleep(next_delay(self.settings, call, attempt, failed))
            attempt += 1

    def pages(self, page: Callable[[str | None], Call[_Paged[ItemT]]]) -> Iterator[ItemT]:
        """Every item of a cursor-paginated listing, fetching pages as the iteration reaches them."""
        cursor: str | None = None
        while True:
            result = self.send(page(cursor))
            yield from result.items
            if result.next_cursor is None:
                return
            cursor = result.next_cursor

    def me(self) -> MeOut:
        """The caller: user, tenant, roles and the scopes of this key."""
        return self.send(calls.me())

    def usage(
        self, *, start: datetime | None = None, end: datetime | None = None, group_by: str = "spell"
    ) -> UsageOut:
        """What you were charged between ``start`` and ``end`` (default: the last 30 days)."""
        return self.send(calls.usage(start, end, group_by))

    def ledger(self, *, limit: int = 50) -> Iterator[LedgerEntry]:
        """Your ledger postings, newest first, across every page."""
        return self.pages(lambda cursor: calls.ledger_page(cursor, limit))

    def earnings(self) -> EarningsOut:
        """Your tenant's earnings as a maker."""
        return self.send(calls.earnings())

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def stream_lines(self, call: Call[None], headers: dict[str, str]) -> Iterator[str]:
        """The lines of a streamed GET (a non-2xx answer raises its error)."""
        with self._http.stream(call.method, call.path, headers=headers) as response:
            if not response.is_success:
                response.read()
                raise error_from_response(response)
            yield from response.iter_lines()


class _Resource:
    def __init__(self, client: Client) -> None:
        self._client = client


class Spells(_Resource):
    """Spells, versions, publishing, publisher keys and Sigstore identities."""

    def list(
        self, *, q: str | None = None, tag: str | None = None, sort: str = "recent", limit: int = 20
    ) -> Iterator[SpellOut]:
        """Listed spells matching ``q`` and ``tag``, across every page."""
        return self._client.pages(lambda cursor: calls.spells_page(cursor, q, tag, sort, limit))

    def page(
        self,
        *,
        q: str | None = None,
        tag: str | None = None,
        sort: str = "recent",
        cursor: str | None = None,
        limit: int = 20,
    ) -> SpellList:
        """One page of listed spells (its ``next_cursor`` asks for the next one)."""
        return self._client.send(calls.spells_page(cursor, q, tag, sort, limit))

    def get(self, spell_id: str) -> SpellDetail:
        """A spell and its latest version."""
        return self._client.send(calls.spell_get(spell_id))

    def versions(self, spell_id: str) -> VersionList:
        """Every version of a spell, newest first."""
        return self._client.send(calls.versions_list(spell_id))

    def publish(
        self, archive: bytes | Path | str, *, visibility: str = "public", tags: Sequence[str] = ()
    ) -> PublishedVersion:
        """Publish a signed bundle: archive bytes, a ``.tar`` file, or a bundle folder (packed here); the
        answer carries the supply-chain gate's ``warnings``."""
        return self._client.send(calls.publish(calls.archive_bytes(archive), visibility, tags))

    def sbom(self, spell_id: str, version: str) -> VersionSbomOut:
        """The SBOM a version was published with, and its counts (components, advisories by severity,
        licences); ``SbomNotFound`` when it has none."""
        return self._client.send(calls.version_sbom(spell_id, version))

    def purchase(self, spell_id: str, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Buy a ``one_time`` spell once (a clone spell's archive is then yours to download); a spell
        you bought already answers ``charged: false``."""
        return self._client.send(calls.purchase(spell_id, idempotency_key))

    def archive(self, spell_id: str, version: str) -> VersionArchive:
        """A version's canonical archive as published, to install and verify locally."""
        return self._client.send(calls.version_archive(spell_id, version))

    def set_visibility(self, spell_id: str, visibility: str) -> SpellOut:
        """Change who may see a spell."""
        return self._client.send(calls.spell_update(spell_id, visibility))

    def yank(self, spell_id: str, version: str, *, undo: bool = False) -> VersionOut:
        """Yank a version (``undo`` restores it)."""
        return self._client.send(calls.version_yank(spell_id, version, undo))

    def estimate(self, spell_id: str, *, version: str | None = None, input: Any = None) -> EstimateOut:
        """The most one cast of this spell can cost."""
        return self._client.send(calls.estimate(spell_id, version, input))

    def register_key(self, publisher: str, key_id: str, public_key: str) -> PublisherKeyOut:
        """Register a publisher's Ed25519 public key (SPKI-DER, base64url)."""
        return self._client.send(calls.publisher_key_register(publisher, key_id, public_key))

    def revoke_key(self, publisher: str, key_id: str) -> PublisherKeyOut:
        """Revoke a publisher's signing key."""
        return self._client.send(calls.publisher_key_revoke(publisher, key_id))

    def register_sigstore_identity(self, publisher: str, identity: str, issuer: str) -> SigstoreIdentityOut:
        """Allow a Sigstore certificate identity and OIDC issuer to sign the publisher's bundles."""
        return self._client.send(calls.sigstore_identity_register(publisher, identity, issuer))

    def sigstore_identities(self, publisher: str) -> SigstorePolicyOut:
        """The publisher's Sigstore policy: required or not, and every identity registered."""
        return self._client.send(calls.sigstore_identities_list(publisher))

    def revoke_sigstore_identity(self, publisher: str, identity_id: str) -> SigstoreIdentityOut:
        """Revoke a Sigstore identity: bundles it signed no longer publish."""
        return self._client.send(calls.sigstore_identity_revoke(publisher, identity_id))

    def require_sigstore(self, publisher: str, *, required: bool = True) -> SigstorePolicyOut:
        """Require (or with ``required=False`` stop requiring) a verified Sigstore bundle on publish."""
        return self._client.send(calls.sigstore_policy_set(publisher, required))

    def notices(self, publisher: str, *, limit: int = 50) -> NoticeList:
        """What re-scans told the publisher about its versions (flagged, delisted, cleared), newest first."""
        return self._client.send(calls.publisher_notices(publisher, limit))

    def set_webhook(self, publisher: str, url: str | None) -> PublisherWebhookOut:
        """Where the publisher's supply-chain notices are posted (None: nowhere), signed as cast hooks."""
        return self._client.send(calls.publisher_webhook_set(publisher, url))


class Casts(_Resource):
    """Casting, following, cancelling and retrying casts."""

    def create(
        self,
        spell_id: str,
        input: Any = None,
        *,
        version: str | None = None,
        wait: bool = False,
        on_event: EventHook | None = None,
        idempotency_key: str | None = None,
        webhook_url: str | None = None,
    ) -> CastOut:
        """Cast a spell (an ``Idempotency-Key`` is made when none is given); with ``wait`` follow it to
        its end (as ``wait`` does: by long poll, or over its events for ``on_event``) and return the
        ended cast."""
        call = calls.cast_create(
            spell_id,
            {} if input is None else input,
            version=version,
            webhook_url=webhook_url,
            idempotency_key=idempotency_key,
            wait=0,
        )
        cast = self._client.send(call)
        return self.wait(cast.id, on_event=on_event) if wait and not ended(cast) else cast

    def wait(self, cast_id: str, *, on_event: EventHook | None = None) -> CastOut:
        """Follow a cast until it ends; the ended cast. Without ``on_event`` by long poll (``GET ?wait``,
        answered as soon as the cast ends: one request per minute of the cast); with it over the event
        stream, each event handed to ``on_event``, then one read of the ended cast."""
        if on_event is None:
            while True:
                cast = self.get(cast_id, wait=LONG_POLL_SECONDS)
                if ended(cast):
                    return cast
        for event in self.events(cast_id):
            on_event(event)
        return self.get(cast_id)

    def get(self, cast_id: str, *, wait: int = 0) -> CastOut:
        """One cast (``wait`` long-polls up to that many seconds for its end)."""
        return self._client.send(calls.cast_get(cast_id, wait))

    def list(
        self, *, status: str | None = None, spell_id: str | None = None, limit: int = 20
    ) -> Iterator[CastOut]:
        """Your tenant's casts, newest first, across every page."""
        return self._client.pages(lambda cursor: calls.casts_page(cursor, status, spell_id, limit))

    def events(self, cast_id: str, *, after: int | None = None) -> Iterator[CastEvent]:
        """The cast's events until its end, reconnecting with ``Last-Event-ID`` when the stream breaks."""
        decoder = SseDecoder()
        decoder.last_id = after
        call = calls.cast_events(cast_id)
        attempt = 0
        while True:
            try:
                for line in self._client.stream_lines(call, decoder.resume_headers()):
                    event = decoder.feed(line)
                    if event is not None:
                        attempt = 0
                        yield event
                return
            except httpx.TransportError as exc:
                time.sleep(next_delay(self._client.settings, call, attempt, exc))
                attempt += 1

    def cancel(self, cast_id: str) -> CastOut:
        """Cancel a queued or running cast."""
        return self._client.send(calls.cast_cancel(cast_id))

    def retry(self, cast_id: str) -> CastOut:
        """A new cast of the same request, linked by ``retry_of``."""
        return self._client.send(calls.cast_retry(cast_id))

    def artifacts(self, cast_id: str) -> ArtifactList:
        """The files a cast produced, each with a short-lived download URL."""
        return self._client.send(calls.cast_artifacts(cast_id))


class Artifacts(_Resource):
    """Downloading the files casts produced."""

    def download(self, artifact: ArtifactOut | str) -> bytes:
        """An artifact's bytes, from its listing or its signed URL."""
        url = artifact.url if isinstance(artifact, ArtifactOut) else artifact
        return self._client.send(calls.artifact_bytes(url))

    def save(self, artifact: ArtifactOut, folder: Path) -> Path:
        """Write an artifact under ``folder`` by its base name; the file written."""
        target = Path(folder) / Path(artifact.name).name
        target.write_bytes(self.download(artifact))
        return target


class Budget(_Resource):
    """Your budget caps and balance."""

    def get(self) -> BudgetView:
        """Caps, window usage and prepaid balance."""
        return self._client.send(calls.budget_get())

    def set(self, caps: BudgetCaps) -> BudgetView:
        """Replace your caps (integer micro-units, None = no cap)."""
        return self._client.send(calls.budget_set(caps))


class Keys(_Resource):
    """Your API keys."""

    def list(self) -> KeyList:
        """Your keys (never their secrets)."""
        return self._client.send(calls.keys_list())

    def create(
        self,
        name: str = "default",
        *,
        scopes: Sequence[str] | None = None,
        expires_at: datetime | None = None,
        test: bool = False,
    ) -> KeyCreated:
        """A new key; its ``token`` is shown in this answer only."""
        return self._client.send(calls.key_create(name, scopes, expires_at, test))

    def revoke(self, key_id: str) -> KeyOut:
        """Revoke a key at once."""
        return self._client.send(calls.key_revoke(key_id))

    def rotate(self, key_id: str) -> KeyCreated:
        """A new key with the same scopes; the old one works until its grace period ends."""
        return self._client.send(calls.key_rotate(key_id))


class Buttons(_Resource):
    """Buttons: a fixed spell version others may press."""

    def list(self) -> ButtonList:
        """Buttons of your tenant and those shared with it."""
        return self._client.send(calls.buttons_list())

    def create(self, button_id: str, spell_id: str, version: str, **options: Any) -> ButtonOut:
        """Create a button (``options``: label, allowed_roles, allowed_tenants, require_*)."""
        body = {"id": button_id, "spell_id": spell_id, "version": version, **options}
        return self._client.send(calls.button_create(body))

    def delete(self, button_id: str) -> Deleted:
        """Delete one of your tenant's buttons."""
        return self._client.send(calls.button_delete(button_id))

    def press(
        self,
        button_id: str,
        input: Any = None,
        *,
        confirm: bool = False,
        wait: bool = False,
        idempotency_key: str | None = None,
    ) -> CastOut:
        """Cast the button's spell; with ``wait`` follow the cast to its end."""
        call = calls.button_press(
            button_id,
            {} if input is None else input,
            confirm=confirm,
            idempotency_key=idempotency_key,
            wait=0,
        )
        cast = self._client.send(call)
        return self._client.casts.wait(cast.id) if wait and not ended(cast) else cast
