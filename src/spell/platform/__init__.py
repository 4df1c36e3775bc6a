"""Server services, one package per domain; the edge (api, cli) owns the unit of work."""
