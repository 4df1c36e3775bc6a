"""Per-caster budget caps and atomic reservations against them."""
