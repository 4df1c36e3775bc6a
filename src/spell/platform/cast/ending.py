"""The one way a cast reaches a terminal status: finished, failed by the platform, canceled, aborted.

``CastEnding.end`` moves the cast with an UPDATE conditioned on the status it is leaving, so of two
racing enders (a runner finishing, a caller canceling, the sweep aborting) exactly one writes; only
that one releases the hold, appends the terminal event and its webhook (documented for every end, aborts
included) and, after the commit, wakes waiters. A cast whose run settled its money
(``CastMoney.settle``) keeps what was settled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from spell.kit.clock import Clock
from spell.models import Cast, CastStatus
from spell.platform import metrics, tracing
from spell.platform.cast.hub import CastHub
from spell.platform.cast.money import CastMoney
from spell.platform.cast.repository import CastRepository, detached_cast
from spell.platform.cast.webhook import CastWebhooks
from spell.storage.session import UnitOfWork

__all__ = ["PLATFORM_FAULT", "CastEnding", "Ending", "ended_copy", "lost", "platform_fault"]

PLATFORM_FAULT = "INTERNAL"  # the error code of a cast the platform (not the spell) failed
_CAST_COLUMNS = tuple(column.key for column in Cast.__table__.columns)


@dataclass(frozen=True)
class Ending:
    """A terminal state: the status, why, what else the row records and what the event adds."""

    status: CastStatus
    error_code: str | None = None
    error_message: str | None = None
    # Further columns written with the status (``output`` and ``usage`` of a run, ``cancel_requested``).
    values: Mapping[str, Any] = field(default_factory=dict)
    # The terminal event's data beyond its ``status``.
    event: Mapping[str, Any] = field(default_factory=dict)


def platform_fault() -> Ending:
    """The end of a cast the platform failed to run or record: ``failed``, free of charge."""
    return Ending(
        CastStatus.FAILED,
        PLATFORM_FAULT,
        "the platform failed while running this cast; nothing is charged",
        values={"output": None, "usage": None},
        event={"error_code": PLATFORM_FAULT, "artifacts": 0},
    )


def lost(why: str) -> Ending:
    """The end of a cast whose runner is gone (a dead worker or process): ``aborted``, free of charge."""
    return Ending(
        CastStatus.ABORTED,
        PLATFORM_FAULT,
        why,
        values={"output": None, "usage": None},
        event={"error_code": PLATFORM_FAULT},
    )


def ended_copy(cast: Cast, values: Mapping[str, Any]) -> Cast:
    """A detached copy of ``cast`` with the values its end wrote."""
    return detached_cast({**{column: getattr(cast, column) for column in _CAST_COLUMNS}, **values})


class CastEnding:
    """Writes terminal states; every ended cast went through ``end``."""

    def __init__(
        self, repo: CastRepository, money: CastMoney, hub: CastHub, webhooks: CastWebhooks, clock: Clock
    ) -> None:
        self.repo, self.money, self.hub, self.webhooks, self.clock = repo, money, hub, webhooks, clock
        # Told of every end with an error code, in its transaction (abuse counts the refusals).
        self.on_failure: Callable[[UnitOfWork, Cast, str], object] | None = None

    def end(
        self,
        uow: UnitOfWork,
        cast: Cast,
        ending: Ending,
        *,
        from_status: CastStatus = CastStatus.RUNNING,
        release: bool = True,
        fresh: bool = False,
        hand_over: bool = False,
    ) -> dict[str, Any] | None:
        """End ``cast`` in ``uow`` if it is still in ``from_status``; the values written, or None (and
        nothing written) when another ender was first.

        ``release``: free the whole hold (False when the run settled the money already). The cast's
        webhook is queued with the end, whatever the ending; after the commit, this process's waiters wake.
        ``fresh``: the cast was created or claimed ``running`` in ``uow``'s transaction, which holds its
        row since, so no other ender can race this one (the end and its event may then be one statement).
        ``hand_over``: ``cast`` holds every column as the row had them before this end (a runner's
        claimed cast), so the waiters are handed the ended cast and need not read it again.
        """
        with tracing.span("spell.finish", cast_id=cast.id, status=ending.status.value):
            return self._end(uow, cast, ending, from_status, release, fresh, hand_over)

    def _end(
        self,
        uow: UnitOfWork,
        cast: Cast,
        ending: Ending,
        from_status: CastStatus,
        release: bool,
        fresh: bool,
        hand_over: bool,
    ) -> dict[str, Any] | None:
        now = self.clock.now()
        values: dict[str, Any] = {
            "status": ending.status,
            "finished_at": now,
            "error_code": ending.error_code,
            "error_message": ending.error_message,
            **ending.values,
        }
        cast_id = cast.id
        data = {"status": ending.status, **ending.event}
        together = fresh and from_status == CastStatus.RUNNING
        if not (together and self.repo.end_with_event(uow, cast_id, values, data, at=now)):
            if not self.repo.end(uow, cast_id, values, from_status=from_status):
                return None
            self.repo.add_event(uow, cast_id, ending.status, data, at=now)
        if release:
            self.money.release(uow, cast)
        if ending.error_code is not None and self.on_failure is not None:
            self.on_failure(uow, cast, ending.error_code)
        # Counted once committed (a quick attempt's end may yet roll back with its cast), and before
        # the waiters wake: a caller who saw the end sees it counted.
        status, digest, created, started = (
            ending.status.value,
            cast.spell_digest,
            cast.created_at,
            cast.started_at,
        )
        uow.after_commit(lambda: metrics.cast_ended(status, digest, created, started, now))
        ended = ended_copy(cast, values) if hand_over else None
        uow.after_commit(lambda: self.hub.notify(cast_id, ended=ended))
        self.webhooks.ended(uow, cast, values)
        return values
