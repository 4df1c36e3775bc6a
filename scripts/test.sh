#!/usr/bin/env bash
# Sets up and runs the whole test suite: lint, types, tests (services required).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/services.sh
export SPELL_TEST_REQUIRE_SERVICES="${SPELL_TEST_REQUIRE_SERVICES:-1}"
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
if [ -x examples/spells/build.sh ]; then ./examples/spells/build.sh --check; fi
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
