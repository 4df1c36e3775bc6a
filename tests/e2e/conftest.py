"""One live platform per database for the end-to-end module: migrated like an operator's, served by
uvicorn on a free port, with the fake GitHub App and the fake Stripe behind it, a clock the tests move,
and a priced workflow spell published over HTTP by its maker.

Fixtures are module-scoped: the tests share the server as clients of one deployment would, each acting
as a caster of its own (own tenant, own repository), so they stay independent of one another's order.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from spell.config.billing import BillingSettings
from spell.config.github import GitHubInstallation, GitHubSettings
from spell.config.server import ServerSettings
from spell.kit.clock import FakeClock
from spell.platform.server import Platform
from spell.signing.signature import sign_bundle
from spell.storage.engine import make_engine
from spell.storage.migrate import upgrade
from spell.storage.session import Database
from tests.api.test_workflow_casts import workflow_bundle
from tests.cli.run_cli import run_cli
from tests.client.live_server import FLAT_PRICE, serving
from tests.fakes.github_server import FakeGitHub, FakeRepo, FakeWorkflow, new_app, running_fake_github, zip_of
from tests.fakes.stripe_server import FakeStripe, running_fake_stripe
from tests.fixtures.bundles import archive_of, new_publisher
from tests.fixtures.database import BACKENDS, DatabaseTemplates, require_postgres
from tests.fixtures.server import Caller, seed_user

__all__ = ["Stack", "stack"]

SPELL = "acme/ci"
PRICE_MICROS = 250_000  # FLAT_PRICE
INSTALLATION = 77
ARTIFACT_TTL_SECONDS = (
    30  # under the minute the App's JWTs are backdated: moving the clock past it keeps them valid
)
WEBHOOK_SECRET = "whsec_e2e"
REPORT = b"all green"


@dataclass
class Stack:
    """The deployment under test and the handles a test needs to act on it and look behind it."""

    url: str
    platform: Platform
    clock: FakeClock
    github: FakeGitHub
    stripe: FakeStripe
    maker: Caller
    env: dict[str, str]  # what the operator's `spell` CLI needs to reach the same database
    bindings: dict[str, GitHubInstallation] = field(default_factory=dict)

    def http(self, caller: Caller | None = None) -> httpx.Client:
        """An HTTP client of the live server, authenticated as ``caller``."""
        return httpx.Client(base_url=self.url, headers=caller.headers if caller else {}, timeout=60)

    def caster(self, name: str, *, top_up_micros: int = 0) -> tuple[Caller, str]:
        """A new caster in a tenant of its own, bound to a repository of its own on the App's installation
        (returned with it), its wallet topped up with a card payment through Stripe."""
        caster = seed_user(self.platform, f"{name}-{secrets.token_hex(3)}@example.com", ["caster"])
        repo = f"octo/{name}"
        self.github.repos[repo] = FakeRepo(
            INSTALLATION, {"build.yml": FakeWorkflow(artifacts={"report": zip_of({"report.txt": REPORT})})}
        )
        self.bindings[caster.tenant_id] = GitHubInstallation(INSTALLATION, frozenset({repo}))
        if top_up_micros:
            with self.http(caster) as http:
                paid = http.post(
                    "/v1/billing/top-ups",
                    headers={"Idempotency-Key": f"fund-{name}"},
                    json={"amount_micros": top_up_micros},
                )
            assert paid.status_code == 201, paid.text
            assert paid.json()["status"] == "succeeded"
        return caster, repo

    def books_balance(self) -> None:
        """``spell ledger verify`` and ``spell audit verify`` on the server's database, as an operator runs
        them: both pass (exit 0, no drift, every transaction sums to zero, the audit chain intact)."""
        with pytest.MonkeyPatch.context() as env:
            for name, value in self.env.items():
                env.setenv(name, value)
            ledger = run_cli("ledger", "verify", "--json")
            audit = run_cli("audit", "verify", "--json")
        assert ledger.exit_code == 0, ledger.stderr
        assert audit.exit_code == 0, audit.stderr
        report = ledger.json()
        assert (report["ok"], report["drift"], report["unbalanced_transactions"]) == (True, [], [])


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: the whole module runs once on each."""
    name: str = request.param
    if name == "postgresql":
        require_postgres()
    return name


@pytest.fixture(scope="module")
def migrated_url(
    backend: str, database_templates: DatabaseTemplates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database brought to the newest revision by the migrations (not by ``create_all``)."""
    url = database_templates.empty(backend, tmp_path_factory.mktemp(f"e2e-{backend}"))
    upgrade(url)
    yield url
    database_templates.drop(url)


@pytest.fixture(scope="module")
def stack(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The live server of this module, its fakes started first and its spell published."""
    folder = tmp_path_factory.mktemp("e2e-stack")
    clock = FakeClock(datetime.now(UTC))
    app = new_app()
    key = folder / "github-app.pem"
    key.write_text(app.private_pem, encoding="utf-8")
    bindings: dict[str, GitHubInstallation] = {}
    settings = ServerSettings.for_home(
        folder / "home",
        database_url=migrated_url,
        secret_key="e2e-secret",
        workers=2,
        artifact_ttl_seconds=ARTIFACT_TTL_SECONDS,
        rate_limit_per_minute=100_000,
        tenant_rate_limit_per_minute=100_000,
    )
    with ExitStack() as running:
        github = running.enter_context(contextmanager(running_fake_github)(app, clock=clock))
        stripe = running.enter_context(contextmanager(running_fake_stripe)())
        # Installed with the App but bound to no tenant: only the operator's bindings keep casters out.
        github.repos["octo/unbound"] = FakeRepo(INSTALLATION, {"build.yml": FakeWorkflow()})
        github_settings = GitHubSettings(
            app_id=app.app_id,
            private_key_path=key,
            api_url=github.url,
            installations=bindings,  # read on every cast: tests bind their casters as they go
            poll_first_ms=0,
            poll_max_ms=0,
        )
        billing = BillingSettings(
            stripe_api_key="sk_test_e2e", stripe_webhook_secret=WEBHOOK_SECRET, stripe_api_base=stripe.url
        )
        database = Database(make_engine(migrated_url))
        running.callback(database.dispose)
        platform = Platform.build(
            settings, runtimes={}, database=database, clock=clock, billing=billing, github=github_settings
        )
        platform.start()
        running.callback(platform.stop)
        live = running.enter_context(serving(platform, settings))
        maker = _publish_workflow_spell(live.url, platform, folder)
        env = {
            "SPELL_HOME": str(folder / "home"),
            "SPELL_DATABASE_URL": migrated_url,
            "SPELL_SERVER_SECRET_KEY": "e2e-secret",
        }
        yield Stack(live.url, platform, clock, github, stripe, maker, env, bindings)


def _publish_workflow_spell(url: str, platform: Platform, folder: Path) -> Caller:
    """Register the maker's publisher key and publish the signed, priced workflow spell, over HTTP."""
    maker = seed_user(platform, "maker@example.com", ["maker"])
    maker.publisher = new_publisher("acme")
    bundle = workflow_bundle(folder / "bundle", SPELL)
    with (bundle / "spell.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(FLAT_PRICE)
    sign_bundle(bundle, maker.publisher.private_key, key_id=maker.publisher.key_id)
    with httpx.Client(base_url=url, headers=maker.headers, timeout=60) as http:
        key = http.post(
            "/v1/publishers/acme/keys",
            json={"key_id": maker.publisher.key_id, "public_key": maker.publisher.public_key},
        )
        assert key.status_code == 201, key.text
        published = http.post("/v1/spells", content=archive_of(bundle))
        assert published.status_code == 201, published.text
    return maker
