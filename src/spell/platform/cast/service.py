"""Creating, reading, canceling and retrying casts.

Creation is idempotent per tenant and ``Idempotency-Key``: the same request gives back the same cast
(``replay``), another request with the same key is ``IDEMPOTENCY_CONFLICT``. The cast row, its
``queued`` event and the money hold commit together; the job is published only after that commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from spell.bundle.input_schema import InputSchema, check_input_json
from spell.bundle.manifest import SpellManifest
from spell.errors import Conflict, InvalidInput, PolicyViolation, SpellError
from spell.kit.canonical_json import canonical_sha256
from spell.kit.clock import Clock
from spell.kit.ids import new_id
from spell.models import (
    RETRYABLE_STATUSES,
    TERMINAL_STATUSES,
    Cast,
    CastEvent,
    CastStatus,
    Spell,
    SpellVersion,
)
from spell.platform import metrics, tracing
from spell.platform.auth.schemas import CAST_READ_SCOPES, Principal
from spell.platform.cast.ending import CastEnding, Ending
from spell.platform.cast.errors import AlreadyTerminal, IdempotencyConflict, NotRetryable, SpellSuspended
from spell.platform.cast.hub import CancelTokens, CastHub
from spell.platform.cast.limits import CastLimits
from spell.platform.cast.money import CastMoney
from spell.platform.cast.relay import CancelRelay
from spell.platform.cast.repository import CastRepository
from spell.platform.cast.webhook import CastWebhooks
from spell.platform.spell.publishers import SIGNATURE_HINTS
from spell.platform.spell.service import SpellService, published_signature, runtime_allow_list
from spell.platform.webhook.service import WebhookSender, check_webhook_url
from spell.policy.rules import ExecutionGuard, PolicyContext
from spell.queue.base import Job, Queue, enqueue_after_commit
from spell.runtimes.base import Limits
from spell.runtimes.egress import EgressPolicy
from spell.signing.verifier import SignatureRule
from spell.storage.session import Database, UnitOfWork

__all__ = [
    "Admission",
    "Asking",
    "CallOutFirst",
    "CastParts",
    "CastPolicy",
    "CastRequestBody",
    "CastService",
    "Created",
    "cast_job",
]


@dataclass(frozen=True)
class CastPolicy:
    """Operator switches that apply at cast time."""

    allow_unsigned: bool = False
    force_require_signature: bool = False
    runtimes: ExecutionGuard = field(default_factory=runtime_allow_list)
    # Where webhook URLs may point; the platform builds it from the settings (strict by default).
    webhook_egress: EgressPolicy = field(default_factory=EgressPolicy)

    @property
    def signature(self) -> SignatureRule:
        """The signature rule of ``spell cast``, with the operator's switches."""
        return SignatureRule(
            allow_unsigned=self.allow_unsigned, force=self.force_require_signature, hints=SIGNATURE_HINTS
        )


@dataclass(frozen=True)
class CastRequestBody:
    """What a caster asks for."""

    spell_id: str
    input: Any
    version: str | None = None
    webhook_url: str | None = None
    button_id: str | None = None
    require_signature: bool | None = None
    as_tenant: str | None = None  # a button resolves its spell as the button owner's tenant sees it


@dataclass(frozen=True)
class Asking:
    """A cast about to be created, as an admission sees it."""

    principal: Principal
    spell: Spell
    version: SpellVersion
    manifest: SpellManifest
    input: Any
    # The creating transaction, to read in; None for an admission that calls out.
    uow: UnitOfWork | None = None


@dataclass(frozen=True)
class Admission:
    """Another domain's say on new casts (``CastService.admissions``): ``check`` raises the refusal, or
    returns to admit.

    Admissions run once the spell is resolved, guarded and the input matches its schema, before the
    cast exists or any money is held. One that ``calls_out`` (asks another service: a workflow's
    repository on GitHub) runs before the creating transaction opens, with none open, so nothing waits
    on it holding a connection or SQLite's write lock; the others run inside that transaction and may
    read there. ``executions`` limits an admission to spells of those runtimes (None: every spell).
    """

    name: str
    check: Callable[[Asking], None]
    executions: frozenset[str] | None = None
    calls_out: bool = False

    def applies(self, execution: str) -> bool:
        """Whether it has a say on spells of ``execution``."""
        return self.executions is None or execution in self.executions


