"""The guard shape: ``check(ctx) -> None`` that raises to refuse, composed with ``AllOf`` / ``AnyOf``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from spell.errors import PolicyViolation

__all__ = ["AllOf", "AnyOf", "Guard"]

C_contra = TypeVar("C_contra", contravariant=True)


class Guard(Protocol[C_contra]):
    """Something that may refuse an action described by a context."""

    def check(self, ctx: C_contra) -> None:
        """Return when allowed; raise ``PolicyViolation`` (or a subclass) with the reason when not."""


@dataclass(frozen=True)
class AllOf(Generic[C_contra]):
    """Allowed when every guard allows; the first refusal, in order, is raised."""

    guards: tuple[Guard[C_contra], ...]

    def check(self, ctx: C_contra) -> None:
        """Run the guards in order, fail fast."""
        for guard in self.guards:
            guard.check(ctx)


@dataclass(frozen=True)
class AnyOf(Generic[C_contra]):
    """Allowed when at least one guard allows; otherwise the first refusal is raised."""

    guards: tuple[Guard[C_contra], ...]

    def check(self, ctx: C_contra) -> None:
        """Try each guard; stop at the first that allows."""
        first: PolicyViolation | None = None
        for guard in self.guards:
            try:
                guard.check(ctx)
            except PolicyViolation as exc:
                first = first or exc
            else:
                return
        if first is None:
            raise PolicyViolation("no guard allowed this (AnyOf of nothing)")
        raise first
