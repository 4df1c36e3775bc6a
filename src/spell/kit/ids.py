"""Prefixed, sortable, random ids (``cast_01J…``): 48-bit ms time + 80 random bits, Crockford base32."""

from __future__ import annotations

import os
import threading
import time

__all__ = ["new_id"]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_LOCK = threading.Lock()
_last_ms = 0
_last_random = 0


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """Return ``<prefix>_<26 chars>``; ids this process makes later sort later, and never collide in
    practice.

    Within one millisecond the random part of the next id is the last one plus one (as monotonic
    ULIDs do), so rows written in a burst keep their order when sorted by id.
    """
    if now_ms is None:
        ms, random_part = _next_now()
    else:
        ms, random_part = now_ms, int.from_bytes(os.urandom(10), "big")
    value = (ms << _RANDOM_BITS) | random_part
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def _next_now() -> tuple[int, int]:
    global _last_ms, _last_random
    ms = int(time.time() * 1000)
    fresh = int.from_bytes(os.urandom(10), "big")
    with _LOCK:
        if ms > _last_ms:
            _last_ms, _last_random = ms, fresh
        elif _last_random + 1 < 1 << _RANDOM_BITS:
            _last_random += 1  # the same millisecond (or the clock stepped back): one past the last
        else:
            _last_ms, _last_random = _last_ms + 1, fresh
        return _last_ms, _last_random
