"""Shipped test doubles (runtimes that need no sandbox) for tests of code that drives runtimes."""
