"""JWT bearer tokens verified against a JWKS: allowed algorithms only (never ``none``), ``iss`` from an
allow-list, ``aud``, ``exp`` and ``sub`` required. The subject maps to a user, created on first sight.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt as pyjwt
from sqlalchemy import select

from spell.errors import InvalidInput
from spell.models import ROLES, User
from spell.platform.auth.errors import invalid_credentials, user_banned
from spell.platform.auth.schemas import Principal, scopes_for_roles
from spell.platform.auth.service import AuthService
from spell.storage.session import UnitOfWork

__all__ = ["SUPPORTED_ALGORITHMS", "JwtVerifier"]

SUPPORTED_ALGORITHMS = ("EdDSA", "ES256", "RS256")


@dataclass(frozen=True)
class JwtVerifier:
    """Verifies tokens with the keys of one JWKS document."""

    keys: dict[str, pyjwt.PyJWK]
    issuers: tuple[str, ...]
    audience: str
    algorithms: tuple[str, ...] = SUPPORTED_ALGORITHMS

    @classmethod
    def from_jwks(
        cls,
        jwks: dict[str, Any],
        *,
        issuers: tuple[str, ...],
        audience: str,
        algorithms: tuple[str, ...] = SUPPORTED_ALGORITHMS,
    ) -> JwtVerifier:
        """Build from a parsed JWKS; every key needs a ``kid``."""
        bad = [alg for alg in algorithms if alg not in SUPPORTED_ALGORITHMS]
        if bad or not issuers or not audience:
            raise InvalidInput(
                f"JWT auth needs issuers, an audience and algorithms among {list(SUPPORTED_ALGORITHMS)}",
                details={"unsupported": bad},
            )
        try:
            keyset = pyjwt.PyJWKSet.from_dict(jwks)
        except pyjwt.PyJWTError as exc:
            raise InvalidInput(f"the JWKS is unusable: {exc}") from exc
        keys = {key.key_id: key for key in keyset.keys if key.key_id}
        return cls(keys=keys, issuers=issuers, audience=audience, algorithms=algorithms)

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
        key = self.keys.get(str(header.get("kid", "")))
        if key is None:
            raise invalid_credentials("unknown key id")
        try:
            claims: dict[str, Any] = pyjwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuers,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except pyjwt.ExpiredSignatureError:
            raise invalid_credentials("token expired") from None
        except pyjwt.InvalidAudienceError:
            raise invalid_credentials("wrong audience") from None
        except pyjwt.InvalidIssuerError:
            raise invalid_credentials("issuer not allowed") from None
        except pyjwt.PyJWTError as exc:
            raise invalid_credentials(type(exc).__name__) from None
        return claims

    def authenticate(self, uow: UnitOfWork, auth: AuthService, token: str) -> Principal:
        """Verify and map ``iss|sub`` to a user (created with the token's known ``roles``, else caster)."""
        claims = self.claims(token)
        subject = f"{claims['iss']}|{claims['sub']}"
        user = uow.session.scalar(select(User).where(User.subject == subject))
        if user is None:
            raw_roles = claims.get("roles")
            roles = (
                [r for r in raw_roles if r in ROLES and r != "admin"] if isinstance(raw_roles, list) else []
            )
            org = claims.get("org")
            user = auth.create_user(
                uow,
                email=None,
                subject=subject,
                roles=roles or ["caster"],
                tenant=org if isinstance(org, str) and org else subject,
            )
        if user.is_banned:
            raise user_banned(user.ban_reason)
        roles_tuple = tuple(user.roles)
        return Principal(
            user_id=user.id, tenant_id=user.tenant_id, roles=roles_tuple, scopes=scopes_for_roles(roles_tuple)
        )
