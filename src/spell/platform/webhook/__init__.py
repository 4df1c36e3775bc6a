"""Signed webhooks: tenants' endpoints, the outbox every cast event is written to, and the workers'
delivery loop with retries and an attempt log (contracts in README.md)."""
