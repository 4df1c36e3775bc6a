"""Every ``/v1`` request the SDK makes, built once for the sync and the async client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from spell.bundle.archive import pack_bundle
from spell.client._core import Call, cast_call, model_call, new_idempotency_key, page_params
from spell.client.models import (
    ArtifactList,
    BudgetCaps,
    BudgetView,
    ButtonList,
    ButtonOut,
    CastList,
    CastOut,
    Deleted,
    EarningsOut,
    EstimateOut,
    KeyCreated,
    KeyList,
    KeyOut,
    LedgerPage,
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
)
from spell.kit.time import to_rfc3339

__all__ = [
    "archive_bytes",
    "artifact_bytes",
    "budget_get",
    "budget_set",
    "button_create",
    "button_delete",
    "button_press",
    "buttons_list",
    "cast_artifacts",
    "cast_cancel",
    "cast_create",
    "cast_events",
    "cast_get",
    "cast_retry",
    "casts_page",
    "earnings",
    "estimate",
    "key_create",
    "key_revoke",
    "key_rotate",
    "keys_list",
    "ledger_page",
    "me",
    "publish",
    "publisher_key_register",
    "publisher_key_revoke",
    "publisher_notices",
    "publisher_webhook_set",
    "sigstore_identities_list",
    "sigstore_identity_register",
    "sigstore_identity_revoke",
    "sigstore_policy_set",
    "spell_get",
    "spell_update",
    "spells_page",
    "usage",
    "version_archive",
    "version_sbom",
    "version_yank",
    "versions_list",
]


def _seg(value: str) -> str:
    """A path segment; spell ids keep their ``/`` (``publisher/name``)."""
    return quote(value, safe="/@")


def me() -> Call[MeOut]:
    """``GET /v1/me``."""
    return model_call("GET", "/v1/me", MeOut)


def archive_bytes(source: bytes | Path | str) -> bytes:
    """A canonical archive: given as bytes, a ``.tar`` file, or a bundle folder packed here."""
    if isinstance(source, bytes):
        return source
    path = Path(source)
    return pack_bundle(path) if path.is_dir() else path.read_bytes()


def publish(archive: bytes, visibility: str, tags: Sequence[str]) -> Call[PublishedVersion]:
    """``POST /v1/spells`` with the archive as an ``application/x-tar`` body."""
    params: list[tuple[str, Any]] = [("visibility", visibility), *(("tag", t) for t in tags)]
    return model_call(
        "POST",
        "/v1/spells",
        PublishedVersion,
        content=archive,
        params=params,
        headers={"Content-Type": "application/x-tar"},
    )


def publisher_key_register(publisher: str, key_id: str, public_key: str) -> Call[PublisherKeyOut]:
    """``POST /v1/publishers/{publisher}/keys``."""
    body = {"key_id": key_id, "public_key": public_key}
    return model_call("POST", f"/v1/publishers/{_seg(publisher)}/keys", PublisherKeyOut, json=body)


def publisher_key_revoke(publisher: str, key_id: str) -> Call[PublisherKeyOut]:
    """``DELETE /v1/publishers/{publisher}/keys/{key_id}``."""
    return model_call("DELETE", f"/v1/publishers/{_seg(publisher)}/keys/{_seg(key_id)}", PublisherKeyOut)


def sigstore_identity_register(publisher: str, identity: str, issuer: str) -> Call[SigstoreIdentityOut]:
    """``POST /v1/publishers/{publisher}/sigstore-identities``."""
    body = {"identity": identity, "issuer": issuer}
    path = f"/v1/publishers/{_seg(publisher)}/sigstore-identities"
    return model_call("POST", path, SigstoreIdentityOut, json=body)


def sigstore_identities_list(publisher: str) -> Call[SigstorePolicyOut]:
    """``GET /v1/publishers/{publisher}/sigstore-identities``."""
    return model_call("GET", f"/v1/publishers/{_seg(publisher)}/sigstore-identities", SigstorePolicyOut)


def sigstore_identity_revoke(publisher: str, identity_id: str) -> Call[SigstoreIdentityOut]:
    """``DELETE /v1/publishers/{publisher}/sigstore-identities/{id}``."""
    path = f"/v1/publishers/{_seg(publisher)}/sigstore-identities/{_seg(identity_id)}"
    return model_call("DELETE", path, SigstoreIdentityOut)


def sigstore_policy_set(publisher: str, required: bool) -> Call[SigstorePolicyOut]:
    """``PUT /v1/publishers/{publisher}/sigstore-policy``."""
    path = f"/v1/publishers/{_seg(publisher)}/sigstore-policy"
    return model_call("PUT", path, SigstorePolicyOut, json={"required": required})


def publisher_notices(publisher: str, limit: int) -> Call[NoticeList]:
    """``GET /v1/publishers/{publisher}/notices``."""
    return model_call("GET", f"/v1/publishers/{_seg(publisher)}/notices", NoticeList, params={"limit": limit})


def publisher_webhook_set(publisher: str, url: str | None) -> Call[PublisherWebhookOut]:
    """``PUT /v1/publishers/{publisher}/webhook``."""
    return model_call(
        "PUT", f"/v1/publishers/{_seg(publisher)}/webhook", PublisherWebhookOut, json={"url": url}
    )


def spells_page(cursor: str | None, q: str | None, tag: str | None, sort: str, limit: int) -> Call[SpellList]:
    """``GET /v1/spells`` (one page)."""
    params = page_params(cursor, q=q, tag=tag, sort=sort, limit=limit)
    return model_call("GET", "/v1/spells", SpellList, params=params)


def spell_get(spell_id: str) -> Call[SpellDetail]:
    """``GET /v1/spells/{id}``."""
    return model_call("GET", f"/v1/spells/{_seg(spell_id)}", SpellDetail)


def spell_update(spell_id: str, visibility: str) -> Call[SpellOut]:
    """``PATCH /v1/spells/{id}``."""
    return model_call("PATCH", f"/v1/spells/{_seg(spell_id)}", SpellOut, json={"visibility": visibility})


def versions_list(spell_id: str) -> Call[VersionList]:
    """``GET /v1/spells/{id}/versions``."""
    return model_call("GET", f"/v1/spells/{_seg(spell_id)}/versions", VersionList)


def version_archive(spell_id: str, version: str) -> Call[VersionArchive]:
    """``GET /v1/spells/{id}/versions/{v}/archive``: the canonical tar and its ``X-Spell-Digest``."""
    path = f"/v1/spells/{_seg(spell_id)}/versions/{_seg(version)}/archive"
    return Call(
        "GET",
        path,
        lambda response: VersionArchive(
            content=response.content,
            digest=response.headers.get("X-Spell-Digest"),
            license=response.headers.get("X-Spell-License"),
            license_issuer=response.headers.get("X-Spell-License-Issuer"),
            license_key=response.headers.get("X-Spell-License-Key"),
        ),
    )


def purchase(spell_id: str, idempotency_key: str | None) -> Call[dict[str, Any]]:
    """``POST /v1/spells/{id}/purchase``: buy a ``one_time`` spell once (retries are safe: keyed)."""
    headers = {"Idempotency-Key": idempotency_key or new_idempotency_key()}
    path = f"/v1/spells/{_seg(spell_id)}/purchase"
    return Call("POST", path, lambda response: dict(response.json()), headers=headers)


def version_sbom(spell_id: str, version: str) -> Call[VersionSbomOut]:
    """``GET /v1/spells/{id}/versions/{v}/sbom``."""
    return model_call("GET", f"/v1/spells/{_seg(spell_id)}/versions/{_seg(version)}/sbom", VersionSbomOut)


def version_yank(spell_id: str, version: str, undo: bool) -> Call[VersionOut]:
    """``POST /v1/spells/{id}/versions/{v}/yank``."""
    path = f"/v1/spells/{_seg(spell_id)}/versions/{_seg(version)}/yank"
    return model_call("POST", path, VersionOut, params={"undo": "true"} if undo else None)


def estimate(spell_id: str, version: str | None, input: Any) -> Call[EstimateOut]:
    """``POST /v1/spells/{id}/estimate``."""
    body = {"version": version, "input": input}
    return model_call("POST", f"/v1/spells/{_seg(spell_id)}/estimate", EstimateOut, json=body)


def cast_create(
    spell_id: str,
    input: Any,
    *,
    version: str | None,
    webhook_url: str | None,
    idempotency_key: str | None,
    wait: float,
) -> Call[CastOut]:
    """``POST /v1/spells/{id}/cast``."""
    body = {"input": input, "version": version, "webhook_url": webhook_url}
    return cast_call(f"/v1/spells/{_seg(spell_id)}/cast", body, idempotency_key, wait)


def casts_page(cursor: str | None, status: str | None, spell_id: str | None, limit: int) -> Call[CastList]:
    """``GET /v1/casts`` (one page)."""
    params = page_params(cursor, status=status, spell_id=spell_id, limit=limit)
    return model_call("GET", "/v1/casts", CastList, params=params)


def cast_get(cast_id: str, wait: int = 0) -> Call[CastOut]:
    """``GET /v1/casts/{id}`` (``wait`` long-polls up to that many seconds)."""
    params = {"wait": wait} if wait else None
    return model_call("GET", f"/v1/casts/{_seg(cast_id)}", CastOut, params=params, holds=float(wait))


def cast_cancel(cast_id: str) -> Call[CastOut]:
    """``POST /v1/casts/{id}/cancel``."""
    return model_call("POST", f"/v1/casts/{_seg(cast_id)}/cancel", CastOut)


def cast_retry(cast_id: str) -> Call[CastOut]:
    """``POST /v1/casts/{id}/retry``."""
    return model_call("POST", f"/v1/casts/{_seg(cast_id)}/retry", CastOut)


def cast_artifacts(cast_id: str) -> Call[ArtifactList]:
    """``GET /v1/casts/{id}/artifacts``."""
    return model_call("GET", f"/v1/casts/{_seg(cast_id)}/artifacts", ArtifactList)


def cast_events(cast_id: str) -> Call[None]:
    """``GET /v1/casts/{id}/events``: read as a stream, line by line, never parsed whole."""
    return Call("GET", f"/v1/casts/{_seg(cast_id)}/events", lambda _response: None)


def artifact_bytes(url: str) -> Call[bytes]:
    """``GET`` a signed artifact URL (as listed by ``cast_artifacts``), and the presigned URL of the
    bucket it redirects to when artifacts are kept in S3."""
    return Call("GET", url, lambda response: response.content, follow_redirects=True)


def budget_get() -> Call[BudgetView]:
    """``GET /v1/budget``."""
    return model_call("GET", "/v1/budget", BudgetView)


def budget_set(caps: BudgetCaps) -> Call[BudgetView]:
    """``PUT /v1/budget``."""
    return model_call("PUT", "/v1/budget", BudgetView, json=caps.model_dump())


def usage(start: datetime | None, end: datetime | None, group_by: str) -> Call[UsageOut]:
    """``GET /v1/usage``."""
    params = {"group_by": group_by}
    if start is not None:
        params["from"] = to_rfc3339(start)
    if end is not None:
        params["to"] = to_rfc3339(end)
    return model_call("GET", "/v1/usage", UsageOut, params=params)


def ledger_page(cursor: str | None, limit: int) -> Call[LedgerPage]:
    """``GET /v1/ledger`` (one page)."""
    return model_call("GET", "/v1/ledger", LedgerPage, params=page_params(cursor, limit=limit))


def earnings() -> Call[EarningsOut]:
    """``GET /v1/earnings``."""
    return model_call("GET", "/v1/earnings", EarningsOut)


def keys_list() -> Call[KeyList]:
    """``GET /v1/keys``."""
    return model_call("GET", "/v1/keys", KeyList)


def key_create(
    name: str, scopes: Sequence[str] | None, expires_at: datetime | None, test: bool
) -> Call[KeyCreated]:
    """``POST /v1/keys``."""
    body = {
        "name": name,
        "scopes": None if scopes is None else list(scopes),
        "expires_at": to_rfc3339(expires_at) if expires_at is not None else None,
        "test": test,
    }
    return model_call("POST", "/v1/keys", KeyCreated, json=body)


def key_revoke(key_id: str) -> Call[KeyOut]:
    """``DELETE /v1/keys/{id}``."""
    return model_call("DELETE", f"/v1/keys/{_seg(key_id)}", KeyOut)


def key_rotate(key_id: str) -> Call[KeyCreated]:
    """``POST /v1/keys/{id}/rotate``."""
    return model_call("POST", f"/v1/keys/{_seg(key_id)}/rotate", KeyCreated)


def buttons_list() -> Call[ButtonList]:
    """``GET /v1/buttons``."""
    return model_call("GET", "/v1/buttons", ButtonList)


def button_create(body: dict[str, Any]) -> Call[ButtonOut]:
    """``POST /v1/buttons``."""
    return model_call("POST", "/v1/buttons", ButtonOut, json=body)


def button_delete(button_id: str) -> Call[Deleted]:
    """``DELETE /v1/buttons/{id}``."""
    return model_call("DELETE", f"/v1/buttons/{_seg(button_id)}", Deleted)


def button_press(
    button_id: str, input: Any, *, confirm: bool, idempotency_key: str | None, wait: float
) -> Call[CastOut]:
    """``POST /v1/buttons/{id}/cast``."""
    body = {"input": input, "confirm": confirm}
    return cast_call(f"/v1/buttons/{_seg(button_id)}/cast", body, idempotency_key, wait)
