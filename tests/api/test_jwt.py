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
from sqlalchemy.exc import IntegrityError

from spell.api import create_app
from spell.config.server import ServerSettings
from spell.errors import InvalidInput
from spell.kit.encoding import b64url_encode
from spell.platform.auth.errors import TenantAlreadyBound, TenantNotFound
from spell.platform.auth.jwt import JwtVerifier
from spell.platform.server import Platform
from tests.fakes.identity_provider import (
    AUDIENCE,
    ISSUER,
    KEYS,
    OTHER_ISSUER,
    ROLE_MAP,
    JwksServer,
    jwks,
    jwks_of,
    signed_token,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def jwt_client(platform: Platform, server_settings: ServerSettings) -> AsyncIterator[httpx.AsyncClient]:
    verifier = JwtVerifier.from_jwks(
        jwks(), issuers=(ISSUER, OTHER_ISSUER), audience=AUDIENCE, role_map=ROLE_MAP
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
    first = await jwt_client.get("/v1/me", headers=_auth(signed_token(alg)))
    assert first.status_code == 200, first.text
    assert first.json()["roles"] == ["maker"]  # admin is never granted by a token
    assert "spell:publish" in first.json()["scopes"]
    again = await jwt_client.get("/v1/me", headers=_auth(signed_token(alg)))
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
        pytest.param(lambda: signed_token(iss="https://evil.example.com"), id="wrong-issuer"),
        pytest.param(lambda: signed_token(org=["acme"]), id="org-not-a-string"),
        pytest.param(lambda: signed_token(org="x" * 201), id="org-too-long"),
        pytest.param(lambda: signed_token(sub="s" * 500), id="subject-too-long"),
        pytest.param(lambda: signed_token(aud="other"), id="wrong-audience"),
        pytest.param(lambda: signed_token(exp=int(time.time()) - 10), id="expired"),
        pytest.param(lambda: signed_token(exp=None), id="no-exp"),
        pytest.param(lambda: signed_token(sub=None), id="no-sub"),
        pytest.param(_none_token, id="alg-none"),
        pytest.param(_hs256_token, id="alg-hs256"),
        pytest.param(lambda: "not.a.jwt", id="garbage"),
        pytest.param(lambda: signed_token("ES256")[:-8] + "AAAAAAAA", id="bad-signature"),
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
    me = (await jwt_client.get("/v1/me", headers=_auth(signed_token()))).json()
    with platform.db.unit_of_work() as uow:
        platform.auth.set_ban(uow, me["user_id"], banned=True)
    response = await jwt_client.get("/v1/me", headers=_auth(signed_token()))
    assert response.json()["error"]["code"] == "USER_BANNED"


def test_settings_build_the_verifier_only_when_a_jwks_is_configured(tmp_path: Path) -> None:
    from spell.api.jwt_setup import jwt_verifier

    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks()), encoding="utf-8")
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


def test_a_jwks_url_is_refetched_when_a_token_names_a_new_key(tmp_path: Path) -> None:
    from spell.api.jwt_setup import jwt_verifier

    served = JwksServer(jwks_of("EdDSA"))
    try:
        settings = ServerSettings.for_home(
            tmp_path, jwks_url=served.url, jwt_issuers=(ISSUER,), jwt_audience=AUDIENCE
        )
        verifier = jwt_verifier(settings)
        assert verifier is not None
        assert served.fetches == 1
        assert verifier.claims(signed_token("EdDSA"))["sub"] == "user-1"
        served.document = jwks_of("EdDSA", "ES256")  # the provider rotates a new key in
        object.__setattr__(verifier, "min_refresh_s", 0.0)
        assert verifier.claims(signed_token("ES256"))["sub"] == "user-1"
        assert served.fetches == 2
    finally:
        served.close()


async def _me(client: httpx.AsyncClient, **claims: Any) -> dict[str, Any]:
    response = await client.get("/v1/me", headers=_auth(signed_token(**claims)))
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
        record = platform.audit.list(uow, action="tenant.bound")[0]
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
