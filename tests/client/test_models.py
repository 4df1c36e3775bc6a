"""The SDK's models are the server's wire shapes: same fields, same required ones, same wire names.

The SDK keeps its own classes so that ``import spell.client`` loads neither FastAPI nor the database
models (and so they can carry conveniences such as ``CastOut.is_terminal``); this test is what keeps
the two from drifting apart.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from spell.client import models as sdk
from spell.platform.artifact import schemas as artifact
from spell.platform.auth import schemas as auth
from spell.platform.billing import schemas as billing
from spell.platform.button import schemas as button
from spell.platform.cast import schemas as cast
from spell.platform.ledger import schemas as ledger
from spell.platform.spell import schemas as grimoire

PAIRS: list[tuple[type[BaseModel], type[BaseModel]]] = [
    (sdk.MeOut, auth.MeOut),
    (sdk.KeyOut, auth.KeyOut),
    (sdk.KeyCreated, auth.KeyCreated),
    (sdk.KeyList, auth.KeyList),
    (sdk.PublisherKeyOut, grimoire.PublisherKeyOut),
    (sdk.VersionOut, grimoire.VersionOut),
    (sdk.VersionList, grimoire.VersionList),
    (sdk.SpellOut, grimoire.SpellOut),
    (sdk.SpellDetail, grimoire.SpellDetail),
    (sdk.SpellList, grimoire.SpellList),
    (sdk.CastError, cast.CastError),
    (sdk.CastOut, cast.CastOut),
    (sdk.CastList, cast.CastList),
    (sdk.ArtifactOut, artifact.ArtifactOut),
    (sdk.ArtifactList, artifact.ArtifactList),
    (sdk.ButtonOut, button.ButtonOut),
    (sdk.ButtonList, button.ButtonList),
    (sdk.MoneyOut, ledger.MoneyAmount),
    (sdk.EstimateOut, billing.Estimate),
    (sdk.UsageOut, ledger.UsageReport),
    (sdk.LedgerEntry, ledger.LedgerEntry),
    (sdk.LedgerPage, ledger.LedgerPage),
    (sdk.EarningsOut, ledger.Earnings),
]


def _wire(model: type[BaseModel]) -> tuple[set[str], set[str]]:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True, mode="serialization")
    return set(schema["properties"]), set(schema.get("required", []))


@pytest.mark.parametrize(("client_model", "server_model"), PAIRS, ids=lambda model: model.__name__)
def test_each_sdk_model_reads_exactly_the_fields_the_server_writes(
    client_model: type[BaseModel], server_model: type[BaseModel]
) -> None:
    client_fields, client_required = _wire(client_model)
    server_fields, server_required = _wire(server_model)
    assert client_fields == server_fields
    # The SDK never requires what the server may leave out.
    assert client_required <= server_required
