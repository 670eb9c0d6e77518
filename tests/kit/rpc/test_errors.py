"""Domain errors become statuses with rich details; anything else becomes a bare INTERNAL with a reference."""

from __future__ import annotations

import logging

import grpc
import pytest
from google.rpc import error_details_pb2

from marketplace.testing.v1 import probe_pb2
from tests.kit.rpc.support import error_info, field_violations, status_details, unpack

CASES = [
    (probe_pb2.FAILURE_KIND_NOT_FOUND, grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
    (probe_pb2.FAILURE_KIND_PERMISSION_DENIED, grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED"),
    (probe_pb2.FAILURE_KIND_UNAUTHENTICATED, grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED"),
    (probe_pb2.FAILURE_KIND_FAILED_PRECONDITION, grpc.StatusCode.FAILED_PRECONDITION, "OUT_OF_STOCK"),
    (probe_pb2.FAILURE_KIND_CONFLICT, grpc.StatusCode.ABORTED, "CONFLICT"),
    (probe_pb2.FAILURE_KIND_ALREADY_EXISTS, grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS"),
    (probe_pb2.FAILURE_KIND_RATE_LIMITED, grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED"),
    (probe_pb2.FAILURE_KIND_INVALID_ARGUMENT, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
]


async def fail(probe, kind):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe.stub.Fail(probe_pb2.FailRequest(kind=kind), timeout=5)
    return caught.value


@pytest.mark.parametrize(("kind", "code", "reason"), CASES)
async def test_domain_error_maps_to_its_code_and_reason(probe, kind, code, reason):
    error = await fail(probe, kind)
    assert error.code() == code
    info = error_info(error)
    assert info.reason == reason
    assert info.domain == "marketplace.probe"
    assert status_details(error).code == code.value[0]


async def test_error_metadata_and_message_reach_the_caller(probe):
    error = await fail(probe, probe_pb2.FAILURE_KIND_FAILED_PRECONDITION)
    assert error.details() == "out of stock"
    assert dict(error_info(error).metadata) == {"product_id": "p-1"}


async def test_rate_limited_carries_retry_info(probe):
    error = await fail(probe, probe_pb2.FAILURE_KIND_RATE_LIMITED)
    retry = unpack(status_details(error), error_details_pb2.RetryInfo)
    assert retry is not None
    assert retry.retry_delay.seconds == 30


async def test_domain_invalid_argument_carries_bad_request(probe):
    error = await fail(probe, probe_pb2.FAILURE_KIND_INVALID_ARGUMENT)
    assert field_violations(error) == {"window.end": "must be after start"}


async def test_unexpected_exception_is_internal_with_a_reference_and_nothing_else(probe, caplog):
    caplog.set_level(logging.INFO, logger="services.kit.rpc")
    error = await fail(probe, probe_pb2.FAILURE_KIND_UNEXPECTED)
    assert error.code() == grpc.StatusCode.INTERNAL
    message = error.details()
    assert message.startswith("internal error (ref ") and message.endswith(")")
    reference = message.removeprefix("internal error (ref ").removesuffix(")")
    assert len(reference) >= 16
    trailers = repr(error.trailing_metadata()) + repr(error.debug_error_string())
    for leaked in ("SELECT", "vault", "handlers.py", "RuntimeError", "Traceback"):
        assert leaked not in message
        assert leaked not in trailers
    # The full exception is in the log, under the same reference.
    logged = [r for r in caplog.records if r.exc_info and getattr(r, "fields", {}).get("correlation_id") == reference]
    assert logged and "SELECT secret" in str(logged[0].exc_info[1])


async def test_an_unreachable_dependency_is_unavailable_not_internal(probe, caplog):
    caplog.set_level(logging.INFO, logger="services.kit.rpc")
    error = await fail(probe, probe_pb2.FAILURE_KIND_DEPENDENCY_UNAVAILABLE)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error.details().startswith("a service this call needs is unavailable (ref ")
    assert error_info(error).reason == "UNAVAILABLE"
    assert "127.0.0.1:1" not in error.details() + repr(error.trailing_metadata())
    warned = [r for r in caplog.records if r.getMessage() == "a dependency is unavailable"]
    assert warned and warned[0].fields["dependency_code"] == "UNAVAILABLE"
    outer = [r.fields for r in caplog.records if r.getMessage() == "rpc" and r.fields["code"] == "UNAVAILABLE"]
    assert outer and outer[-1]["method"] == "/marketplace.testing.v1.ProbeService/Fail"


async def test_a_dependency_refusing_the_call_is_an_internal_error(probe):
    # This service sent the other one a bad request: a bug here, not something the caller can fix or retry.
    error = await fail(probe, probe_pb2.FAILURE_KIND_DEPENDENCY_REFUSED)
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details().startswith("internal error (ref ")
    assert "bad dates" not in error.details()


async def test_every_rpc_is_logged_with_method_code_and_subject(probe, caplog):
    caplog.set_level(logging.INFO, logger="services.kit.rpc")
    await fail(probe, probe_pb2.FAILURE_KIND_NOT_FOUND)
    lines = [r.fields for r in caplog.records if r.getMessage() == "rpc"]
    assert lines[-1]["method"] == "/marketplace.testing.v1.ProbeService/Fail"
    assert lines[-1]["code"] == "NOT_FOUND"
    assert lines[-1]["duration_ms"] >= 0
    assert lines[-1]["correlation_id"]


async def test_correlation_id_from_the_request_is_kept(probe, caplog):
    caplog.set_level(logging.INFO, logger="services.kit.rpc")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe.stub.Fail(
            probe_pb2.FailRequest(kind=probe_pb2.FAILURE_KIND_UNEXPECTED),
            metadata=(("x-request-id", "req-12345"),),
            timeout=5,
        )
    assert caught.value.details() == "internal error (ref req-12345)"
