"""Prices, estimates, charges and payment providers."""
