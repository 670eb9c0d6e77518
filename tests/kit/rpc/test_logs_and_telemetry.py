"""Structured log lines, and tracing wired into the same server and client (in a subprocess: it is global)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from services.kit.logs import JsonFormatter, TextFormatter, _ContextFilter, reset_correlation_id, set_correlation_id

ROOT = Path(__file__).resolve().parents[3]
SAMPLED = 0x01  # the sampled bit of a traceparent's flags
INTERNAL, SERVER, CLIENT = 1, 2, 3  # OTLP span kinds


def record(message: str, **fields) -> logging.LogRecord:
    made = logging.LogRecord("services.test", logging.INFO, __file__, 1, message, None, None)
    made.fields = fields
    _ContextFilter().filter(made)
    return made


def test_json_lines_carry_fields_and_the_correlation_id():
    token = set_correlation_id("corr-1")
    try:
        line = JsonFormatter().format(record("rpc", method="/x.Y/Z", code="OK"))
    finally:
        reset_correlation_id(token)
    parsed = json.loads(line)
    assert parsed["message"] == "rpc"
    assert parsed["level"] == "info"
    assert parsed["correlation_id"] == "corr-1"
    assert (parsed["method"], parsed["code"]) == ("/x.Y/Z", "OK")
    assert "\n" not in line


def test_text_lines_are_readable():
    line = TextFormatter().format(record("serving", address="127.0.0.1:1"))
    assert "INFO" in line and "serving" in line and "address=127.0.0.1:1" in line


SCRIPT = textwrap.dedent(
    """
    import asyncio, json, logging, sys
    import grpc
    from google.protobuf.wrappers_pb2 import StringValue
    from opentelemetry import trace
    from marketplace.testing.v1 import probe_pb2, probe_pb2_grpc
    from services.kit.logs import configure_logging
    from services.kit.outbox import make_envelope
    from services.kit.server import started
    from services.kit.settings import CommonSettings
    from services.kit.telemetry import setup_telemetry
    from tests.kit.rpc.support import ProbeServicer, ProbeSettings, probe_definition

    configure_logging("INFO", "json")
    common = CommonSettings(otel_exporter_otlp_endpoint=sys.argv[2])
    shutdown = setup_telemetry("probe", common)
    setup_telemetry("probe", common)  # a second call changes nothing
    outcome = {}

    async def main():
        settings = ProbeSettings(redis_url=sys.argv[1], port=0, drain_grace_seconds=0.1)
        async with started(probe_definition(ProbeServicer(), None), settings) as service:
            async with grpc.aio.insecure_channel(service.address) as channel:
                with trace.get_tracer("caller").start_as_current_span("caller") as span:
                    await probe_pb2_grpc.ProbeServiceStub(channel).PublicPing(probe_pb2.PublicPingRequest(), timeout=5)
                    envelope = make_envelope("probe", "subject-1", StringValue(value="x"))
                    outcome["recording"] = span.is_recording()
                outcome["trace_id"] = format(span.get_span_context().trace_id, "032x")
                outcome["traceparent"] = envelope.traceparent

    asyncio.run(main())
    shutdown()
    print("OUTCOME " + json.dumps(outcome), flush=True)
    """
)


def run_traced_probe(redis_url: str, endpoint: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Runs SCRIPT; returns its outcome and the server's log line for PublicPing."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, redis_url, endpoint],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'gen' / 'python'}", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.split("OUTCOME ", 1)[1])
    rpc_lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    ping = [line for line in rpc_lines if line.get("method", "").endswith("/PublicPing")]
    assert ping, result.stderr
    return outcome, ping


class Collector(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]  # generated base is untyped
    """An OTLP/gRPC trace collector: remembers every span it receives."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str, int]] = []  # (name, trace id, kind)

    def Export(self, request: Any, context: Any) -> Any:
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend((span.name, span.trace_id.hex(), span.kind) for span in scope_spans.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


def test_without_an_exporter_no_span_is_recorded_but_trace_ids_propagate(infra):
    outcome, ping = run_traced_probe(infra.redis_url, "")
    assert outcome["recording"] is False
    # The caller's trace id crossed the RPC (server log line) and reached the event envelope.
    assert ping[0]["trace_id"] == outcome["trace_id"] and ping[0]["code"] == "OK"
    assert outcome["traceparent"].startswith(f"00-{outcome['trace_id']}-")
    assert not int(outcome["traceparent"].rsplit("-", 1)[1], 16) & SAMPLED


def test_with_an_exporter_rpcs_are_traced_and_exported(infra):
    collector = Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        outcome, ping = run_traced_probe(infra.redis_url, f"127.0.0.1:{port}")
    finally:
        server.stop(None)
    assert outcome["recording"] is True
    assert outcome["traceparent"].startswith(f"00-{outcome['trace_id']}-")
    assert int(outcome["traceparent"].rsplit("-", 1)[1], 16) & SAMPLED
    assert ping[0]["trace_id"] == outcome["trace_id"]
    # One client and one server span for the RPC (OpenTelemetry's instrumentation; the kit adds none).
    ping_spans = [span for span in collector.spans if span[0] == "/marketplace.testing.v1.ProbeService/PublicPing"]
    assert sorted(ping_spans) == [
        ("/marketplace.testing.v1.ProbeService/PublicPing", outcome["trace_id"], SERVER),
        ("/marketplace.testing.v1.ProbeService/PublicPing", outcome["trace_id"], CLIENT),
    ]
    assert ("caller", outcome["trace_id"], INTERNAL) in collector.spans
