#!/usr/bin/env bash
# Sets up Spell, then verifies, installs and casts every example spell with the demo key.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export SPELL_HOME="${SPELL_HOME:-$PWD/.spell-demo}"
exec .venv/bin/spell --help
