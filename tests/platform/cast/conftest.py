"""Fixtures of the cast domain's tests: the server fixtures, on a fake clock."""

from tests.fixtures.clock import clock, platform

__all__ = ["clock", "platform"]
