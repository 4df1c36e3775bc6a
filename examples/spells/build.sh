#!/usr/bin/env bash
# Rebuilds the example spells' modules, deterministically (same sources + same toolchain = same bytes).
#   ./build.sh           rebuild every spell.wasm in place (then re-sign: the module is in the digest)
#   ./build.sh --check   rebuild into a temp folder and fail if a committed spell.wasm differs
# Toolchains: wasmtime's wat2wasm (Python) for WAT; Debian's clang + lld + wasi-libc +
# libclang-rt-dev-wasm32 for C; Debian's /usr/bin/rustc + libstd-rust-dev-wasm32 for Rust (called by
# full path so a rustup rustc earlier on PATH does not change the bytes). See scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")"
HERE="$PWD"
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1
PY="${PYTHON:-$HERE/../../.venv/bin/python}"
CLANG="${CLANG:-clang}"
RUSTC="${RUSTC:-/usr/bin/rustc}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
status=0

wat() { "$PY" -c 'import sys, wasmtime; open(sys.argv[2], "wb").write(wasmtime.wat2wasm(open(sys.argv[1]).read()))' "$1" "$2"; }

c_wasi() {
  "$CLANG" --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Werror -ffile-prefix-map="$HERE"=. \
    -Wl,--strip-all "$1" -o "$2"
}

rust_wasi() {
  "$RUSTC" --edition 2021 --target wasm32-wasi -C opt-level=s -C debuginfo=0 -C strip=symbols \
    -C codegen-units=1 -C panic=abort --remap-path-prefix="$HERE"=. "$1" -o "$2"
}

build() {  # build NAME TOOL COMMAND SOURCE
  local name="$1" tool="$2" cmd="$3" src="$4"
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build: $name skipped, $tool not found (install the packages in scripts/setup.sh)" >&2
    return
  fi
  "$cmd" "$name/$src" "$OUT/$name.wasm"
  if [ "$CHECK" = 1 ]; then
    if cmp -s "$OUT/$name.wasm" "$name/spell.wasm"; then
      echo "build: $name/spell.wasm is current"
    else
      echo "build: $name/spell.wasm differs from a rebuild of $name/$src (run examples/spells/build.sh and re-sign)" >&2
      status=1
    fi
  else
    cp "$OUT/$name.wasm" "$name/spell.wasm"
    echo "build: $name/spell.wasm ($(wc -c <"$name/spell.wasm") bytes)"
  fi
}

build hello-wasm "$PY" wat hello.wat
build egress-wasm "$PY" wat egress.wat
build word-count-c "$CLANG" c_wasi main.c
build dict-lookup-rust "$RUSTC" rust_wasi main.rs
exit "$status"
