"""Blob stores for artifacts: content-addressed by SHA-256."""
