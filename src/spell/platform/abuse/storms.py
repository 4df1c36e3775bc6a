"""Rate-limit storms: a user refused many casts within one minute, counted in this process's memory."""

from __future__ import annotations

import threading

from spell.kit.clock import Clock

__all__ = ["StormCounter"]

_MINUTE_S = 60


class StormCounter:
    """Counts each user's rate-limit refusals per clock minute; ``refused`` says when a minute's count
    reaches ``refusals``, once per user and minute, so a storm is one violation however long it rages
    within that minute. ``refusals`` 0 never reports one."""

    def __init__(self, refusals: int, clock: Clock) -> None:
        self.refusals, self.clock = refusals, clock
        self._lock = threading.Lock()
        self._minute = -1
        self._counts: dict[str, int] = {}

    def refused(self, user_id: str) -> bool:
        """Count one refusal of ``user_id``; True when it is the one that makes this minute a storm."""
        if self.refusals <= 0:
            return False
        minute = int(self.clock.now().timestamp() // _MINUTE_S)
        with self._lock:
            if minute != self._minute:  # a new minute: last minute's counts are over
                self._minute, self._counts = minute, {}
            count = self._counts[user_id] = self._counts.get(user_id, 0) + 1
        return count == self.refusals
