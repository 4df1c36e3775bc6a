"""Users, tenants, API keys, JWT bearer tokens, roles, scopes and bans."""
