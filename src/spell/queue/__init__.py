"""Work queue: the Protocol, the in-process memory default, after-commit publishing."""
