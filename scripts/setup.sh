#!/usr/bin/env bash
# Sets up everything Spell needs on a fresh Debian machine: system packages, a virtualenv, the project.
# Safe to run again; each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(git clang lld wasi-libc libclang-rt-dev-wasm32 rustc libstd-rust-dev-wasm32 wabt bubblewrap util-linux chromium)
need_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing system packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null || \
    echo "setup: some system packages could not be installed; example rebuilds may be skipped" >&2
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
echo "setup: installing spell-platform with extras ${SPELL_EXTRAS:-dev,server,postgres,nats,s3,github}"
.venv/bin/python -m pip install -q -e ".[${SPELL_EXTRAS:-dev,server,postgres,nats,s3,github}]" 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c "import spell" 
echo "setup: done"
