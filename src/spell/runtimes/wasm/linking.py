"""Linkers shared by all casts of an engine, and the per-thread context their host functions read.

A linker holds only import definitions (WASI, the bounded ``poll_oneoff``, and ``spell.http_request``
in the egress linker); everything a cast owns — WASI context, limits, fuel, output, egress state —
lives in its fresh ``Store`` or in the ``HostContext`` bound to the thread running it. Sharing them
lets each module be pre-linked once (``InstancePre``) instead of re-resolving imports per cast.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import wasmtime

from spell.runtimes.wasm.clock import define_poll_oneoff
from spell.runtimes.wasm.egress import EgressClient, define_http_request
from spell.runtimes.wasm.interrupt import Watch

__all__ = ["HostContext", "Linkers", "bind", "current"]


@dataclass(frozen=True)
class HostContext:
    """What host functions need to know about the cast running on this thread."""

    watch: Watch
    egress: EgressClient | None


_LOCAL = threading.local()


def current() -> HostContext | None:
    """The context of the cast running on the calling thread (a host function's caller)."""
    ctx: HostContext | None = getattr(_LOCAL, "ctx", None)
    return ctx


def bind(ctx: HostContext | None) -> HostContext | None:
    """Bind ``ctx`` to this thread while a guest runs on it; returns the previous one to restore."""
    previous = current()
    _LOCAL.ctx = ctx
    return previous


class Linkers:
    """The plain and the egress linker of one engine, plus pre-linked modules (bounded LRU)."""

    def __init__(self, engine: wasmtime.Engine, *, capacity: int) -> None:
        self._plain = _linker(engine, egress=False)
        self._egress = _linker(engine, egress=True)
        self._capacity = capacity
        self._pre: OrderedDict[tuple[str, bool], wasmtime.InstancePre] = OrderedDict()
        self._lock = threading.Lock()

    def pre(self, digest: str, module: wasmtime.Module, *, egress: bool) -> wasmtime.InstancePre:
        """The module linked against the right linker (raises ``WasmtimeError`` on unknown imports)."""
        key = (digest, egress)
        with self._lock:
            found = self._pre.get(key)
            if found is not None:
                self._pre.move_to_end(key)
                return found
        linked = (self._egress if egress else self._plain).instantiate_pre(module)
        with self._lock:
            self._pre[key] = linked
            while len(self._pre) > self._capacity:
                self._pre.popitem(last=False)
        return linked


def _linker(engine: wasmtime.Engine, *, egress: bool) -> wasmtime.Linker:
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    linker.allow_shadowing = True
    define_poll_oneoff(linker, lambda: _watch())
    if egress:
        define_http_request(linker, lambda: _egress())
    return linker


def _watch() -> Watch | None:
    ctx = current()
    return ctx.watch if ctx is not None else None


def _egress() -> EgressClient | None:
    ctx = current()
    return ctx.egress if ctx is not None else None
