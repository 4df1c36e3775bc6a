"""JWT bearer tokens verified against a JWKS: allowed algorithms only (never ``none``), ``iss`` from an
allow-list, ``aud``, ``exp`` and ``sub`` required. The subject maps to a user, created on first sight.

A token's ``org`` names a tenant only together with its issuer (the tenant bound to that pair), and its
``roles`` count only through the operator's role map for that issuer; everyone else is a caster.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt as pyjwt

from spell.errors import InvalidInput
from spell.kit.clock import Clock, SystemClock
from spell.models import ROLES
from spell.platform.auth.errors import invalid_credentials, user_banned
from spell.platform.auth.schemas import Principal, scopes_for_roles
from spell.platform.auth.service import AuthService
from spell.storage.session import UnitOfWork

__all__ = ["SUPPORTED_ALGORITHMS", "JwtVerifier"]

_log = logging.getLogger(__name__)

SUPPORTED_ALGORITHMS = ("EdDSA", "ES256", "RS256")
_MAX_SUBJECT = 500  # users.subject
_MAX_ORG = 200  # tenants.org


@dataclass
class _Refresh:
    """When the keys were last fetched (guarded: tokens are verified on many threads)."""

    at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class JwtVerifier:
    """Verifies tokens with the keys of one JWKS document.

    With ``fetch`` (a JWKS URL) the keys follow the identity provider's rotations: a token naming an
    unknown ``kid`` refetches them (at most once per ``min_refresh_s``, so garbage tokens cannot hammer
    the provider), and keys older than ``max_age_s`` are refetched before use, so a key the provider
    withdrew stops verifying. A failed fetch keeps the keys there are.

    ``exp``, ``nbf`` and ``iat`` and the refresh intervals are read on ``clock``.
    """

    keys: dict[str, pyjwt.PyJWK]
    issuers: tuple[str, ...]
    audience: str
    algorithms: tuple[str, ...] = SUPPORTED_ALGORITHMS
    fetch: Callable[[], dict[str, Any]] | None = None
    # issuer -> {role named in its tokens -> platform role}; an issuer not here grants no role.
    role_map: dict[str, dict[str, str]] = field(default_factory=dict)
    min_refresh_s: float = 30.0
    max_age_s: float = 600.0
    clock: Clock = field(default_factory=SystemClock, compare=False, repr=False)
    _refresh: _Refresh = field(default_factory=_Refresh, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._refresh.at = self.clock.monotonic()  # the keys given are as fresh as a fetch now

    @classmethod
    def from_jwks(
        cls,
        jwks: dict[str, Any],
        *,
        issuers: tuple[str, ...],
        audience: str,
        algorithms: tuple[str, ...] = SUPPORTED_ALGORITHMS,
        fetch: Callable[[], dict[str, Any]] | None = None,
        role_map: dict[str, dict[str, str]] | None = None,
        clock: Clock | None = None,
    ) -> JwtVerifier:
        """Build from a parsed JWKS (every key needs a ``kid``); ``fetch`` gets a fresh one later.

        ``role_map`` maps, per issuer, the role names its tokens carry to platform roles.
        """
        bad = [alg for alg in algorithms if alg not in SUPPORTED_ALGORITHMS]
        if bad or not issuers or not audience:
            raise InvalidInput(
                f"JWT auth needs issuers, an audience and algorithms among {list(SUPPORTED_ALGORITHMS)}",
                details={"unsupported": bad},
            )
        mapping = dict(role_map or {})
        _check_role_map(mapping, issuers)
        return cls(
            keys=_keys_of(jwks),
            issuers=issuers,
            audience=audience,
            algorithms=algorithms,
            fetch=fetch,
            role_map=mapping,
            clock=clock or SystemClock(),
        )

    @classmethod
    def from_file(cls, path: Path, **kwargs: Any) -> JwtVerifier:
        """Build from a JWKS JSON file."""
        try:
            jwks = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"cannot read the JWKS file {path}: {exc}") from exc
        return cls.from_jwks(jwks, **kwargs)

    def claims(self, token: str) -> dict[str, Any]:
        """Verified claims, or ``UNAUTHORIZED`` naming what was wrong (never echoing the token)."""
        try:
            header = pyjwt.get_unverified_header(token)
        except pyjwt.PyJWTError:
            raise invalid_credentials("malformed token") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise invalid_credentials(f"algorithm {alg!r} is not accepted")
        kid = str(header.get("kid", ""))
        key = self._key(kid)
        if key is None:
            raise invalid_credentials("unknown key id")
        try:
            claims: dict[str, Any] = pyjwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuers,
                # The times are checked below, on this verifier's clock.
                options={
                    "require": ["exp", "iss", "aud", "sub"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
            _check_times(claims, self.clock.now().timestamp())
        except pyjwt.ExpiredSignatureError:
            raise invalid_credentials("token expired") from None
        except pyjwt.InvalidAudienceError:
            raise invalid_credentials("wrong audience") from None
        except pyjwt.InvalidIssuerError:
            raise invalid_credentials("issuer not allowed") from None
        except pyjwt.PyJWTError as exc:
            raise invalid_credentials(type(exc).__name__) from None
        return claims

    def _key(self, kid: str) -> pyjwt.PyJWK | None:
        if self.fetch is not None:
            age = self.clock.monotonic() - self._refresh.at
            if age > self.max_age_s or (kid not in self.keys and age >= self.min_refresh_s):
                self.refresh()
        return self.keys.get(kid)

    def refresh(self) -> bool:
        """Fetch the JWKS again and swap the keys in; False (keys kept) when the fetch failed."""
        if self.fetch is None:
            return False
        with self._refresh.lock:
            self._refresh.at = self.clock.monotonic()  # failures count too: retry only after the interval
            try:
                keys = _keys_of(self.fetch())
            except Exception as exc:  # whatever the provider or the network did, keep verifying
                _log.warning("refreshing the JWKS failed; keeping the current keys: %s", exc)
                return False
            self.keys.clear()
            self.keys.update(keys)
            return True

    def authenticate(self, uow: UnitOfWork, auth: AuthService, token: str) -> Principal:
        """Verify and map ``iss|sub`` to a user, created on first sight in the tenant of ``(iss, org)``
        with the roles the operator maps for ``iss`` (caster when none)."""
        claims = self.claims(token)
        issuer = str(claims["iss"])
        subject = f"{issuer}|{claims['sub']}"
        if len(subject) > _MAX_SUBJECT:
            raise invalid_credentials("subject too long")
        user = auth.repo.user_by_subject(uow, subject)
        if user is None:
            org = claims.get("org")
            if org is not None and (not isinstance(org, str) or not 0 < len(org) <= _MAX_ORG):
                raise invalid_credentials(f"the org claim must be a string of 1 to {_MAX_ORG} characters")
            user = auth.token_user(
                uow, issuer=issuer, subject=subject, org=org, roles=self.roles_of(issuer, claims.get("roles"))
            )
        if user.is_banned:
            raise user_banned(user.ban_reason)
        roles_tuple = tuple(user.roles)
        return Principal(
            user_id=user.id, tenant_id=user.tenant_id, roles=roles_tuple, scopes=scopes_for_roles(roles_tuple)
        )

    def roles_of(self, issuer: str, claimed: object) -> list[str]:
        """The platform roles a token of ``issuer`` naming ``claimed`` gets: mapped ones only, else caster."""
        mapping = self.role_map.get(issuer, {})
        names = claimed if isinstance(claimed, list) else []
        granted = {mapping[name] for name in names if isinstance(name, str) and name in mapping}
        return [role for role in ROLES if role in granted] or ["caster"]


def _check_times(claims: dict[str, Any], now: float) -> None:
    """PyJWT's checks of ``iat``, ``nbf`` and ``exp`` (in its order and with its errors), at ``now``."""
    if "iat" in claims:
        iat = _integer(claims["iat"], pyjwt.InvalidIssuedAtError)
        if iat > now:
            raise pyjwt.ImmatureSignatureError("The token is not yet valid (iat)")
    if "nbf" in claims and _integer(claims["nbf"], pyjwt.DecodeError) > now:
        raise pyjwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    if _integer(claims["exp"], pyjwt.DecodeError) <= now:
        raise pyjwt.ExpiredSignatureError("Signature has expired")


def _integer(value: Any, error: type[pyjwt.PyJWTError]) -> int:
    try:
        return int(value)
    except (ValueError, TypeError, OverflowError):
        raise error("a time claim must be an integer") from None


def _check_role_map(role_map: dict[str, dict[str, str]], issuers: tuple[str, ...]) -> None:
    strangers = [issuer for issuer in role_map if issuer not in issuers]
    unknown = sorted({role for roles in role_map.values() for role in roles.values() if role not in ROLES})
    if strangers or unknown:
        raise InvalidInput(
            "the JWT role map names issuers that are not trusted or roles that do not exist",
            details={"issuers": strangers, "roles": unknown, "allowed_roles": list(ROLES)},
        )


def _keys_of(jwks: dict[str, Any]) -> dict[str, pyjwt.PyJWK]:
    try:
        keyset = pyjwt.PyJWKSet.from_dict(jwks)
    except (pyjwt.PyJWTError, AttributeError, TypeError) as exc:
        raise InvalidInput(f"the JWKS is unusable: {exc}") from exc
    return {key.key_id: key for key in keyset.keys if key.key_id}
