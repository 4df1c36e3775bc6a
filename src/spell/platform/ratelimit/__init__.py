"""Rate limits per credential: a Protocol and the in-process token bucket default."""
