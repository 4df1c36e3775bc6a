"""Cast rate limits per credential and per tenant, in process memory or shared through Redis."""
