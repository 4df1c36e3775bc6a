"""Signed webhooks: a cast's terminal event POSTed to the caster's ``webhook_url``."""