class CallOutFirst(Exception):
    """A creation that was not to call out (``create_in`` without ``called_out``) met a spell that an
    admission calling out applies to: nothing was written; ask ``call_out`` (never on an event loop),
    then create again."""


@dataclass(frozen=True)
class Created:
    """A cast just created, or replayed, and what running it needs."""

    cast: Cast
    replay: bool
    # The version the new cast runs (its manifest via ``SpellService.manifest_of``); None on a replay,
    # which is not this request's to run.
    version: SpellVersion | None = None


@dataclass(frozen=True)
class CastParts:
    """What the cast service works with, built once by the platform (shared with the runner)."""

    db: Database
    spells: SpellService
    queue: Queue
    repo: CastRepository
    money: CastMoney
    hub: CastHub
    cancels: CancelTokens
    limits: CastLimits
    ending: CastEnding
    webhooks: CastWebhooks
    clock: Clock


_CANCELED = Ending(
    CastStatus.CANCELED, "CANCELED", "canceled by the caller", values={"cancel_requested": True}
)


def cast_job(cast_id: str, tenant_id: str) -> Job:
    """The ``cast.run`` job of a queued cast (the tenant lets a worker keep to the tenant's share)."""
    return Job(
        name="cast.run",
        id=cast_id,
        payload={"cast_id": cast_id, "tenant_id": tenant_id},
        trace=tracing.carrier(),
    )


def check_idempotency_key(key: str | None) -> str:
    """Printable ASCII, 1 to 128 characters."""
    if key is None or key == "":
        raise InvalidInput(
            "the Idempotency-Key header is required", hint="send a unique key per intended cast"
        )
    if len(key) > 128 or not all(0x20 <= ord(ch) < 0x7F for ch in key):
        raise InvalidInput("Idempotency-Key must be 1-128 printable ASCII characters")
    return key


