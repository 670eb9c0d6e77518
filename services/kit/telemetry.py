"""Tracing: an OpenTelemetry tracer provider and gRPC instrumentation for a service process.

Spans are recorded and exported over OTLP/gRPC when OTEL_EXPORTER_OTLP_ENDPOINT is set: grpc.aio servers and
channels are instrumented by OpenTelemetry. Without an endpoint nothing would read spans, so none is recorded
(sampler ALWAYS_OFF) and servers are not instrumented: even non-recording, OpenTelemetry's server interceptor
cost GetProduct about a tenth of its throughput (docs/kit.md). The kit's interceptor then gives each RPC a
non-recording span continuing the caller's `traceparent`, and channels stay instrumented, so trace ids still
propagate between services, into log lines and into event envelopes.

Call `setup_telemetry` before creating servers and channels: the instrumentation patches `grpc.aio.server` and
the channel constructors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from opentelemetry import trace
from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorClient, GrpcAioInstrumentorServer
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from services.kit.settings import CommonSettings

log = logging.getLogger(__name__)

_provider: TracerProvider | None = None


def setup_telemetry(service_name: str, settings: CommonSettings) -> Callable[[], None]:
    """Installs the tracer provider and instruments grpc.aio; returns a shutdown function that flushes spans.

    Idempotent: a second call in the same process (several services in one process, tests) keeps the first
    provider and instrumentation.
    """
    global _provider
    if _provider is None:
        resource = Resource.create({"service.name": f"marketplace-{service_name}"})
        if settings.otel_exporter_otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            # The SDK's sampler (OTEL_TRACES_SAMPLER, else parent-based always-on).
            provider = TracerProvider(resource=resource)
            exporter = OTLPSpanExporter(endpoint=settings.otel_exporter_otlp_endpoint, insecure=True)
            provider.add_span_processor(BatchSpanProcessor(exporter))
            log.info("exporting spans", extra={"fields": {"endpoint": settings.otel_exporter_otlp_endpoint}})
        else:
            provider = TracerProvider(resource=resource, sampler=ALWAYS_OFF)
        trace.set_tracer_provider(provider)
        _provider = provider
        server_instrumentor = GrpcAioInstrumentorServer()
        if settings.otel_exporter_otlp_endpoint and not server_instrumentor.is_instrumented_by_opentelemetry:
            server_instrumentor.instrument()
        client_instrumentor = GrpcAioInstrumentorClient()
        if not client_instrumentor.is_instrumented_by_opentelemetry:
            client_instrumentor.instrument()
    provider = _provider

    def shutdown() -> None:
        provider.force_flush()
        provider.shutdown()

    return shutdown
