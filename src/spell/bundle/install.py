"""Install a bundle from any source into the local store.

Order: fetch (into a temporary folder) → load the manifest → recompute the digest (a bundle whose
digest cannot be computed is refused) → compare it with a registry digest pin → ask the caller's
``signature_check`` for the signature status (recorded in ``source.json``; unsigned bundles are
installed, as spell-runtime does — casting is where signatures are enforced) → atomic store add.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from spell.bundle.digest import bundle_digest
from spell.bundle.loaders import load_manifest
from spell.bundle.manifest import SpellManifest
from spell.bundle.provenance import SourceRecord
from spell.bundle.sources import FetchContext, Fetched, fetch
from spell.bundle.store import AddOutcome, LocalStore
from spell.errors import PinMismatch
from spell.kit.time import utcnow

__all__ = ["SignatureCheck", "install", "install_fetched"]

SignatureCheck = Callable[[Path, SpellManifest], str]
"""Returns the signature status of a bundle folder: verified, unsigned, untrusted or invalid."""


def install(
    source: str,
    store: LocalStore,
    ctx: FetchContext,
    *,
    signature_check: SignatureCheck | None = None,
    force: bool = False,
) -> AddOutcome:
    """Fetch ``source`` and add it to ``store``; a failure at any step leaves the store untouched."""
    with tempfile.TemporaryDirectory(prefix="spell-install-") as work:
        fetched = fetch(source, Path(work), ctx)
        return install_fetched(fetched, store, signature_check=signature_check, force=force)


def install_fetched(
    fetched: Fetched,
    store: LocalStore,
    *,
    signature_check: SignatureCheck | None = None,
    force: bool = False,
) -> AddOutcome:
    """Add a bundle an edge already fetched (a server download, say) exactly as ``install`` does:
    manifest, recomputed digest against ``expected_digest``, signature status, atomic store add."""
    manifest = load_manifest(fetched.root)
    digest = bundle_digest(fetched.root, manifest).text
    if fetched.expected_digest and fetched.expected_digest.lower() != digest.lower():
        raise PinMismatch(
            f"{fetched.kind} digest mismatch: expected {fetched.expected_digest}, got {digest}",
            details={"id": manifest.id, "expected": fetched.expected_digest, "actual": digest},
        )
    status = signature_check(fetched.root, manifest) if signature_check else None
    record = SourceRecord(
        kind=fetched.kind,
        source=fetched.source,
        installed_at=utcnow(),
        ref=fetched.ref,
        commit=fetched.commit,
        image=fetched.image,
        url=fetched.url,
        registry=fetched.registry,
        digest=digest,
        signature=status,
    )
    return store.add(fetched.root, manifest, record, force=force)
