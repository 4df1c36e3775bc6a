#!/usr/bin/env bash
# Regenerate the console screenshots under docs/console/ by running the browser tests that show each page.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
SPELL_CONSOLE_SCREENSHOTS=1 SPELL_TEST_REQUIRE_SERVICES=1 PYTHONPATH="$PWD/src" \
  "$PY" -m pytest -q -p no:cacheprovider tests/web -k "browser" "$@"
