"""Redaction applied to everything a local cast writes or prints: logs, outputs and errors.

Removed: values under secret-looking keys, the values of connector tokens and other secret-named
environment variables, secrets found in the input, ``Bearer …`` credentials and token-like strings
(GitHub, Slack, Stripe, npm, AWS access key ids, JWTs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["REDACTED", "Redactor", "is_secret_key"]

REDACTED = "[REDACTED]"
_SECRET_KEY = re.compile(
    r"(authorization|token|secret|passw(or)?d|api[-_]?key|private[-_]?key|cookie|credential|session)", re.I
)
# Whole name parts only: GIT_AUTHOR_NAME is not a secret, GITHUB_AUTH_TOKEN is.
_SECRET_ENV = re.compile(
    r"(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|PRIVATE_KEY|API_KEY|ACCESS_KEY|AUTH|COOKIE|SESSION|CREDENTIALS?)(_|$)",
    re.I,
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_TOKEN_LIKE = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}"
    r"|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}|npm_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"
)
_MIN_SECRET_LEN = 4  # shorter values would shred ordinary text


def is_secret_key(name: str) -> bool:
    """True for a mapping key whose value must never be shown."""
    return bool(_SECRET_KEY.search(name))


class Redactor:
    """Scrubs known secret values and secret-looking text out of strings and JSON values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        unique = {s for s in secrets if isinstance(s, str) and len(s.strip()) >= _MIN_SECRET_LEN}
        self.secrets = sorted(unique, key=len, reverse=True)  # longest first: no partial leftovers

    @classmethod
    def for_cast(
        cls, environ: Mapping[str, str], *, token_names: Iterable[str], input_value: Any
    ) -> Redactor:
        """Secrets of one cast: connector tokens, secret-named env values, secret-keyed input values."""
        names = set(token_names)
        found = [value for name, value in environ.items() if name in names or _SECRET_ENV.search(name)]
        found.extend(_secret_values(input_value))
        return cls(found)

    def text(self, value: str) -> str:
        """Redact one string."""
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        value = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", value)
        return _TOKEN_LIKE.sub(REDACTED, value)

    def value(self, value: Any) -> Any:
        """Redact a JSON-like value: secret keys lose their values, every string is scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {str(k): REDACTED if is_secret_key(str(k)) else self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value


def _secret_values(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if is_secret_key(str(key)):
                found.extend(_all_strings(item))
            else:
                found.extend(_secret_values(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_secret_values(item))
    return found


def _all_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, Mapping):
        return [s for item in value.values() for s in _all_strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _all_strings(item)]
    return []
