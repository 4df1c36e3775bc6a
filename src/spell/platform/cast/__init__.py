"""Casting over HTTP: idempotent creation, the worker job, events, cancel and retry."""
