"""``spell publisher``: settings of a publisher you own on the server (one noun per subgroup)."""

from __future__ import annotations

from spell.cli.lazy import verb_group

__all__ = ["group"]

group = verb_group(
    "publisher",
    __name__,
    {"sigstore": "The Sigstore identities allowed to sign your bundles, and whether they are required."},
    subgroups=("sigstore",),
    help_text="""Settings of a publisher your tenant owns on the server of your profile.

The first tenant to register a signing key for a publisher name owns it (`spell publish` registers
your key); only its makers change these settings.

\b
Example:
  spell publisher sigstore list acme
""",
)
