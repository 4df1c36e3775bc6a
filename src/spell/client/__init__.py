"""Python SDK of the Spell platform: ``Client`` (blocking) and ``AsyncClient`` (asyncio) over httpx.

Both speak every ``/v1`` resource through one sub-client each (``spells``, ``casts``, ``artifacts``,
``budget``, ``keys``, ``buttons``), answer with the typed models of ``spell.client.models``, and raise
the ``spell.errors`` classes the server answered with. Server code is never imported.
"""

from spell.client._async import AsyncClient
from spell.client._core import DEFAULT_SERVER, RetryPolicy
from spell.client._sync import Client

__all__ = ["DEFAULT_SERVER", "AsyncClient", "Client", "RetryPolicy"]
