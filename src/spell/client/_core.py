"""What the sync and async clients share: calls as data, the retry rule, SSE decoding, settings."""

from __future__ import annotations

import json
import os
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel

import spell
from spell.client._errors import error_from_response, unreachable
from spell.client.models import CastEvent, CastOut

__all__ = [
    "DEFAULT_SERVER",
    "LONG_POLL_SECONDS",
    "Call",
    "ClientSettings",
    "RetryPolicy",
    "SseDecoder",
    "cast_call",
    "model_call",
    "new_idempotency_key",
    "next_delay",
    "page_params",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
ModelT = TypeVar("ModelT", bound=BaseModel)
DEFAULT_SERVER = "http://127.0.0.1:8000"
# Answers worth asking again for: the server said "later" or a proxy or the server was busy.
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
# The longest ``GET /v1/casts/{id}?wait=N`` a server honours by default (SPELL_SERVER_MAX_WAIT_SECONDS);
# one configured lower answers sooner with the cast still going, and the follower simply asks again.
LONG_POLL_SECONDS = 60


def new_idempotency_key() -> str:
    """A fresh random key for one intended cast."""
    return "sdk-" + secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Call(Generic[T_co]):
    """One request and how to read its answer; ``is_idempotent`` says whether sending it twice is safe."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T_co]
    params: dict[str, Any] | list[tuple[str, Any]] | None = None
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    holds: float = 0.0  # seconds the server may hold the answer on purpose (long polls)
    # httpx drops the bearer token on a redirect to another host, as a presigned URL needs
    follow_redirects: bool = False

    @property
    def is_idempotent(self) -> bool:
        """GET, PUT and DELETE, and any request carrying an ``Idempotency-Key``."""
        return self.method in ("GET", "PUT", "DELETE") or "Idempotency-Key" in self.headers


def model_call(method: str, path: str, model: type[ModelT], **options: Any) -> Call[ModelT]:
    """A call whose JSON answer is validated into ``model``."""
    return Call(method, path, lambda response: model.model_validate(response.json()), **options)


def cast_call(path: str, body: dict[str, Any], idempotency_key: str | None, wait: float) -> Call[CastOut]:
    """A cast creation (spell or button): always with an ``Idempotency-Key``, so retries are safe."""
    headers = {"Idempotency-Key": idempotency_key or new_idempotency_key()}
    if wait > 0:
        headers["Prefer"] = f"wait={int(wait)}"
    return model_call("POST", path, CastOut, json=body, headers=headers)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for idempotent calls; a ``Retry-After`` answer is honoured
    unless it asks for more than ``max_wait`` seconds (the error is raised then)."""

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_wait: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds before attempt ``attempt + 1``, or None when no retry is left."""
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_wait else None
        step: float = min(self.max_backoff, self.backoff * 2**attempt)
        return step * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret

    def after_response(self, call: Call[Any], attempt: int, response: httpx.Response) -> float | None:
        """The wait before sending ``call`` again after an error answer, or None."""
        if not call.is_idempotent:
            return None
        header = response.headers.get("Retry-After")
        retry_after = float(header) if header is not None and header.isdigit() else None
        status = response.status_code
        if status in _RETRY_STATUSES or (status == 409 and retry_after is not None):
            return self.delay(attempt, retry_after)
        return None

    def after_failure(self, call: Call[Any], attempt: int) -> float | None:
        """The wait before sending ``call`` again after a connection failure, or None."""
        return self.delay(attempt, None) if call.is_idempotent else None


@dataclass(frozen=True)
class ClientSettings:
    """Where the server is, the API key, and how patient the client is."""

    base_url: str
    api_key: str | None
    timeout: float
    retry: RetryPolicy

    @classmethod
    def resolve(
        cls,
        base_url: str | None,
        api_key: str | None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> ClientSettings:
        """Explicit arguments first, then ``SPELL_SERVER`` and ``SPELL_API_KEY``."""
        url = base_url or os.environ.get("SPELL_SERVER") or DEFAULT_SERVER
        key = api_key or os.environ.get("SPELL_API_KEY") or None
        return cls(url.rstrip("/"), key, timeout, retry or RetryPolicy())

    def headers(self) -> dict[str, str]:
        """Headers of every request."""
        headers = {"User-Agent": f"spell-sdk/{spell.__version__}", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def http_options(self) -> dict[str, Any]:
        """Keyword arguments of ``httpx.Client`` and ``httpx.AsyncClient``."""
        return {
            "base_url": self.base_url,
            "headers": self.headers(),
            "timeout": httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
        }

    def request(self, call: Call[Any]) -> dict[str, Any]:
        """Keyword arguments of ``httpx.Client.request`` for ``call``."""
        options: dict[str, Any] = {}
        if call.holds:
            options["timeout"] = httpx.Timeout(self.timeout + call.holds, connect=min(self.timeout, 10.0))
        return {
            **options,
            "method": call.method,
            "url": call.path,
            "params": call.params,
            "json": call.json,
            "content": call.content,
            "headers": call.headers,
            "follow_redirects": call.follow_redirects,
        }


def page_params(cursor: str | None, **params: Any) -> dict[str, Any]:
    """Query parameters without the ones left out (None)."""
    return {name: value for name, value in {**params, "cursor": cursor}.items() if value is not None}


class SseDecoder:
    """Server-sent events from lines (``id``, ``event``, ``data``; comments are heartbeats)."""

    def __init__(self) -> None:
        self.last_id: int | None = None
        self._id: str | None = None
        self._type = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> CastEvent | None:
        """Take one line; the event it completes, if any."""
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            self._id = value
        elif name == "event":
            self._type = value
        elif name == "data":
            self._data.append(value)
        return None

    def _dispatch(self) -> CastEvent | None:
        if not self._data:
            return None
        data = json.loads("\n".join(self._data))
        event = CastEvent(id=int(self._id or 0), type=self._type, data=data if isinstance(data, dict) else {})
        if self._id is not None and self._id.isdigit():
            self.last_id = int(self._id)
        self._id, self._type, self._data = None, "message", []
        return event

    def resume_headers(self) -> dict[str, str]:
        """``Last-Event-ID`` for a reconnection, once an event was seen."""
        return {"Last-Event-ID": str(self.last_id)} if self.last_id is not None else {}


def next_delay(
    settings: ClientSettings, call: Call[Any], attempt: int, failed: httpx.Response | Exception
) -> float:
    """The wait before sending ``call`` again, or raise the error ``failed`` stands for."""
    if isinstance(failed, httpx.Response):
        delay = settings.retry.after_response(call, attempt, failed)
        if delay is None:
            raise error_from_response(failed)
        return delay
    assert isinstance(failed, httpx.TransportError)  # noqa: S101 - the only exceptions passed in
    delay = settings.retry.after_failure(call, attempt)
    if delay is None:
        raise unreachable(settings.base_url, failed) from failed
    return delay
