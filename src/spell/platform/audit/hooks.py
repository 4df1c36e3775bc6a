"""Audit records for security events, written in the same flush as the change that caused them.

Key, publisher-key, Sigstore-identity, spell and ban changes happen in other services; rather than
asking each of them to remember the audit log, one ``before_flush`` listener looks at what is about to
be written and appends the matching record to the chain in the same transaction (so a rolled-back
change leaves no record).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from spell.models import ApiKey, Publisher, PublisherKey, PublisherSigstoreIdentity, Spell, SpellVersion, User
from spell.platform.audit.service import AuditService

__all__ = ["act_as", "install"]

_INSTALLED: list[bool] = []
# The listener serves every session of the process, whichever platform opened it: it keeps its own
# (stateless) service on the system clock.
_AUDIT = AuditService()
_ACTOR = "spell.audit_actor"  # Session.info: the user doing what this unit of work writes


def act_as(session: Session, actor_id: str | None) -> None:
    """Name who acts in this unit of work: records with no actor of their own get this one."""
    if actor_id is None:
        session.info.pop(_ACTOR, None)
    else:
        session.info[_ACTOR] = actor_id


def _changed_to(obj: Any, attr: str) -> tuple[bool, Any]:
    history = inspect(obj).attrs[attr].history
    if not history.has_changes():
        return False, None
    return True, history.added[0] if history.added else None


def _created(obj: Any) -> tuple[str, dict[str, Any]] | None:
    if isinstance(obj, ApiKey):
        return "key.created", {
            "actor_id": obj.user_id,
            "tenant_id": obj.tenant_id,
            "subject": obj.id,
            "data": {"scopes": list(obj.scopes or [])},
            "personal": {"name": obj.name},
        }
    if isinstance(obj, PublisherKey):
        return "publisher_key.added", {
            "actor_id": None,
            "subject": f"{obj.publisher}/{obj.key_id}",
            "data": {},
        }
    if isinstance(obj, PublisherSigstoreIdentity):
        return "sigstore_identity.added", _sigstore_fields(obj)
    if isinstance(obj, SpellVersion):
        return "spell.published", {
            "actor_id": None,
            "subject": f"{obj.spell_id}@{obj.version}",
            "data": {"digest": obj.digest},
        }
    return None


_WATCHED: list[tuple[type[Any], str]] = [
    (ApiKey, "revoked_at"),
    (ApiKey, "rotated_to"),
    (PublisherKey, "revoked_at"),
    (PublisherSigstoreIdentity, "revoked_at"),
    (Publisher, "sigstore_required"),
    (SpellVersion, "is_yanked"),
    (Spell, "is_suspended"),
    (User, "is_banned"),
]


def _updated(obj: Any) -> tuple[str, dict[str, Any]] | None:
    for model, attr in _WATCHED:
        if isinstance(obj, model):
            changed, value = _changed_to(obj, attr)
            if changed:
                return _describe(obj, attr, value)
    return None


def _describe(obj: Any, attr: str, value: Any) -> tuple[str, dict[str, Any]] | None:
    action: str | None = None
    fields: dict[str, Any] = {"actor_id": None, "data": {}}
    if isinstance(obj, ApiKey):
        fields.update(actor_id=obj.user_id, tenant_id=obj.tenant_id, subject=obj.id)
        if attr == "rotated_to" and value:
            action, fields["data"] = "key.rotated", {"rotated_to": value}
        elif attr == "revoked_at" and value is not None:
            action = "key.revoked"
    elif isinstance(obj, PublisherKey):
        fields["subject"] = f"{obj.publisher}/{obj.key_id}"
        action = "publisher_key.revoked" if value is not None else None
    elif isinstance(obj, PublisherSigstoreIdentity):
        # registering a revoked identity again makes it active: the chain shows it added anew
        action = "sigstore_identity.revoked" if value is not None else "sigstore_identity.added"
        fields.update(_sigstore_fields(obj))
    elif isinstance(obj, Publisher):
        fields.update(tenant_id=obj.tenant_id, subject=obj.name, data={"required": bool(value)})
        action = "publisher.sigstore_required"
    elif isinstance(obj, SpellVersion):
        fields["subject"] = f"{obj.spell_id}@{obj.version}"
        action = "spell.yanked" if value else None
    elif isinstance(obj, Spell):
        fields.update(tenant_id=obj.tenant_id, subject=obj.id, data={"reason": obj.suspend_reason})
        action = "spell.suspended" if value else "spell.unsuspended"
    elif isinstance(obj, User):
        fields.update(tenant_id=obj.tenant_id, subject=obj.id)
        fields["personal"] = {"reason": obj.ban_reason} if obj.ban_reason else None
        action = "user.banned" if value else "user.unbanned"
    return (action, fields) if action else None


def _sigstore_fields(row: PublisherSigstoreIdentity) -> dict[str, Any]:
    return {
        "actor_id": None,
        "subject": f"{row.publisher}/{row.id}",
        "data": {"identity": row.identity, "issuer": row.issuer},
    }


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    found = [item for item in map(_created, list(session.new)) if item]
    found += [item for item in map(_updated, list(session.dirty)) if item]
    if not found:
        return
    actor = session.info.get(_ACTOR)
    for action, fields in found:
        if fields.get("actor_id") is None:
            fields["actor_id"] = actor
        _AUDIT.append_in_flush(session, action, fields)


def install() -> None:
    """Register the listener once per process (idempotent)."""
    if _INSTALLED:
        return
    event.listen(Session, "before_flush", _before_flush)
    _INSTALLED.append(True)
