"""Assembles the platform from settings: database, services, queue and worker pool.

The edges (``create_app``, ``spell serve``, CLI admin verbs) build one ``Platform`` and pass it down;
nothing below reads the environment.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spell.config.abuse import AbuseSettings
from spell.config.billing import BillingSettings
from spell.config.github import GitHubSettings
from spell.config.privacy import PrivacySettings
from spell.config.retention import RetentionSettings
from spell.config.server import ServerSettings
from spell.config.supply import SupplySettings
from spell.config.webhooks import WebhookSettings
from spell.errors import InvalidInput
from spell.kit.clock import Clock, SystemClock
from spell.kit.private_files import private_dir, private_file, write_private_text
from spell.platform.abuse.service import AbuseService
from spell.platform.artifact.service import ArtifactService
from spell.platform.audit.checkpoint import CheckpointKey
from spell.platform.audit.hooks import install as install_audit_hooks
from spell.platform.audit.service import AuditService
from spell.platform.auth.service import AuthService
from spell.platform.billing.clone import CloneService, LicenseIssuer
from spell.platform.billing.entitlements import EntitlementService
from spell.platform.billing.payments import PaymentService
from spell.platform.billing.payouts import PayoutService
from spell.platform.billing.provider import provider_from_settings
from spell.platform.billing.quote import QuoteService
from spell.platform.billing.refunds import RefundHook, RefundService
from spell.platform.billing.revenue import RevenueShareService
from spell.platform.billing.service import LedgerCastMoney
from spell.platform.budget.service import BudgetService
from spell.platform.button.service import ButtonService
from spell.platform.cast.ending import CastEnding
from spell.platform.cast.hub import CancelTokens, CastHub
from spell.platform.cast.limits import CastLimits
from spell.platform.cast.money import CastMoney
from spell.platform.cast.orchestrator import CastOrchestrator
from spell.platform.cast.recovery import CastRecovery
from spell.platform.cast.relay import CancelRelay
from spell.platform.cast.repository import CastRepository
from spell.platform.cast.runner import CastRunner, RunnerParts
from spell.platform.cast.service import Admission, Asking, CastParts, CastPolicy, CastService
from spell.platform.cast.slots import TenantSlots
from spell.platform.cast.webhook import CastWebhooks
from spell.platform.ledger.service import LedgerService
from spell.platform.ledger.wallet import WalletService
from spell.platform.privacy.service import PrivacyParts, PrivacyService
from spell.platform.retention.holds import LegalHoldService
from spell.platform.retention.service import RetentionService
from spell.platform.spell import counts
from spell.platform.spell.api_signer import MakerSigner
from spell.platform.spell.service import GrimoirePolicy, SpellService, runtime_allow_list
from spell.platform.supply.advisories import AdvisoryService
from spell.platform.supply.notices import SupplyNotices
from spell.platform.supply.rescan import SupplyScanService
from spell.platform.webhook.delivery import DeliveryWorker
from spell.platform.webhook.endpoints import EndpointService
from spell.platform.webhook.outbox import WAKE_CHANNEL, WebhookService
from spell.platform.webhook.secret import WebhookSecretService
from spell.platform.webhook.service import WebhookSender
from spell.queue.base import Queue
from spell.queue.memory import MemoryQueue
from spell.runtimes.api import ApiRuntime
from spell.runtimes.base import Closes, Runtime
from spell.runtimes.builtin import BuiltinRuntime
from spell.runtimes.egress import EgressPolicy
from spell.runtimes.workflow import WorkflowRuntime, workflow_runtime
from spell.storage import changes, notify
from spell.storage.blobs import blob_store
from spell.storage.changes import share_generations
from spell.storage.session import Database, UnitOfWork, open_database

if TYPE_CHECKING:
    from spell.runtimes.host import HostRuntime

_log = logging.getLogger(__name__)

__all__ = ["Platform", "default_runtimes", "host_runtime", "require_shared_queue", "resolve_secret"]


def resolve_secret(settings: ServerSettings) -> str:
    """The configured secret, or a random one created once and kept in ``data_dir/secret.key``.

    The data dir is made (or tightened to) 0700 here, first thing a platform does with it.
    """
    private_dir(settings.data_dir)
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret.key"
    # Created 0600 in one step: never readable by others, and a racing process keeps the first one.
    write_private_text(path, secrets.token_urlsafe(32))
    private_file(path)
    return path.read_text(encoding="utf-8").strip()


def _queue_for(settings: ServerSettings) -> Queue:
    """The in-process queue, or NATS JetStream when ``SPELL_QUEUE_URL`` names a broker."""
    if settings.queue_url:
        from spell.queue.nats import NatsQueue

        return NatsQueue.for_deployment(
            settings.queue_url,
            settings.queue_name,
            ack_wait_s=settings.queue_ack_wait_seconds,
            reconnect=not settings.run_workers,
        )
    return MemoryQueue()


def require_shared_queue(settings: ServerSettings, role: str) -> None:
    """Refuse to run ``role`` (a process whose queued casts run in other processes, or that runs
    theirs) on the in-process queue: no other process could reach it."""
    if not settings.queue_url:
        raise InvalidInput(
            f"{role} needs a shared queue: with the in-process one, nothing else would run its casts",
            details={"variable": "SPELL_QUEUE_URL"},
            hint="set SPELL_QUEUE_URL=nats://HOST:4222 (NATS JetStream) on every API node and worker",
        )


def default_runtimes(settings: ServerSettings) -> dict[str, Runtime]:
    """The WASM runtime (the operator's maxima, AOT disk cache) always; host steps and Docker only when
    the operator enabled them. (The builtin functions are always added by ``Platform.build``.)"""
    from spell.runtimes.wasm import WasmRuntime

    runtimes: dict[str, Runtime] = {"wasm": WasmRuntime(settings.wasm)}
    if settings.allow_host_runtime:
        runtimes["host"] = host_runtime(settings)
    if settings.allow_docker_runtime:
        from spell.runtimes.docker import DockerRuntime

        runtimes["docker"] = DockerRuntime(settings.docker)
    return runtimes


def _with_platform_runtimes(
    settings: ServerSettings,
    runtimes: dict[str, Runtime],
    signer: MakerSigner,
    workflow: WorkflowRuntime | None = None,
) -> dict[str, Runtime]:
    """``runtimes`` plus the platform's own functions (always allowed, so always present) and, when the
    operator enabled them, calls to makers' endpoints signed with their webhook secret and GitHub
    workflows run as the operator's GitHub App."""
    merged: dict[str, Runtime] = {"builtin": BuiltinRuntime(), **runtimes}
    if settings.allow_api_runtime and "api" not in merged:
        merged["api"] = ApiRuntime(host_egress(settings), signer=signer)
    if workflow is not None and "workflow" not in merged:
        merged["workflow"] = workflow
    return merged


def workflow_admission(workflow: WorkflowRuntime) -> Admission:
    """Workflow casts are created only once GitHub confirmed the workflow is in the caster's repository
    (and the repository is theirs to use): asked afresh for every cast, so a deleted workflow is
    refused as soon as GitHub says so."""

    def check(asking: Asking) -> None:
        workflow.admit(asking.principal.tenant_id, asking.manifest, asking.input)

    return Admission("workflow", check, executions=frozenset({"workflow"}), calls_out=True)


def _refund_webhooks(outbox: WebhookService) -> RefundHook:
    """Refund events into the caster's tenant's webhook outbox, in the refund's transaction."""

    def emit(uow: UnitOfWork, tenant_id: str | None, event_type: str, payload: dict[str, Any]) -> None:
        if tenant_id is not None:  # a refund of a user that no longer exists has no one to tell
            outbox.emit(uow, tenant_id, event_type, payload)

    return emit


def host_egress(settings: ServerSettings) -> EgressPolicy:
    """Where host ``http`` steps and api spells may connect: https to public, allow-listed hosts unless
    opened."""
    if settings.unsafe_egress_allow_private:
        return EgressPolicy.unsafe_private_allowed()
    return EgressPolicy(allow_http=settings.egress_allow_http)


def webhook_egress(settings: ServerSettings) -> EgressPolicy:
    """Where webhook URLs may point: public https unless the operator opened more."""
    if settings.allow_private_webhooks:
        return EgressPolicy.unsafe_private_allowed()
    return EgressPolicy(allow_http=settings.egress_allow_http)


def host_runtime(settings: ServerSettings) -> HostRuntime:
    """The host runtime in the sandbox the operator chose; ``SandboxUnavailable`` when it cannot run here.

    Checked once at start, so a server never falls back to running host steps unconfined.
    """
    from spell.runtimes.host import EngineSettings, HostRuntime
    from spell.runtimes.host.sandbox import BwrapSandbox, sandbox_named
    from spell.runtimes.host.warm import WarmBwrapSandbox

    sandbox = sandbox_named(
        settings.host_sandbox,
        binary=settings.host_sandbox_bwrap,
        uid=settings.host_sandbox_uid,
        gid=settings.host_sandbox_gid,
    )
    if isinstance(sandbox, BwrapSandbox) and settings.host_sandbox_warm > 0:
        sandbox = WarmBwrapSandbox(sandbox, size=settings.host_sandbox_warm)
    sandbox.check()
    return HostRuntime(EngineSettings(egress=host_egress(settings)), sandbox=sandbox)


@dataclass
class Platform:
    """Every service of one server process."""

    settings: ServerSettings
    db: Database
    auth: AuthService
    spells: SpellService
    casts: CastService
    artifacts: ArtifactService
    queue: Queue
    runner: CastRunner
    orchestrator: CastOrchestrator
    recovery: CastRecovery
    secret: str
    webhook_secrets: WebhookSecretService
    webhooks: WebhookService
    webhook_delivery: DeliveryWorker
    audit: AuditService
    ledger: LedgerService
    budgets: BudgetService
    wallet: WalletService
    revenue_shares: RevenueShareService
    quotes: QuoteService
    payments: PaymentService
    entitlements: EntitlementService
    clones: CloneService
    refunds: RefundService
    payouts: PayoutService
    buttons: ButtonService
    advisories: AdvisoryService
    supply_scan: SupplyScanService
    supply_notices: SupplyNotices
    retention: RetentionService
    legal_holds: LegalHoldService
    abuse: AbuseService
    privacy: PrivacyService
    _started: bool = field(default=False, init=False)
    listener: notify.Listener | None = field(default=None, init=False)
    _sweeping: threading.Event = field(default_factory=threading.Event, init=False)
    _rescanning: threading.Event = field(default_factory=threading.Event, init=False)
    _retaining: threading.Event = field(default_factory=threading.Event, init=False)

    @classmethod
    def build(
        cls,
        settings: ServerSettings,
        *,
        runtimes: dict[str, Runtime] | None = None,
        money: CastMoney | None = None,
        queue: Queue | None = None,
        database: Database | None = None,
        clock: Clock | None = None,
        billing: BillingSettings | None = None,
        supply: SupplySettings | None = None,
        retention: RetentionSettings | None = None,
        abuse: AbuseSettings | None = None,
        privacy: PrivacySettings | None = None,
        webhooks: WebhookSettings | None = None,
        github: GitHubSettings | None = None,
    ) -> Platform:
        """Wire the services; ``runtimes``/``money``/``queue``/``database``/``clock`` override the
        defaults, ``billing`` sets the card processor and maker share (default: operator-credited
        wallets, 80 %), ``supply`` the publish gate (default: public spells need a clean SBOM),
        ``retention`` how long cast data and audit records are kept (default: the documented periods),
        ``abuse`` when violations suspend (default: 10 within 24 hours), ``privacy`` the erasure
        grace period (default 90 days), ``webhooks`` the delivery retry schedule and ``github`` the
        GitHub App workflow spells run as (default: none, workflow spells refused)."""
        time = clock or SystemClock()
        supply = supply or SupplySettings()
        install_audit_hooks()  # key, publisher-key, spell and ban changes land in the audit chain
        secret = resolve_secret(settings)
        db = database or open_database(settings.database_url)
        workflow = workflow_runtime(github, clock=time) if github is not None else None
        runtimes_allowed = runtime_allow_list(
            host=settings.allow_host_runtime,
            docker=settings.allow_docker_runtime,
            api=settings.allow_api_runtime,
            workflow=workflow is not None,
        )
        blobs = blob_store(settings)
        spells = SpellService(
            settings.bundles_dir,
            GrimoirePolicy(
                allow_unsigned=settings.allow_unsigned and not settings.force_require_signature,
                runtimes=runtimes_allowed,
                supply=supply,
            ),
            cache_ms=settings.cache_ms,
            clock=time,
            blobs=blobs,
        )
        broker = queue or _queue_for(settings)
        billing = billing or BillingSettings()
        checkpoint_key = CheckpointKey.from_secret(secret)
        audit = AuditService(clock=time, checkpoint_key=checkpoint_key)
        ledger = LedgerService(clock=time)
        budgets = BudgetService(ledger, audit, clock=time)
        shares = RevenueShareService(audit, default_bps=billing.maker_share_bps, clock=time)
        webhook_secrets = WebhookSecretService(secret, audit=audit, clock=time)
        webhook_targets = webhook_egress(settings)
        repo, hub, cancels = CastRepository(time), CastHub(), CancelTokens()
        entitlements = EntitlementService()
        payments = PaymentService(ledger, audit, provider_from_settings(billing), clock=time)
        cast_money = money or LedgerCastMoney(budgets, audit, shares, entitlements)
        limits = CastLimits(settings.wasm)
        webhook_settings = webhooks or WebhookSettings()
        sender = WebhookSender(egress=webhook_targets, timeout_s=webhook_settings.timeout_seconds)
        # Caches off (cache_ms 0) turns this one off too.
        endpoint_cache_s = webhook_settings.endpoint_cache_seconds if settings.cache_ms else 0.0
        endpoints = EndpointService(
            secret, egress=webhook_targets, audit=audit, cache_s=endpoint_cache_s, clock=time
        )
        outbox = WebhookService(endpoints, clock=time)
        delivery = DeliveryWorker(db, outbox, webhook_secrets, sender, webhook_settings, clock=time)
        cast_webhooks = CastWebhooks(outbox, delivery)
        notices = SupplyNotices(db, outbox, egress=webhook_targets, audit=audit, clock=time)
        supply_scan = SupplyScanService(supply, notices, audit, clock=time)
        ending = CastEnding(repo, cast_money, hub, cast_webhooks, time)
        casts = CastService(
            CastParts(
                db, spells, broker, repo, cast_money, hub, cancels, limits, ending, cast_webhooks, time
            ),
            CastPolicy(
                allow_unsigned=settings.allow_unsigned,
                force_require_signature=settings.force_require_signature,
                runtimes=runtimes_allowed,
                webhook_egress=webhook_targets,
            ),
        )
        if workflow is not None:
            casts.admissions.append(workflow_admission(workflow))
        artifacts = ArtifactService(
            blobs,
            secret,
            ttl=timedelta(seconds=settings.artifact_ttl_seconds),
            url_ttl=timedelta(seconds=settings.artifact_url_ttl_seconds),
            clock=time,
        )
        recovery = CastRecovery(db, repo, ending, spells, limits, cancels, broker, time)
        runner = CastRunner(
            RunnerParts(
                db, repo, spells, limits, cast_money, ending, hub, cancels, casts, recovery, artifacts, time
            ),
            _with_platform_runtimes(
                settings,
                runtimes if runtimes is not None else default_runtimes(settings),
                MakerSigner(db, webhook_secrets, time),
                workflow,
            ),
            Path(settings.data_dir) / "work",
            slots=TenantSlots(settings.tenant_slots(settings.workers)),
            quick_jobs=settings.quick_casts,
        )
        # Quick casts run on the event loop: on SQLite their statements block it (they never wait on a
        # network), on PostgreSQL they wait in a greenlet that yields to it.
        orchestrator = CastOrchestrator(
            casts,
            runner,
            slots=settings.inline_casts,
            per_tenant=settings.tenant_slots(settings.inline_casts),
            quick=settings.quick_casts and (settings.is_sqlite or db.loop_connections > 0),
            quick_on_thread=settings.quick_casts,
            quick_yields=db.loop_connections > 0,
        )
        auth = AuthService(
            secret,
            rotation_grace=timedelta(seconds=settings.key_rotation_grace_seconds),
            cache_ms=settings.cache_ms,
            audit=audit,
            clock=time,
        )
        violations = AbuseService(abuse or AbuseSettings(), spells, auth, notices, audit, clock=time)
        ending.on_failure = violations.cast_failed
        rights = PrivacyService(
            PrivacyParts(auth, casts, audit, budgets, ledger, blobs),
            privacy or PrivacySettings(),
            clock=time,
            cache_s=settings.cache_ms / 1000,
        )
        casts.admissions.append(rights.admission())  # restricted users cast nothing
        kept = RetentionService(retention or RetentionSettings(), audit, blobs, checkpoint_key, clock=time)
        kept.erasure = rights  # erased users' data is purged by the same scheduled run
        holds = LegalHoldService(audit)
        rights.respect_holds(holds.is_held)
        return cls(
            settings=settings,
            db=db,
            auth=auth,
            spells=spells,
            casts=casts,
            artifacts=artifacts,
            queue=broker,
            runner=runner,
            orchestrator=orchestrator,
            recovery=recovery,
            secret=secret,
            webhook_secrets=webhook_secrets,
            webhooks=outbox,
            webhook_delivery=delivery,
            audit=audit,
            ledger=ledger,
            budgets=budgets,
            wallet=WalletService(ledger, audit, auth),
            revenue_shares=shares,
            quotes=QuoteService(spells, casts.limits_of, budgets, entitlements),
            payments=payments,
            entitlements=entitlements,
            clones=CloneService(
                spells,
                budgets,
                audit,
                shares,
                LicenseIssuer.from_secret(secret),
                entitlements=entitlements,
                clock=time,
            ),
            refunds=RefundService(
                ledger, audit, budgets, payments, entitlements, clock=time, notify=_refund_webhooks(outbox)
            ),
            payouts=PayoutService(ledger, audit, payments, clock=time),
            buttons=ButtonService(spells, clock=time),
            advisories=AdvisoryService(supply_scan, audit, clock=time),
            supply_scan=supply_scan,
            supply_notices=notices,
            retention=kept,
            legal_holds=holds,
            abuse=violations,
            privacy=rights,
        )

    def share_with_siblings(self, *, relay_cancels: bool, listen: bool = True) -> None:
        """Share cache generations with every process of this data dir (CLI commands included) and,
        with ``relay_cancels``, take and send cancels of casts running in a sibling server process.

        On PostgreSQL, cancels go to every other machine as well and, with ``listen`` (a server or
        worker, not a one-shot command), this process hears other machines' changes and cancels.
        """
        share_generations(self.settings.run_dir / "generations")
        remote = not self.settings.is_sqlite
        relay = self.casts.relay
        if relay is not None and relay_cancels and not relay.local:
            relay.close()  # remote only so far: now with this host's sibling processes too
            self.casts.relay = relay = None
        if (relay_cancels or remote) and relay is None:
            engine = self.db.engine
            self.casts.relay = CancelRelay(
                self.settings.run_dir if relay_cancels else None,
                self.casts.cancels.cancel,
                remote=(lambda cast_id: notify.send_cancel(engine, cast_id)) if remote else None,
            )
        if remote and listen and self.listener is None:
            changes.hold_caching(True)  # until it listens: nothing heard yet
            self.listener = notify.Listener(
                self.settings.database_url,
                on_change=changes.bump_named,
                on_cancel=self.casts.cancels.cancel,
                on_gap=changes.bump_all_here,
                on_state=lambda up: changes.hold_caching(not up),
                # An API-only node's events wake the workers here, and a gap wakes them too.
                wakes={WAKE_CHANNEL: self.webhooks.wakeup.set},
            ).start()

    def start(self, *, recover: bool = True) -> None:
        """Recover casts a previous process left behind, then start the worker pool.

        A process of ``spell serve --processes N`` passes ``recover=False``: its siblings' casts are
        alive, and the parent recovered the dead ones before starting them all.
        """
        if self._started:
            return
        if recover:
            self.recover()
        if self.settings.run_workers:  # an API-only node leaves its queued casts to `spell worker`s
            self.queue.start(self.runner, workers=self.settings.workers)
            self.webhook_delivery.start()  # and its webhooks: the outbox waits for a worker node
        # Casts run by a request (``Prefer: wait``) have no job a broker could redeliver: when whatever
        # ran one died (a sibling process, or a thread of this one), the sweep ends it once its time is
        # surely up, and runs queued casts whose job was lost (on the in-process queue).
        self._sweeping.clear()
        threading.Thread(target=self._sweep, name="spell-orphan-sweep", daemon=True).start()
        self._rescanning.clear()
        if self.supply_scan.settings.rescan_interval_s > 0:
            threading.Thread(target=self._rescan, name="spell-supply-rescan", daemon=True).start()
        self._retaining.clear()
        if self.retention.settings.interval_s > 0:
            threading.Thread(target=self._retain, name="spell-retention", daemon=True).start()
        self._started = True

    def stop(self) -> None:
        """Stop the workers and the request side's cast threads, and close the database pool."""
        self.orchestrator.close()
        if self._started:
            self._sweeping.set()
            self._rescanning.set()
            self._retaining.set()
            self.queue.stop()
            self.webhook_delivery.stop()
            self._started = False
        # Casts have ended (the queue's workers and the request side's threads are stopped): what the
        # runtimes hold between casts (the host runtime's sandboxes started ahead, the WASM epoch
        # ticker) is let go, not left waiting.
        for runtime in self.runner.runtimes.values():
            if isinstance(runtime, Closes):
                runtime.close()
        if self.casts.relay is not None:
            self.casts.relay.close()
            self.casts.relay = None
        if self.listener is not None:
            self.listener.close()
            changes.hold_caching(False)  # a stopped listener holds caching off; this one is gone
            self.listener = None
        self.db.dispose()

    def sweep(self) -> None:
        """One round: end casts left ``running`` past their time limit by no live runner of this
        process (aborted, free), and queue stale ``queued`` casts again."""
        self.recovery.sweep_orphans()
        # A sibling process that died took its in-memory queue along, and a job whose publishing
        # failed after its commit (a broker restart) was never queued. One still waiting in a queue
        # costs a duplicate job, which the claim turns away (and the in-process queue, or NATS inside
        # its duplicate window, drops while it holds the first).
        self.recovery.requeue_stale()
        self.fold_cast_counts()

    def fold_cast_counts(self) -> None:
        """Add the casts counted since the last fold to their spells' ``cast_count`` (``spell.counts``)."""
        if self.db.engine.dialect.name != "postgresql":
            return  # SQLite counts in the spell's row directly: nothing waits to be folded
        while True:
            with self.db.unit_of_work() as uow:
                if counts.fold(uow.session) < counts.FOLD_BATCH:
                    return

    def _sweep(self) -> None:
        while not self._sweeping.wait(self.settings.sweep_seconds):
            try:
                self.sweep()
            except Exception:  # a database hiccup must not end the sweeping for good
                _log.exception("sweeping orphaned casts failed; trying again later")

    def _rescan(self) -> None:
        # Every process of ``spell serve --processes N`` scans; the scan's lock makes the later ones
        # find nothing new to tell.
        while not self._rescanning.wait(self.supply_scan.settings.rescan_interval_s):
            try:
                self.supply_scan.run(self.db)
            except Exception:  # a database hiccup must not end the scheduled scans for good
                _log.exception("re-scanning published versions failed; trying again later")

    def _retain(self) -> None:
        # Every server process and worker runs it; their batches take different rows (see retention).
        while not self._retaining.wait(self.retention.settings.interval_s):
            try:
                self.retention.run(self.db)
            except Exception:  # a database hiccup must not end the scheduled runs for good
                _log.exception("applying the retention rules failed; trying again later")

    def recover(self) -> None:
        """End the casts a stopped server left running (aborted, free) and queue its queued ones again."""
        if self.settings.queue_url:
            # Shared broker: other processes may be running casts right now, and the broker
            # redelivers what a dead worker left unacknowledged; nothing to repair from here.
            return
        self.recovery.recover()
