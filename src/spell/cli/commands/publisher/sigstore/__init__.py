"""``spell publisher sigstore``: which Sigstore identities may sign a publisher's bundles (one verb per
module)."""

from __future__ import annotations

from spell.cli.lazy import verb_group

__all__ = ["group"]

group = verb_group(
    "sigstore",
    __name__,
    {
        "add": "Allow a certificate identity and OIDC issuer to sign the publisher's bundles.",
        "list": "Show the publisher's Sigstore identities and whether Sigstore is required.",
        "remove": "Revoke an identity: bundles it signed no longer publish.",
        "require": "Require a verified spell.sigstore.json on every publish (--off to stop).",
    },
    help_text="""The Sigstore identities allowed to sign a publisher's bundles on the server.

A bundle carrying spell.sigstore.json (a Sigstore bundle over the digest, made with
`python -m sigstore sign`) is verified at publish, offline, against the server's pinned trusted
root and these identities; any one matching is enough and the version records it. With `require`,
a bundle without a valid one is refused (422 SIGSTORE_INVALID). See docs/supply-chain.md.

\b
Example:
  spell publisher sigstore add acme \\
    --identity https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main \\
    --issuer https://token.actions.githubusercontent.com
  spell publisher sigstore require acme
""",
)
