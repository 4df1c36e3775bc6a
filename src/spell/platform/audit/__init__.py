"""The hash-chained, append-only audit log."""
