#!/usr/bin/env bash
# Regenerates every example's SBOM and signs the example again with the demo key (examples/keys/).
#   ./sign.sh   after changing an example, or after build.sh rebuilt a module
# The SBOM is in the digest, so it is written first and the signature last. Both steps are
# reproducible: the SBOM's time is SOURCE_DATE_EPOCH (unset: 1970-01-01) and Ed25519 is deterministic.
set -euo pipefail
cd "$(dirname "$0")"
SPELL="${SPELL:-$PWD/../../.venv/bin/spell}"
KEY="../keys/samples__demo.private.pem"
for dir in */; do
  name="${dir%/}"
  format=spdx
  [ -f "$name/sbom.cdx.json" ] && format=cyclonedx  # an example keeps the format it has
  "$SPELL" sbom generate "$name" --format "$format" --force >/dev/null
  "$SPELL" sign bundle "$name" --private-key "$KEY" --key-id demo >/dev/null
  echo "sign: $name"
done
