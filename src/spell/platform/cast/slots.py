"""Per-tenant shares of a pool of cast threads: one tenant's casts never hold all of them.

A tenant at its share takes no more threads; its further casts wait queued while other tenants'
casts run. Waiters register a callback, called (outside the lock) when one of that tenant's casts
ends, so a parked job is resumed without polling and without a window in which a slot frees unseen.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Callable

__all__ = ["TenantSlots"]


class TenantSlots:
    """At most ``per_tenant`` casts of each tenant at once (0: no cap)."""

    def __init__(self, per_tenant: int) -> None:
        if per_tenant < 0:
            raise ValueError("per_tenant must be 0 (no cap) or more")
        self.per_tenant = per_tenant
        self._lock = threading.Lock()
        self._running: dict[str, int] = defaultdict(int)
        self._waiting: dict[str, deque[Callable[[], None]]] = defaultdict(deque)

    def take(self, tenant_id: str, *, or_wait: Callable[[], None] | None = None) -> bool:
        """Take one of the tenant's slots; False when it holds all of them.

        With ``or_wait``, a refused caller is called back once when one of the tenant's casts ends
        (it should then try again).
        """
        if self.per_tenant == 0:
            return True
        with self._lock:
            if self._running[tenant_id] < self.per_tenant:
                self._running[tenant_id] += 1
                return True
            if or_wait is not None:
                self._waiting[tenant_id].append(or_wait)
            return False

    def give_back(self, tenant_id: str) -> None:
        """Free one of the tenant's slots and wake the first of its waiters."""
        if self.per_tenant == 0:
            return
        with self._lock:
            left = self._running[tenant_id] - 1
            if left > 0:
                self._running[tenant_id] = left
            else:
                self._running.pop(tenant_id, None)
            waiters = self._waiting.get(tenant_id)
            wake = waiters.popleft() if waiters else None
            if waiters is not None and not waiters:
                self._waiting.pop(tenant_id, None)
        if wake is not None:
            wake()

    def running(self, tenant_id: str) -> int:
        """How many of the tenant's slots are taken."""
        with self._lock:
            return self._running.get(tenant_id, 0)
