"""Buttons: fixed ``button_id → spell@version`` entries with allowed roles and tenants."""
