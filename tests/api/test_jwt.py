"""JWT bearer tokens against a JWKS: algorithms, issuer, audience, expiry, ``alg: none``, provisioning."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy.exc import IntegrityError

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.errors import AuthError, InvalidInput
from spell.kit.clock import FakeClock
from spell.kit.encoding import b64url_encode
from spell.kit.time import utcnow
from spell.platform.audit.service import AuditService
from spell.platform.auth.errors import TenantAlreadyBound, TenantNotFound
from spell.platform.auth.jwt import JwtVerifier
from spell.platform.server import Platform

pytestmark = pytest.mark.anyio

ISSUER = "https://id.example.com"
OTHER_ISSUER = "https://other-id.example.net"
# The operator lets ISSUER's tokens make makers, auditors and (under its own name) operators.
ROLE_MAP = {ISSUER: {"maker": "maker", "auditor": "auditor", "spell-ops": "operator"}}
AUDIENCE = "spell-api"
KEYS: dict[str, Any] = {
    "EdDSA": ed25519.Ed25519PrivateKey.generate(),
    "ES256": ec.generate_private_key(ec.SECP256R1()),
    "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
}


def _jwks() -> dict[str, Any]:
    algorithms = pyjwt.algorithms.get_default_algorithms()
    keys = []
    for alg, private in KEYS.items():
        jwk = algorithms[alg].to_jwk(private.public_key(), as_dict=True)
        keys.append({**jwk, "kid": alg.lower(), "alg": alg})
    return {"keys": keys}


def _token(alg: str = "EdDSA", **overrides: Any) -> str:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "exp": int(time.time()) + 300,
        "roles": ["maker", "admin"],
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return pyjwt.encode(claims, KEYS[alg], algorithm=alg, headers={"kid": alg.lower()})


@pytest.fixture
async def jwt_client(platform: Platform, server_settings: ServerSettings) -> AsyncIterator[httpx.AsyncClient]:
    verifier = JwtVerifier.from_jwks(
        _jwks(), issuers=(ISSUER, OTHER_ISSUER), audience=AUDIENCE, role_map=ROLE_MAP
    )
    app = create_app(server_settings, platform=platform, manage=False, jwt=verifier)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://spell.test"
    ) as http:
        yield http


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
async def test_a_valid_token_provisions_its_user_once(jwt_client: httpx.AsyncClient, alg: str) -> None:
    first = await jwt_client.get("/v1/me", headers=_auth(_token(alg)))
    assert first.status_code == 200, first.text
    assert first.json()["roles"] == ["maker"]  # admin is never granted by a token
    assert "spell:publish" in first.json()["scopes"]
    again = await jwt_client.get("/v1/me", headers=_auth(_token(alg)))
    assert again.json()["user_id"] == first.json()["user_id"]


def _none_token() -> str:
    header = b64url_encode(json.dumps({"alg": "none", "kid": "eddsa"}).encode())
    body = b64url_encode(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": 9999999999}).encode())
    return f"{header}.{body}."


def _hs256_token() -> str:
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60}
    return pyjwt.encode(
        claims, "a-shared-secret-of-32-bytes-length!", algorithm="HS256", headers={"kid": "eddsa"}
    )


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: _token(iss="https://evil.example.com"), id="wrong-issuer"),
        pytest.param(lambda: _token(org=["acme"]), id="org-not-a-string"),
        pytest.param(lambda: _token(org="x" * 201), id="org-too-long"),
        pytest.param(lambda: _token(sub="s" * 500), id="subject-too-long"),
        pytest.param(lambda: _token(aud="other"), id="wrong-audience"),
        pytest.param(lambda: _token(exp=int(time.time()) - 10), id="expired"),
        pytest.param(lambda: _token(exp=None), id="no-exp"),
        pytest.param(lambda: _token(sub=None), id="no-sub"),
        pytest.param(_none_token, id="alg-none"),
        pytest.param(_hs256_token, id="alg-hs256"),
        pytest.param(lambda: "not.a.jwt", id="garbage"),
        pytest.param(lambda: _token("ES256")[:-8] + "AAAAAAAA", id="bad-signature"),
    ],
)
async def test_bad_tokens_are_401(jwt_client: httpx.AsyncClient, token: Any) -> None:
    response = await jwt_client.get("/v1/me", headers=_auth(token()))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_an_unknown_key_id_is_401(jwt_client: httpx.AsyncClient) -> None:
    token = pyjwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60},
        KEYS["EdDSA"],
        algorithm="EdDSA",
        headers={"kid": "nope"},
    )
    assert (await jwt_client.get("/v1/me", headers=_auth(token))).status_code == 401


async def test_a_banned_jwt_user_is_refused(jwt_client: httpx.AsyncClient, platform: Platform) -> None:
    me = (await jwt_client.get("/v1/me", headers=_auth(_token()))).json()
    with platform.db.unit_of_work() as uow:
        platform.auth.set_ban(uow, me["user_id"], banned=True)
    response = await jwt_client.get("/v1/me", headers=_auth(_token()))
    assert response.json()["error"]["code"] == "USER_BANNED"


def test_a_jwks_needs_issuers_and_audience(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        JwtVerifier.from_jwks(_jwks(), issuers=(), audience=AUDIENCE)
    with pytest.raises(InvalidInput):
        JwtVerifier.from_jwks(_jwks(), issuers=(ISSUER,), audience=AUDIENCE, algorithms=("HS256",))
    with pytest.raises(InvalidInput):
        JwtVerifier.from_jwks({"keys": "nope"}, issuers=(ISSUER,), audience=AUDIENCE)
    with pytest.raises(InvalidInput):
        JwtVerifier.from_file(tmp_path / "missing.json", issuers=(ISSUER,), audience=AUDIENCE)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(_jwks()), encoding="utf-8")
    assert set(JwtVerifier.from_file(path, issuers=(ISSUER,), audience=AUDIENCE).keys) == {
        "eddsa",
        "es256",
        "rs256",
    }


def test_settings_build_the_verifier_only_when_a_jwks_is_configured(tmp_path: Path) -> None:
    from spell.api.jwt_setup import jwt_verifier

    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(_jwks()), encoding="utf-8")
    base = ServerSettings.for_home(tmp_path)
    assert jwt_verifier(base) is None
    configured = ServerSettings.for_home(
        tmp_path, jwks_file=path, jwt_issuers=(ISSUER,), jwt_audience=AUDIENCE
    )
    assert jwt_verifier(configured) is not None
    with pytest.raises(InvalidInput):
        jwt_verifier(ServerSettings.for_home(tmp_path, jwks_file=path))
    mapped = ServerSettings.for_home(
        tmp_path, jwks_file=path, jwt_issuers=(ISSUER,), jwt_audience=AUDIENCE, jwt_role_map=ROLE_MAP
    )
    verifier = jwt_verifier(mapped)
    assert verifier is not None
    assert verifier.role_map == ROLE_MAP
    with pytest.raises(InvalidInput):  # the map names an issuer the server does not trust
        jwt_verifier(
            ServerSettings.for_home(
                tmp_path,
                jwks_file=path,
                jwt_issuers=(OTHER_ISSUER,),
                jwt_audience=AUDIENCE,
                jwt_role_map=ROLE_MAP,
            )
        )
    unreachable = ServerSettings.for_home(
        tmp_path, jwks_url="http://127.0.0.1:9/jwks.json", jwt_issuers=(ISSUER,), jwt_audience=AUDIENCE
    )
    with pytest.raises(InvalidInput):
        jwt_verifier(unreachable)


class _JwksServer:
    """A JWKS endpoint on localhost whose document the test changes, counting fetches."""

    def __init__(self, document: dict[str, Any]) -> None:
        import http.server
        import threading

        self.document: dict[str, Any] | None = document
        self.fetches = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                if outer.document is None:
                    self.send_response(503)
                    self.end_headers()
                    return
                body = json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _only(*algs: str) -> dict[str, Any]:
    return {"keys": [key for key in _jwks()["keys"] if key["alg"] in algs]}


def test_a_jwks_url_is_refetched_when_a_token_names_a_new_key(tmp_path: Path) -> None:
    from spell.api.jwt_setup import jwt_verifier

    served = _JwksServer(_only("EdDSA"))
    try:
        settings = ServerSettings.for_home(
            tmp_path, jwks_url=served.url, jwt_issuers=(ISSUER,), jwt_audience=AUDIENCE
        )
        verifier = jwt_verifier(settings)
        assert verifier is not None
        assert served.fetches == 1
        assert verifier.claims(_token("EdDSA"))["sub"] == "user-1"
        served.document = _only("EdDSA", "ES256")  # the provider rotates a new key in
        object.__setattr__(verifier, "min_refresh_s", 0.0)
        assert verifier.claims(_token("ES256"))["sub"] == "user-1"
        assert served.fetches == 2
    finally:
        served.close()


def test_unknown_key_ids_refetch_at_most_once_per_interval_and_failures_keep_the_keys() -> None:
    served = _JwksServer(_only("EdDSA"))
    clock = FakeClock(utcnow())
    later = int(clock.now().timestamp()) + 3600  # every token here outlives the clock's moves
    try:

        def fetch() -> dict[str, Any]:
            return httpx.get(served.url, timeout=5).raise_for_status().json()  # type: ignore[no-any-return]

        verifier = JwtVerifier.from_jwks(
            fetch(), issuers=(ISSUER,), audience=AUDIENCE, fetch=fetch, clock=clock
        )
        for _ in range(5):  # a flood of tokens with an unknown kid: no refetch within the interval
            with pytest.raises(AuthError):
                verifier.claims(_token("RS256", exp=later))
        assert served.fetches == 1
        clock.advance(verifier.min_refresh_s)
        with pytest.raises(AuthError):
            verifier.claims(_token("RS256", exp=later))
        assert served.fetches == 2  # once the interval passed, the unknown kid fetched the keys again
        served.document = None  # the provider is down
        assert verifier.refresh() is False
        assert verifier.claims(_token("EdDSA", exp=later))["sub"] == "user-1"  # the old keys still work
        served.document = _only("ES256")  # the provider withdrew the EdDSA key
        clock.advance(verifier.max_age_s)
        assert verifier.claims(_token("EdDSA", exp=later))["sub"] == "user-1"  # not older than the max age
        clock.advance(0.001)
        with pytest.raises(AuthError):
            verifier.claims(_token("EdDSA", exp=later))
        assert verifier.claims(_token("ES256", exp=later))["sub"] == "user-1"
    finally:
        served.close()


def test_token_times_are_read_on_the_verifiers_clock() -> None:
    clock = FakeClock(utcnow())
    verifier = JwtVerifier.from_jwks(_jwks(), issuers=(ISSUER,), audience=AUDIENCE, clock=clock)
    now = int(clock.now().timestamp())
    token = _token(exp=now + 60, nbf=now + 10, iat=now + 5)
    with pytest.raises(AuthError) as early:
        verifier.claims(token)
    assert early.value.code == "UNAUTHORIZED"
    clock.advance(10)
    assert verifier.claims(token)["sub"] == "user-1"
    clock.advance(49)
    assert verifier.claims(token)["sub"] == "user-1"
    clock.advance(1)
    with pytest.raises(AuthError) as late:
        verifier.claims(token)
    assert late.value.code == "UNAUTHORIZED"


@pytest.mark.parametrize("claims", [{"exp": "soon"}, {"nbf": "now"}, {"iat": "now"}])
def test_time_claims_that_are_not_integers_are_refused(claims: dict[str, Any]) -> None:
    verifier = JwtVerifier.from_jwks(_jwks(), issuers=(ISSUER,), audience=AUDIENCE)
    with pytest.raises(AuthError) as refused:
        verifier.claims(_token(**claims))
    assert refused.value.code == "UNAUTHORIZED"


async def _me(client: httpx.AsyncClient, **claims: Any) -> dict[str, Any]:
    response = await client.get("/v1/me", headers=_auth(_token(**claims)))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_another_issuers_token_naming_the_same_org_gets_a_tenant_of_its_own(
    jwt_client: httpx.AsyncClient, platform: Platform
) -> None:
    alice = await _me(jwt_client, sub="alice", org="acme", roles=["maker"])
    bob = await _me(jwt_client, sub="bob", org="acme", roles=[])
    assert bob["tenant_id"] == alice["tenant_id"]  # same issuer, same org: the same tenant
    mallory = await _me(jwt_client, iss=OTHER_ISSUER, sub="mallory", org="acme", roles=["auditor"])
    assert mallory["tenant_id"] != alice["tenant_id"]
    assert mallory["roles"] == ["caster"]  # the other issuer has no role map
    again = await _me(jwt_client, iss=OTHER_ISSUER, sub="trent", org="acme")
    assert again["tenant_id"] == mallory["tenant_id"]
    with platform.db.unit_of_work(write=False) as uow:
        tenant, members = platform.auth.tenant_members(uow, alice["tenant_id"])
        assert (tenant.issuer, tenant.org) == (ISSUER, "acme")
        assert {user.id for user in members} == {alice["user_id"], bob["user_id"]}


async def test_a_token_naming_a_cli_tenant_does_not_join_it_until_the_operator_binds_it(
    jwt_client: httpx.AsyncClient, platform: Platform
) -> None:
    with platform.db.unit_of_work() as uow:
        owner = platform.auth.create_user(uow, email="owner@acme.test", roles=["maker"], tenant="acme")
    stranger = await _me(jwt_client, sub="stranger", org="acme")
    assert stranger["tenant_id"] != owner.tenant_id
    with platform.db.unit_of_work() as uow:
        bound = platform.auth.bind_tenant(uow, "acme", issuer=ISSUER, org="acme-corp")
        assert bound.id == owner.tenant_id
    colleague = await _me(jwt_client, sub="colleague", org="acme-corp")
    assert colleague["tenant_id"] == owner.tenant_id
    with platform.db.unit_of_work(write=False) as uow:
        record = AuditService(uow.session).list(action="tenant.bound")[0]
        assert (record.tenant_id, record.data) == (owner.tenant_id, {"issuer": ISSUER, "org": "acme-corp"})


async def test_binding_a_tenant_refuses_a_taken_pair_a_second_pair_and_unknown_tenants(
    jwt_client: httpx.AsyncClient, platform: Platform
) -> None:
    token_tenant = (await _me(jwt_client, sub="first", org="acme"))["tenant_id"]
    with platform.db.unit_of_work() as uow:
        platform.auth.create_user(uow, email="owner@acme.test", roles=["caster"], tenant="acme")
    refusals: list[tuple[str, str, str, type[Exception]]] = [
        ("acme", ISSUER, "acme", TenantAlreadyBound),  # the pair is the token-made tenant's
        (token_tenant, ISSUER, "elsewhere", TenantAlreadyBound),  # that tenant has its binding
        ("ghost", ISSUER, "ghost", TenantNotFound),
        ("acme", ISSUER, " ", InvalidInput),
    ]
    for ref, issuer, org, error in refusals:
        with pytest.raises(error), platform.db.unit_of_work() as uow:
            platform.auth.bind_tenant(uow, ref, issuer=issuer, org=org)
    with platform.db.unit_of_work() as uow:
        same = platform.auth.bind_tenant(uow, token_tenant, issuer=ISSUER, org="acme")
        assert same.id == token_tenant  # binding a tenant to its own pair again changes nothing
        assert platform.auth.find_tenant(uow, "acme").issuer is None


@pytest.mark.parametrize(
    ("issuer", "claimed", "expected"),
    [
        (ISSUER, ["operator", "admin", "maker"], ["maker"]),  # operator/admin never by default
        (ISSUER, ["spell-ops"], ["operator"]),  # only under the name the operator mapped
        (ISSUER, ["auditor", "unknown"], ["auditor"]),
        (ISSUER, "maker", ["caster"]),  # not a list
        (OTHER_ISSUER, ["maker", "operator"], ["caster"]),  # an issuer without a map grants nothing
    ],
)
async def test_token_roles_count_only_through_the_role_map_of_their_issuer(
    jwt_client: httpx.AsyncClient, issuer: str, claimed: Any, expected: list[str]
) -> None:
    me = await _me(jwt_client, iss=issuer, sub="someone", roles=claimed)
    assert me["roles"] == expected


def test_a_role_map_naming_an_untrusted_issuer_or_an_unknown_role_is_refused() -> None:
    for role_map in ({"https://stranger.example": {"a": "maker"}}, {ISSUER: {"a": "superuser"}}):
        with pytest.raises(InvalidInput):
            JwtVerifier.from_jwks(_jwks(), issuers=(ISSUER,), audience=AUDIENCE, role_map=role_map)


async def test_a_tenant_named_like_a_token_tenant_is_not_joined_by_that_name(
    jwt_client: httpx.AsyncClient, platform: Platform
) -> None:
    with platform.db.unit_of_work() as uow:
        squatter = platform.auth.create_user(
            uow, email="squat@example.com", roles=["caster"], tenant=f"acme @ {ISSUER}"
        )
    me = await _me(jwt_client, sub="alice", org="acme")
    assert me["tenant_id"] != squatter.tenant_id
    with platform.db.unit_of_work(write=False) as uow:
        tenant, _ = platform.auth.tenant_members(uow, me["tenant_id"])
        assert tenant.name.startswith(f"acme @ {ISSUER} #")


async def test_a_first_sign_in_that_loses_a_race_is_retried(
    jwt_client: httpx.AsyncClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    provision = platform.auth.token_user
    calls: list[str] = []

    def racing(uow: Any, **fields: Any) -> Any:
        calls.append(fields["subject"])
        if len(calls) == 1:  # another request inserted the same row first
            raise IntegrityError("INSERT INTO tenants", {}, Exception("unique"))
        return provision(uow, **fields)

    monkeypatch.setattr(platform.auth, "token_user", racing)
    me = await _me(jwt_client, sub="racer", org="acme")
    assert len(calls) == 2
    assert me["roles"] == ["maker"]
