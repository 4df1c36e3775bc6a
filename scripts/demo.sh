#!/usr/bin/env bash
# Sets up Spell, then verifies, installs and casts every example spell with the demo key, then runs
# `spell serve --demo`: a local server with the examples published, printing a working curl cast.
# Every folder under examples/spells/ that has a demo-input.json takes part (demo-input.json is
# not covered by the bundle digest, so it can change without re-signing).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export SPELL_HOME="${SPELL_HOME:-$PWD/.spell-demo}"
SPELL=.venv/bin/spell
PY=.venv/bin/python

echo "== trusting the demo key (publisher samples, key id demo) in $SPELL_HOME"
"$SPELL" trust add samples "$(cat examples/keys/samples__demo.public.b64url.txt)" --key-id demo >/dev/null 2>&1 ||
  "$SPELL" trust list >/dev/null

# The http-call example fetches from a server on this machine, which the egress rules close by
# default: the demo's policy opens loopback to host http steps (an existing policy file is kept).
if [ ! -f "$SPELL_HOME/policy.json" ]; then
  echo '{"version": "v1", "default": "allow", "network": {"allow_loopback": true}}' >"$SPELL_HOME/demo-policy.json"
  "$SPELL" policy set --file "$SPELL_HOME/demo-policy.json" >/dev/null
  rm -f "$SPELL_HOME/demo-policy.json"
fi

# The http-call example fetches from this local server (its demo-input.json names port 8765).
"$PY" -m http.server 8765 --bind 127.0.0.1 --directory examples/spells/http-call >/dev/null 2>&1 &
SERVER=$!
CAST_ERR=$(mktemp)
trap 'kill "$SERVER" 2>/dev/null || true; rm -f "$CAST_ERR"' EXIT
for _ in $(seq 50); do
  "$PY" -c 'import socket; socket.create_connection(("127.0.0.1", 8765), 0.1)' 2>/dev/null && break
  sleep 0.1
done

failed=0
for dir in examples/spells/*/; do
  dir="${dir%/}"
  [ -f "$dir/demo-input.json" ] || continue
  echo
  echo "== $(basename "$dir")"
  if ! "$SPELL" verify --path "$dir"; then failed=$((failed + 1)); continue; fi
  if ! "$SPELL" install "$dir" >/dev/null; then failed=$((failed + 1)); continue; fi
  id=$("$PY" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["id"])' "$dir/spell.yaml" 2>/dev/null ||
    "$SPELL" verify --path "$dir" --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["id"])')
  echo "-- spell cast $id --input $dir/demo-input.json"
  cast_ok=1
  "$SPELL" cast "$id" --input "$dir/demo-input.json" 2>"$CAST_ERR" || cast_ok=0
  cat "$CAST_ERR" >&2
  if [ "$cast_ok" -eq 0 ]; then
    # An egress example fails its cast when there is no network; that is the spell working as designed.
    if grep -q NETWORK_ERROR "$CAST_ERR"; then
      echo "-- $id needs the network, which this machine has not: not counted as a failure"
    else
      failed=$((failed + 1))
    fi
  fi
done

echo
if [ "$failed" -ne 0 ]; then
  echo "demo: $failed example(s) failed" >&2
  exit 1
fi
echo "demo: every example verified, installed and cast (logs: spell log <execution_id>)"

# Then the platform: the same examples published to a local server, cast over HTTP.
[ "${SPELL_DEMO_NO_SERVE:-0}" = "1" ] && exit 0
echo
echo "== spell serve --demo (http://127.0.0.1:${SPELL_DEMO_PORT:-8787}; Ctrl-C stops)"
kill "$SERVER" 2>/dev/null || true
"$SPELL" serve --demo --port "${SPELL_DEMO_PORT:-8787}"
