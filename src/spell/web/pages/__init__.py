"""The console's page routers, one module per area; ``ROUTERS`` is what ``install_console`` mounts."""