class CastService:
    """Casts of one server process."""

    def __init__(self, parts: CastParts, policy: CastPolicy) -> None:
        self.parts, self.policy = parts, policy
        self.db, self.spells, self.queue, self.repo = parts.db, parts.spells, parts.queue, parts.repo
        self.money, self.hub, self.cancels, self.clock = parts.money, parts.hub, parts.cancels, parts.clock
        # Set when other server processes share the data dir: cancels for casts running there.
        self.relay: CancelRelay | None = None
        self._schemas: dict[str, InputSchema] = {}
        # Other domains' refusals of new casts (a user who restricted processing, a workflow that is
        # not in the caster's repository), added by the platform as it wires them.
        self.admissions: list[Admission] = []

    @property
    def calls_out(self) -> bool:
        """Whether creating a cast may wait on another service (an admission that calls out): it must
        then never run on the event loop."""
        return any(a.calls_out for a in self.admissions)

    @property
    def webhooks(self) -> WebhookSender | None:
        """What posts the webhooks of casts (None: deliveries wait in the outbox)."""
        delivery = self.parts.webhooks.delivery
        return None if delivery is None else delivery.sender

    @webhooks.setter
    def webhooks(self, sender: WebhookSender | None) -> None:
        delivery = self.parts.webhooks.delivery
        if delivery is not None:
            delivery.sender = sender

    def limits_of(self, manifest: SpellManifest) -> Limits:
        """The limits a cast of ``manifest`` runs under here (``CastLimits``)."""
        return self.parts.limits.of(manifest)

    def _input_schema(self, version: SpellVersion, manifest: SpellManifest) -> InputSchema:
        # Building a validator costs more than validating a small input: keep one per digest.
        schema = self._schemas.get(version.digest)
        if schema is None:
            schema = InputSchema.compile(version.input_schema, source=manifest.schema_relpath)
            self._schemas[version.digest] = schema
        return schema

    def create(
        self,
        principal: Principal,
        body: CastRequestBody,
        idempotency_key: str | None,
        *,
        called_out: bool = False,
        on_loop: bool = False,
    ) -> tuple[Cast, bool]:
        """Create (or replay) a queued cast in its own transaction; True as second value on replay.

        ``called_out``: the caller made this request's ``call_out`` already. ``on_loop``: the caller
        runs on an event loop, which must never wait on another service: a spell that an admission
        calling out applies to raises ``CallOutFirst`` instead (nothing written)."""
        created = self._create(
            principal, body, idempotency_key, claim=False, called_out=called_out, on_loop=on_loop
        )
        return created.cast, created.replay

    def create_claimed(
        self,
        principal: Principal,
        body: CastRequestBody,
        idempotency_key: str | None,
        *,
        called_out: bool = False,
    ) -> Created:
        """Create (or replay) a cast the caller runs itself, now (``CastRunner.execute``): it is
        created ``running`` and no job is queued. A replay is returned as it is, whatever its status."""
        return self._create(principal, body, idempotency_key, claim=True, called_out=called_out)

    def _create(
        self,
        principal: Principal,
        body: CastRequestBody,
        idempotency_key: str | None,
        *,
        claim: bool,
        called_out: bool = False,
        on_loop: bool = False,
    ) -> Created:
        key, digest = self.admit(principal, body, idempotency_key)
        if not called_out:
            # Most spells need no admission that calls out: their casts skip ``call_out`` (and its read
            # transaction); the others learn it before anything is written, and call out first.
            try:
                return self._create_once(principal, body, key, digest, claim=claim, called_out=False)
            except CallOutFirst:
                if on_loop:
                    raise
            self.call_out(principal, body, key, digest)
        return self._create_once(principal, body, key, digest, claim=claim, called_out=True)

    def _create_once(
        self,
        principal: Principal,
        body: CastRequestBody,
        key: str,
        digest: str,
        *,
        claim: bool,
        called_out: bool,
    ) -> Created:
        for attempt in range(2):
            try:
                with self.db.unit_of_work() as uow:
                    return self.create_in(
                        uow, principal, body, key, digest, claim=claim, called_out=called_out
                    )
            except IntegrityError:
                # A concurrent request with the same key committed first (PostgreSQL); replay it.
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def admit(
        self, principal: Principal, body: CastRequestBody, idempotency_key: str | None
    ) -> tuple[str, str]:
        """Checks that need no database: scope, key and webhook; the key and the request's digest.

        With a ``webhook_url`` it resolves a name: blocking, so never call it on an event loop."""
        principal.require("cast:invoke")
        key = check_idempotency_key(idempotency_key)
        check_input_json(body.input)
        if body.webhook_url is not None:
            check_webhook_url(body.webhook_url, self.policy.webhook_egress)
        digest = canonical_sha256(
            {
                "spell_id": body.spell_id,
                "version": body.version,
                "input": body.input,
                "webhook_url": body.webhook_url,
                "button_id": body.button_id,
            }
        )
        return key, digest

    def call_out(self, principal: Principal, body: CastRequestBody, key: str, digest: str) -> None:
        """Ask the admissions that call out about a request that passed ``admit``: before the creating
        transaction opens, as it may block (never on an event loop).

        A repeated request (its key made a cast already) asks nothing: the transaction replays it."""
        if not self.calls_out:
            return
        with self.db.unit_of_work(write=False) as uow:
            if self._replay(uow, principal, key, digest) is not None:
                return
            spell, version, manifest = self._resolve(uow, principal, body)
            if not any(a.calls_out and a.applies(version.execution) for a in self.admissions):
                return
            # The caller's own refusals come first, as in the transaction: nothing leaves the
            # platform for a cast it would refuse anyway.
            self._admit(Asking(principal, spell, version, manifest, body.input, uow), calls_out=False)
        self._admit(Asking(principal, spell, version, manifest, body.input), calls_out=True)

    def _admit(self, asking: Asking, *, calls_out: bool) -> None:
        execution = asking.version.execution
        for admission in self.admissions:
            if admission.calls_out == calls_out and admission.applies(execution):
                admission.check(asking)

    def create_in(
        self,
        uow: UnitOfWork,
        principal: Principal,
        body: CastRequestBody,
        key: str,
        digest: str,
        *,
        claim: bool = False,
        called_out: bool = False,
        key_at_commit: bool = False,
    ) -> Created:
        """``create`` (or with ``claim``, ``create_claimed``) inside the caller's transaction, with
        ``key`` and ``digest`` from ``admit``.

        ``called_out``: the caller made this request's ``call_out``; else a spell that an admission
        calling out applies to raises ``CallOutFirst`` before anything is written. ``key_at_commit``
        (a ``one_trip`` unit of work): the key is not checked now; a taken one fails the transaction
        (``repository.key_taken``), and the caller replays the request in another."""
        with tracing.span("spell.admit", spell_id=body.spell_id):
            return self._create_in(
                uow,
                principal,
                body,
                key,
                digest,
                claim=claim,
                called_out=called_out,
                key_at_commit=key_at_commit,
            )

    def _create_in(
        self,
        uow: UnitOfWork,
        principal: Principal,
        body: CastRequestBody,
        key: str,
        digest: str,
        *,
        claim: bool,
        called_out: bool,
        key_at_commit: bool,
    ) -> Created:
        # PostgreSQL checks the key in the INSERT itself (one round trip fewer); elsewhere it is looked up
        # first, under the write lock.
        checked_by_insert = self.repo.one_statement_create(uow)
        if not checked_by_insert and (replay := self._replay(uow, principal, key, digest)) is not None:
            return replay
        try:
            spell, version, manifest = self._admit_spell(uow, principal, body, called_out=called_out)
        except SpellError:
            # The same request as a cast made before its spell changed (suspended, yanked …) replays it.
            if checked_by_insert and (replay := self._replay(uow, principal, key, digest)) is not None:
                return replay
            raise
        now = self.clock.now()
        first = (CastStatus.QUEUED, CastStatus.RUNNING) if claim else (CastStatus.QUEUED,)
        cast = self.repo.create(
            uow,
            {
                "id": new_id("cast"),
                "tenant_id": principal.tenant_id,
                "user_id": principal.user_id,
                "spell_id": spell.id,
                "version": version.version,
                "spell_digest": version.digest,
                "button_id": body.button_id,
                "status": CastStatus.RUNNING if claim else CastStatus.QUEUED,
                "idempotency_key": key,
                "request_digest": digest,
                "input": body.input,
                "input_digest": canonical_sha256(body.input),
                "webhook_url": body.webhook_url,
                "cancel_requested": False,
                "created_at": now,
                "started_at": now if claim else None,
            },
            first,
            at=now,
            key_at_commit=key_at_commit and checked_by_insert,
        )
        if cast is None:  # a concurrent request with the same key committed first (PostgreSQL)
            replay = self._replay(uow, principal, key, digest)
            if replay is None:  # pragma: no cover - the key's holder committed its cast
                raise Conflict("this Idempotency-Key is being used; try again", retry_after=1)
            return replay
        self.money.reserve(uow, cast, manifest, self.parts.limits.of(manifest))
        self.parts.webhooks.created(uow, cast, running=claim)
        # An atomic increment, last: no lost updates under READ COMMITTED, and the hot spell row is
        # locked only for the end of the transaction.
        self.repo.count_cast(uow, spell.id)
        if not claim:
            enqueue_after_commit(uow, self.queue, cast_job(cast.id, cast.tenant_id))
        return Created(cast, False, version)

    def _replay(self, uow: UnitOfWork, principal: Principal, key: str, digest: str) -> Created | None:
        """The cast this key made before, when the request is the same; None when the key is new."""
        existing = self.repo.by_idempotency_key(uow, principal.tenant_id, key)
        if existing is None:
            return None
        if existing.request_digest != digest:
            raise IdempotencyConflict(
                "this Idempotency-Key was used with a different request",
                details={"idempotency_key": key, "cast_id": existing.id},
            )
        return Created(existing, True)

    def _admit_spell(
        self, uow: UnitOfWork, principal: Principal, body: CastRequestBody, *, called_out: bool
    ) -> tuple[Spell, SpellVersion, SpellManifest]:
        """The spell and version the request names, once they may be cast with its input."""
        spell, version, manifest = self._resolve(uow, principal, body)
        if not called_out and any(a.calls_out and a.applies(version.execution) for a in self.admissions):
            raise CallOutFirst(version.execution)
        metrics.note_runtime(version.digest, version.execution)
        # Those that call out were asked before this transaction opened (``call_out``).
        self._admit(Asking(principal, spell, version, manifest, body.input, uow), calls_out=False)
        return spell, version, manifest

    def _resolve(
        self, uow: UnitOfWork, principal: Principal, body: CastRequestBody
    ) -> tuple[Spell, SpellVersion, SpellManifest]:
        viewer = principal if body.as_tenant is None else replace(principal, tenant_id=body.as_tenant)
        spell, version = self.spells.resolve(uow, viewer, body.spell_id, body.version)
        manifest = self.spells.manifest_of(version)
        self._guard(spell, version, manifest, body)
        self._input_schema(version, manifest).check(body.input)
        return spell, version, manifest

    def _guard(
        self, spell: Spell, version: SpellVersion, manifest: SpellManifest, body: CastRequestBody
    ) -> None:
        if spell.is_suspended:
            raise SpellSuspended(
                f"spell {spell.id!r} is suspended",
                details={"spell_id": spell.id, "reason": spell.suspend_reason},
            )
        if version.is_yanked and body.version is None:
            raise PolicyViolation("the latest version is yanked; name a version explicitly")
        # The runtime guard and the signature rule of a local `spell cast`, with the operator's
        # settings; the signature itself was verified at publish. A button may demand or waive it.
        self.policy.runtimes.check(PolicyContext.from_manifest(manifest))
        self.policy.signature.enforce(published_signature(spell, version), wanted=body.require_signature)

    def queued_count(self) -> int:
        """How many casts wait in the queue, on every process (for the queue-depth metric)."""
        with self.db.unit_of_work(write=False) as uow:
            return self.repo.count_queued(uow)

    def get_status(self, cast_id: str) -> str | None:
        """The status of any cast (for operators and tests; no tenant check)."""
        with self.db.unit_of_work(write=False) as uow:
            cast = uow.session.get(Cast, cast_id)
            return cast.status if cast else None

    def add_running_event(self, cast_id: str, type_: str, data: dict[str, Any]) -> bool:
        """Append a ``progress`` or ``log`` event while the cast runs; False (nothing written) once it
        ended."""
        with self.db.unit_of_work() as uow:
            # A no-op update: it takes the cast's row lock, as cancel and the end do before they add
            # their event, so the events' ``seq`` never collide and none follows the terminal one.
            tenant_id = self.repo.hold_running(uow, cast_id)
            if tenant_id is None:
                return False
            self.repo.add_event(uow, cast_id, type_, data, at=self.clock.now())
            if type_ == "progress":
                self.parts.webhooks.progress(uow, cast_id, tenant_id, data)
        self.hub.notify(cast_id)
        return True

    def get(self, principal: Principal, cast_id: str) -> Cast:
        """One of the tenant's casts."""
        principal.require_any(*CAST_READ_SCOPES)
        with self.db.unit_of_work(write=False) as uow:
            return self.repo.read_for_tenant(uow, principal.tenant_id, cast_id)

    def list_casts(
        self,
        principal: Principal,
        *,
        status: str | None,
        spell_id: str | None,
        limit: int,
        cursor: str | None,
        created_from: datetime | None = None,
        created_before: datetime | None = None,
    ) -> tuple[list[Cast], str | None]:
        """A page of the tenant's casts, newest first, and the next cursor; optionally only those
        created in ``[created_from, created_before)``."""
        principal.require_any(*CAST_READ_SCOPES)
        if not 1 <= limit <= 100:
            raise InvalidInput("limit must be between 1 and 100", details={"limit": limit})
        if status is not None:
            try:
                status = CastStatus(status)
            except ValueError:
                choices = [member.value for member in CastStatus]
                raise InvalidInput(f"status must be one of {choices}", details={"status": status}) from None
        with self.db.unit_of_work(write=False) as uow:
            rows = self.repo.page(
                uow,
                principal.tenant_id,
                status=status,
                spell_id=spell_id,
                limit=limit + 1,
                before_id=cursor,
                created_from=created_from,
                created_before=created_before,
            )
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (rows[-1].id if more else None)

    def cancel(self, principal: Principal, cast_id: str) -> Cast:
        """Cancel a queued or running cast at once (the running sandbox is signalled to stop).

        A queued cast's hold is released; a running one's is settled by its runner, which records what
        it used."""
        principal.require("cast:invoke")
        with self.db.unit_of_work() as uow:
            self.cancel_in(uow, principal.tenant_id, cast_id)
        return self.get(principal, cast_id)

    def cancel_in(self, uow: UnitOfWork, tenant_id: str, cast_id: str) -> None:
        """``cancel`` in the caller's transaction, with no scope check (the caller made it); the
        sandbox is signalled after the commit."""
        # The worker may move the cast on between our read and our update (PostgreSQL, READ
        # COMMITTED): the conditional update then misses, and we look again.
        for _ in range(3):
            cast = self.repo.get_for_tenant(uow, tenant_id, cast_id)
            if cast.status in TERMINAL_STATUSES:
                raise AlreadyTerminal(
                    f"cast {cast_id} already ended ({cast.status})", details={"status": cast.status}
                )
            was = CastStatus(cast.status)
            if self.parts.ending.end(uow, cast, _CANCELED, from_status=was, release=was == CastStatus.QUEUED):
                break
        else:
            raise Conflict(f"cast {cast_id} kept changing; try again", retry_after=1)
        uow.after_commit(lambda: self._signal(cast_id))

    def _signal(self, cast_id: str) -> None:
        if not self.cancels.cancel(cast_id) and self.relay is not None:
            self.relay.send(cast_id)

    def retry(self, principal: Principal, cast_id: str) -> Cast:
        """A new cast with the same request, linked both ways (``retry_of`` / ``retried_by``)."""
        principal.require("cast:invoke")
        if self.calls_out:
            with self.db.unit_of_work(write=False) as uow:
                body = _retry_body(_retryable(self.repo.get_for_tenant(uow, principal.tenant_id, cast_id)))
            self.call_out(principal, body, f"retry:{cast_id}", canonical_sha256({"retry_of": cast_id}))
        try:
            return self._retry(principal, cast_id)
        except IntegrityError:
            # A concurrent retry of the same cast won (PostgreSQL); its key is retry:<cast id>.
            raise NotRetryable(f"cast {cast_id} was retried already", details={"cast_id": cast_id}) from None

    def _retry(self, principal: Principal, cast_id: str) -> Cast:
        with self.db.unit_of_work() as uow:
            old = _retryable(self.repo.get_for_tenant(uow, principal.tenant_id, cast_id))
            body = _retry_body(old)
            digest = canonical_sha256({"retry_of": old.id})
            # ``retry`` asked the admissions that call out, if any, before this transaction opened
            created = self.create_in(uow, principal, body, f"retry:{old.id}", digest, called_out=True)
            new = created.cast
            if created.replay:
                # A concurrent retry committed its new cast after we read the old one (PostgreSQL,
                # READ COMMITTED): that retry won.
                raise NotRetryable(f"cast {cast_id} was retried already", details={"cast_id": cast_id})
            self.repo.transition(uow, new.id, from_status=CastStatus.QUEUED, retry_of=old.id)
            new.retry_of = old.id
            old.retried_by = new.id
            uow.session.flush()
            return new

    def events_after(self, principal: Principal, cast_id: str, after: int) -> tuple[Cast, list[CastEvent]]:
        """The cast and its events with ``seq > after``."""
        principal.require_any(*CAST_READ_SCOPES)
        with self.db.unit_of_work(write=False) as uow:
            cast = self.repo.get_for_tenant(uow, principal.tenant_id, cast_id)
            return cast, self.repo.events_after(uow, cast_id, after)


def _retryable(old: Cast) -> Cast:
    """``old``, once it may be retried: ended without success, not retried yet, its input kept."""
    if old.status not in RETRYABLE_STATUSES or old.retried_by is not None:
        raise NotRetryable(
            f"cast {old.id} cannot be retried ({old.status})",
            details={"status": old.status, "retried_by": old.retried_by},
        )
    if old.input_reduced_at is not None:  # retention kept only the input's digest
        raise NotRetryable(
            f"cast {old.id} cannot be retried: its input is no longer kept",
            details={"status": old.status, "input_reduced_at": old.input_reduced_at.isoformat()},
            hint="cast the spell again with its input",
        )
    return old


def _retry_body(old: Cast) -> CastRequestBody:
    """The request of a retry: the one that made ``old``."""
    return CastRequestBody(
        spell_id=old.spell_id,
        input=old.input,
        version=old.version,
        webhook_url=old.webhook_url,
        button_id=old.button_id,
    )
