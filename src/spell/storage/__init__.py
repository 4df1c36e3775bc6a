"""Engines, units of work, migrations and blob stores of the platform."""
