"""Artifacts of casts: content-addressed storage, expiry and short-lived signed download URLs."""
