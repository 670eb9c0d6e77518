"""Structured log lines, and tracing wired into the same server and client (in a subprocess: it is global)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

from services.kit.logs import JsonFormatter, TextFormatter, _ContextFilter, reset_correlation_id, set_correlation_id

ROOT = Path(__file__).resolve().parents[3]


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
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from marketplace.testing.v1 import probe_pb2, probe_pb2_grpc
    from services.kit.logs import configure_logging
    from services.kit.server import started
    from services.kit.settings import CommonSettings
    from services.kit.telemetry import setup_telemetry
    from tests.kit.rpc.support import ProbeServicer, ProbeSettings, probe_definition

    configure_logging("INFO", "json")
    shutdown = setup_telemetry("probe", CommonSettings())
    setup_telemetry("probe", CommonSettings())  # a second call changes nothing
    spans = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(spans))

    async def main():
        settings = ProbeSettings(redis_url=sys.argv[1], port=0, drain_grace_seconds=0.1)
        async with started(probe_definition(ProbeServicer(), None), settings) as service:
            async with grpc.aio.insecure_channel(service.address) as channel:
                await probe_pb2_grpc.ProbeServiceStub(channel).PublicPing(probe_pb2.PublicPingRequest(), timeout=5)

    asyncio.run(main())
    shutdown()
    names = sorted({span.name for span in spans.get_finished_spans()})
    print("SPANS " + json.dumps(names), flush=True)
    """
)


def test_rpcs_are_traced_and_their_log_lines_carry_the_trace(infra):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, infra.redis_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'gen' / 'python'}", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    spans = json.loads(result.stdout.split("SPANS ", 1)[1])
    assert "/marketplace.testing.v1.ProbeService/PublicPing" in spans
    rpc_lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    ping = [line for line in rpc_lines if line.get("method", "").endswith("/PublicPing")]
    assert ping, result.stderr
    assert len(ping[0]["trace_id"]) == 32 and ping[0]["code"] == "OK"
