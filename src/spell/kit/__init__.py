"""Domain-free helpers: encodings, canonical JSON, ids, time."""
