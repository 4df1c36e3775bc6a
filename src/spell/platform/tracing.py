"""OpenTelemetry spans of a cast (auth, admit, run, finish) and the trace context a queued job carries.

Off by default: until ``install`` is called, ``span`` is a shared no-op context manager and jobs carry
no context, so a server without tracing pays one function call per span. ``install`` takes a tracer
provider (the SDK's, built by ``provider_for`` from the ``trace_exporter`` setting, or a test's with an
in-memory exporter); the W3C ``traceparent`` of a request reaches the worker through ``Job.trace``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from opentelemetry import context, propagate, trace

from spell.config.server import TRACE_EXPORTERS
from spell.errors import InvalidInput

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

__all__ = ["carrier", "install", "installed", "is_on", "provider_for", "resumed", "span", "uninstall"]

_NOOP: AbstractContextManager[Any] = nullcontext()
_tracer: trace.Tracer | None = None
_provider: trace.TracerProvider | None = None


def install(provider: trace.TracerProvider) -> None:
    """Trace with ``provider`` from now on."""
    global _tracer, _provider
    _tracer, _provider = provider.get_tracer("spell"), provider


def uninstall() -> None:
    """Stop tracing (spans are no-ops again)."""
    global _tracer, _provider
    _tracer = _provider = None


def installed() -> trace.TracerProvider | None:
    """The provider spans go to, or None when tracing is off."""
    return _provider


def is_on() -> bool:
    """Whether spans are recorded."""
    return _tracer is not None


def span(name: str, **attributes: str | int) -> AbstractContextManager[Any]:
    """A span named ``name``, child of the current one (a no-op when tracing is off)."""
    if _tracer is None:
        return _NOOP
    return _tracer.start_as_current_span(name, attributes=attributes)


def carrier() -> dict[str, str]:
    """The current trace context as W3C headers (``traceparent``), for a job; empty when off."""
    if _tracer is None:
        return {}
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


@contextmanager
def resumed(headers: Mapping[str, str]) -> Iterator[None]:
    """Continue the trace a job carries (``carrier``) while the block runs."""
    if _tracer is None or not headers:
        yield
        return
    token = context.attach(propagate.extract(dict(headers)))
    try:
        yield
    finally:
        context.detach(token)


def provider_for(exporter: str, *, service: str = "spell") -> TracerProvider | None:
    """The SDK provider exporting to ``exporter`` (one of ``TRACE_EXPORTERS``), or None for ``none``.

    The SDK and the OTLP exporter are imported only here: a server without tracing never loads them.
    """
    if exporter not in TRACE_EXPORTERS:
        raise InvalidInput(f"unknown trace exporter {exporter!r}", details={"choices": list(TRACE_EXPORTERS)})
    if exporter == "none":
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

        chosen: SpanExporter
        if exporter == "otlp":
            # the endpoint and headers come from the standard OTEL_EXPORTER_OTLP_* variables
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            chosen = OTLPSpanExporter()
        else:
            chosen = ConsoleSpanExporter()
    except ImportError as exc:
        raise InvalidInput(
            f"the {exporter} trace exporter is not installed ({exc.name})",
            hint="pip install 'spell-platform[otel]'",
        ) from None
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(chosen))
    return provider
