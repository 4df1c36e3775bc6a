"""Retention: cast data, artifacts and audit records kept only as long as the settings say."""
