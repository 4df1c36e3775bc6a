"""Users, tenants, API keys and bans. Every function takes the caller's unit of work and only flushes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from spell.errors import AlreadyExists, InvalidInput, KeyNotFound, NotFound, PermissionDenied
from spell.kit.clock import Clock, SystemClock
from spell.kit.ids import new_id
from spell.kit.time import aware_utc
from spell.models import ROLES, ApiKey, Tenant, User
from spell.platform.audit.hooks import act_as
from spell.platform.audit.service import AuditService
from spell.platform.auth.errors import (
    ScopeNotAllowed,
    TenantAlreadyBound,
    TenantNotFound,
    invalid_credentials,
    user_banned,
)
from spell.platform.auth.keys import hash_secret, new_secret, shown_prefix
from spell.platform.auth.repository import AuthRepository
from spell.platform.auth.schemas import (
    ALL_SCOPES,
    Principal,
    default_scopes_for_roles,
    scopes_for_roles,
)
from spell.storage.changes import CachedReads
from spell.storage.session import UnitOfWork

__all__ = ["AuthService", "CreatedKey"]

_LAST_USED_EVERY = timedelta(seconds=60)  # write last-used at most once a minute per key


@dataclass(frozen=True)
class CreatedKey:
    """A new key row and its secret (shown exactly once)."""

    key: ApiKey
    token: str


class AuthService:
    """Keys are looked up by the HMAC of their secret under ``secret_key``; expiry, rotation grace and
    last-used times are read on ``clock``."""

    def __init__(
        self,
        secret_key: str,
        *,
        rotation_grace: timedelta = timedelta(hours=24),
        cache_ms: int = 0,
        audit: AuditService | None = None,
        clock: Clock | None = None,
        repo: AuthRepository | None = None,
    ) -> None:
        self._secret_key = secret_key
        self.audit = audit or AuditService()
        self._grace = rotation_grace
        self.clock = clock or SystemClock()
        self.repo = repo or AuthRepository()
        # Keyed by the secret's hash, never the secret. Revocation, rotation and bans in this process
        # drop entries at once (the key and user tables are watched); elsewhere within ``cache_ms``.
        self._principals: CachedReads[str, tuple[Principal, datetime | None]] = CachedReads(
            ApiKey, User, ttl_s=cache_ms / 1000, clock=self.clock
        )

    # users and tenants ---------------------------------------------------------------------------
    def create_user(
        self,
        uow: UnitOfWork,
        *,
        email: str | None,
        roles: list[str],
        tenant: str | None = None,
        subject: str | None = None,
    ) -> User:
        """Create a user (and its tenant when ``tenant`` names none yet); the operator's path (CLI).

        Tenants are found here by name because only the operator calls this; tokens never do (see
        ``token_user``), so a tenant made here is reached by no token until ``bind_tenant``.
        """
        _check_roles(roles)
        if email and self.repo.email_taken(uow, email):
            raise AlreadyExists(f"a user with email {email!r} exists", details={"email": email})
        tenant_name = tenant or email or subject or new_id("tenant")
        tenant_row = self.repo.tenant_named(uow, tenant_name)
        if tenant_row is None:
            tenant_row = Tenant(id=new_id("ten"), name=tenant_name, created_at=self.clock.now())
        return self._add_user(uow, tenant_row, email=email, subject=subject, roles=roles)

    def token_user(
        self, uow: UnitOfWork, *, issuer: str, subject: str, org: str | None, roles: list[str]
    ) -> User:
        """Provision the user of a verified token in the tenant bound to ``(issuer, org)``.

        The tenant is found by the pair, never by name: another issuer's token naming the same org gets
        a tenant of its own. With no org the user gets a personal tenant.
        """
        _check_roles(roles)
        tenant_row = None
        if org is not None:
            tenant_row = self.repo.tenant_bound_to(uow, issuer, org)
        if tenant_row is None:
            tenant_row = Tenant(
                id=new_id("ten"),
                name=self._free_name(uow, f"{org} @ {issuer}" if org is not None else subject),
                issuer=issuer,
                org=org,
                created_at=self.clock.now(),
            )
        return self._add_user(uow, tenant_row, email=None, subject=subject, roles=roles)

    def _add_user(
        self, uow: UnitOfWork, tenant_row: Tenant, *, email: str | None, subject: str | None, roles: list[str]
    ) -> User:
        user = User(
            id=new_id("usr"),
            email=email,
            subject=subject,
            tenant_id=tenant_row.id,
            roles=list(roles),
            is_banned=False,
            created_at=self.clock.now(),
        )
        self.repo.add(uow, tenant_row, user)
        return user

    def _free_name(self, uow: UnitOfWork, wanted: str) -> str:
        """``wanted`` (cut to the column), or with a random suffix when another tenant holds that name."""
        name = wanted[:160]
        return name if self.repo.tenant_named(uow, name) is None else f"{name} #{new_id('t')}"

    def find_tenant(self, uow: UnitOfWork, ref: str) -> Tenant:
        """A tenant by id, else by name, or ``TENANT_NOT_FOUND`` (an id wins over a tenant named like it)."""
        tenant = self.repo.tenant(uow, ref) or self.repo.tenant_named(uow, ref)
        if tenant is None:
            raise TenantNotFound(f"no tenant {ref!r}", details={"tenant": ref})
        return tenant

    def bind_tenant(
        self, uow: UnitOfWork, ref: str, *, issuer: str, org: str, actor_id: str | None = None
    ) -> Tenant:
        """Operator: tokens of ``issuer`` naming ``org`` land in this tenant from now on.

        Refused (``TENANT_ALREADY_BOUND``) when the pair already names another tenant, or the tenant is
        bound to another pair; binding it again to its own pair changes nothing.
        """
        if not issuer.strip() or not org.strip():
            raise InvalidInput("binding a tenant needs an issuer and an org")
        tenant = self.find_tenant(uow, ref)
        holder = self.repo.tenant_bound_to(uow, issuer, org)
        if holder is not None and holder.id != tenant.id:
            raise TenantAlreadyBound(
                f"{org!r} of {issuer!r} is already bound to tenant {holder.id}",
                details={"issuer": issuer, "org": org, "tenant_id": holder.id},
            )
        if tenant.issuer is not None and (tenant.issuer, tenant.org) != (issuer, org):
            raise TenantAlreadyBound(
                f"tenant {tenant.id} is already bound to another issuer and org",
                details={"tenant_id": tenant.id, "issuer": tenant.issuer, "org": tenant.org},
            )
        if (tenant.issuer, tenant.org) != (issuer, org):
            tenant.issuer, tenant.org = issuer, org
            uow.session.flush()
            self.audit.append(
                uow,
                "tenant.bound",
                actor_id=actor_id,
                tenant_id=tenant.id,
                subject=tenant.id,
                data={"issuer": issuer, "org": org},
            )
        return tenant

    def get_user(self, uow: UnitOfWork, user_id: str) -> User:
        """Load a user or raise ``NOT_FOUND``."""
        user = self.repo.user(uow, user_id)
        if user is None:
            raise NotFound(f"no user {user_id!r}", details={"user_id": user_id})
        return user

    def tenant_members(self, uow: UnitOfWork, tenant_id: str) -> tuple[Tenant, list[User]]:
        """A tenant and its users, oldest member first; ``TENANT_NOT_FOUND`` for an unknown tenant."""
        tenant = self.repo.tenant(uow, tenant_id)
        if tenant is None:
            raise TenantNotFound(f"no tenant {tenant_id!r}", details={"tenant_id": tenant_id})
        return tenant, self.repo.members(uow, tenant_id)

    def own_tenant(self, uow: UnitOfWork, principal: Principal) -> tuple[Tenant, list[User]]:
        """The caller's tenant and its members; needs the ``keys:manage`` scope."""
        principal.require("keys:manage")
        return self.tenant_members(uow, principal.tenant_id)

    def find_user(self, uow: UnitOfWork, ref: str) -> User:
        """A user by id or email."""
        user = self.repo.user_by_ref(uow, ref)
        if user is None:
            raise NotFound(f"no user {ref!r}", details={"user": ref})
        return user

    def set_ban(
        self,
        uow: UnitOfWork,
        user_id: str,
        *,
        banned: bool,
        reason: str | None = None,
        actor_id: str | None = None,
    ) -> User:
        """Ban or unban a user; a banned user gets ``USER_BANNED`` on every route.

        ``actor_id`` (who did it; None for the operator's CLI) goes into the audit record.
        """
        user = self.get_user(uow, user_id)
        act_as(uow.session, actor_id)
        user.is_banned = banned
        user.ban_reason = reason if banned else None
        uow.session.flush()
        return user

    def ban(
        self, uow: UnitOfWork, principal: Principal, ref: str, *, banned: bool, reason: str | None = None
    ) -> User:
        """An admin bans (or lifts the ban of) a user named by id or email; the audit record names them."""
        if not principal.is_admin:
            raise PermissionDenied("only admins ban users" if banned else "only admins lift bans")
        user = self.find_user(uow, ref)
        return self.set_ban(uow, user.id, banned=banned, reason=reason, actor_id=principal.user_id)

    # keys ------------------------------------------------------------------------------------------
    def create_key(
        self,
        uow: UnitOfWork,
        user: User,
        *,
        name: str,
        scopes: list[str] | None = None,
        expires_at: datetime | None = None,
        test: bool = False,
        granted_by: Principal | None = None,
    ) -> CreatedKey:
        """Make a key for ``user``: scopes must be known, allowed by the user's roles and, when a
        credential asks (``granted_by``), held by that credential too. Scopes never grow.

        With no scopes named, the key gets the roles' everyday scopes (``default_scopes_for_roles``)
        that the asking credential holds.
        """
        allowed = scopes_for_roles(user.roles)
        if granted_by is not None:
            allowed = tuple(scope for scope in allowed if scope in granted_by.scopes)
        if scopes:
            chosen = list(dict.fromkeys(scopes))
            unknown = [scope for scope in chosen if scope not in ALL_SCOPES]
            if unknown:
                raise InvalidInput(f"unknown scopes {unknown}", details={"allowed": list(ALL_SCOPES)})
            beyond = [scope for scope in chosen if scope not in allowed]
            if beyond:
                raise ScopeNotAllowed(
                    f"a key may not carry {beyond}: neither this user's roles nor the asking credential"
                    " grant more than they hold",
                    details={"not_allowed": beyond, "allowed": list(allowed)},
                )
        else:
            # Never empty: every role has an everyday scope, and an asking credential holds keys:manage.
            chosen = [scope for scope in default_scopes_for_roles(user.roles) if scope in allowed]
        if expires_at is not None:
            try:
                expires_at = aware_utc(expires_at)
            except ValueError as exc:
                raise InvalidInput(f"expires_at: {exc}", details={"field": "expires_at"}) from None
            if expires_at <= self.clock.now():
                raise InvalidInput("expires_at must be in the future")
        token = new_secret(test=test)
        key = ApiKey(
            id=new_id("key"),
            user_id=user.id,
            tenant_id=user.tenant_id,
            name=name,
            prefix=shown_prefix(token),
            secret_hash=hash_secret(self._secret_key, token),
            scopes=chosen,
            created_at=self.clock.now(),
            expires_at=expires_at,
        )
        self.repo.add(uow, key)
        return CreatedKey(key=key, token=token)

    def issue_key(
        self,
        uow: UnitOfWork,
        principal: Principal,
        *,
        name: str,
        scopes: list[str] | None = None,
        expires_at: datetime | None = None,
        test: bool = False,
    ) -> CreatedKey:
        """A key for the caller, never wider than the calling credential (needs ``keys:manage``)."""
        principal.require("keys:manage")
        user = self.get_user(uow, principal.user_id)
        return self.create_key(
            uow, user, name=name, scopes=scopes, expires_at=expires_at, test=test, granted_by=principal
        )

    def list_keys(self, uow: UnitOfWork, principal: Principal) -> list[ApiKey]:
        """The caller's own keys, newest first (needs ``keys:manage``)."""
        principal.require("keys:manage")
        return self.repo.keys_of(uow, principal.user_id)

    def own_key(self, uow: UnitOfWork, principal: Principal, key_id: str) -> ApiKey:
        """One of the caller's keys; other users' keys are simply not found."""
        key = self.repo.key(uow, key_id)
        if key is None or key.user_id != principal.user_id:
            raise KeyNotFound(f"no key {key_id!r}", details={"key_id": key_id})
        return key

    def revoke_key(self, uow: UnitOfWork, principal: Principal, key_id: str) -> ApiKey:
        """Revoke at once; later requests with it get 401 (needs ``keys:manage``)."""
        principal.require("keys:manage")
        key = self.own_key(uow, principal, key_id)
        if key.revoked_at is None:
            key.revoked_at = self.clock.now()
        uow.session.flush()
        return key

    def rotate_key(self, uow: UnitOfWork, principal: Principal, key_id: str) -> CreatedKey:
        """A new key with the same scopes; the old one keeps working for the grace period.

        The scopes must still be allowed by the user's roles and held by the calling credential
        (``SCOPE_NOT_ALLOWED`` otherwise): rotating never turns a narrow credential into a wide key.
        Needs ``keys:manage``.
        """
        principal.require("keys:manage")
        old = self.own_key(uow, principal, key_id)
        if old.revoked_at is not None:
            raise KeyNotFound(f"key {key_id!r} is revoked", details={"key_id": key_id})
        user = self.get_user(uow, old.user_id)
        created = self.create_key(
            uow,
            user,
            name=old.name,
            scopes=list(old.scopes),
            expires_at=old.expires_at,
            test=old.prefix.startswith("sk_test_"),
            granted_by=principal,
        )
        grace_end = self.clock.now() + self._grace
        old.expires_at = grace_end if old.expires_at is None else min(old.expires_at, grace_end)
        old.rotated_to = created.key.id
        uow.session.flush()
        return created

    def cached_principal(self, token: str) -> Principal | None:
        """The principal of a key seen lately and unchanged since, without touching the database."""
        hit = self._principals.get(hash_secret(self._secret_key, token))
        if hit is None:
            return None
        principal, expires_at = hit
        if expires_at is not None and expires_at <= self.clock.now():
            return None  # the full lookup gives the exact error
        return principal

    def authenticate_key(self, uow: UnitOfWork, token: str) -> Principal:
        """Resolve a key secret to a principal, or raise ``UNAUTHORIZED`` / ``USER_BANNED`` (read only)."""
        secret_hash = hash_secret(self._secret_key, token)
        seen = self._principals.snapshot()
        row = self.repo.key_and_owner(uow, secret_hash)
        now = self.clock.now()
        if row is None:
            raise invalid_credentials("unknown key")
        key, user = row
        if key.revoked_at is not None:
            raise invalid_credentials("key revoked")
        if key.expires_at is not None and key.expires_at <= now:
            raise invalid_credentials("key expired")
        if user is None:
            raise NotFound(f"no user {key.user_id!r}", details={"user_id": key.user_id})
        if user.is_banned:
            raise user_banned(user.ban_reason)
        roles = tuple(user.roles)
        # A key carries at most what its user's roles allow now: a role taken away takes its scopes
        # from every key made before.
        allowed = scopes_for_roles(roles)
        principal = Principal(
            user_id=user.id,
            tenant_id=key.tenant_id,
            roles=roles,
            scopes=tuple(scope for scope in key.scopes if scope in allowed),
            key_id=key.id,
            key_stale=key.last_used_at is None or now - key.last_used_at > _LAST_USED_EVERY,
        )
        # Cached without the stale flag: the caller touches the key now, and the cache lives far
        # shorter than the interval between touches.
        self._principals.put(secret_hash, (replace(principal, key_stale=False), key.expires_at), seen)
        return principal

    def touch_key(self, uow: UnitOfWork, key_id: str) -> None:
        """Record that a key was used now (done at most once a minute per key, in its own write)."""
        self.repo.touch_key(uow, key_id, self.clock.now())


def _check_roles(roles: list[str]) -> None:
    bad = [role for role in roles if role not in ROLES]
    if bad or not roles:
        raise InvalidInput(
            f"unknown roles {bad}" if bad else "at least one role is needed",
            details={"allowed": list(ROLES)},
        )
