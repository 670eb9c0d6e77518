"""protovalidate rules: bad input never reaches a handler."""

from __future__ import annotations

import grpc
import pytest

from marketplace.testing.v1 import probe_pb2
from tests.kit.rpc.support import bearer, error_info, field_violations


async def test_valid_request_passes(probe):
    response = await probe.stub.Echo(probe_pb2.EchoRequest(name="ada", count=3, email="ada@example.com"), timeout=5)
    assert (response.name, response.count, response.email) == ("ada", 3, "ada@example.com")


async def test_bad_request_names_each_field_and_the_handler_never_runs(probe):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe.stub.Echo(probe_pb2.EchoRequest(name="", count=11, email="not-an-email"), timeout=5)
    error = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(error)
    assert set(violations) == {"name", "count", "email"}
    assert "email" in violations["email"]
    assert error_info(error).reason == "INVALID_ARGUMENT"
    assert probe.servicer.calls["Echo"] == 0


async def test_one_bad_field_is_named_alone(probe):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe.stub.Echo(probe_pb2.EchoRequest(name="x" * 21, count=1, email="a@example.com"), timeout=5)
    assert set(field_violations(caught.value)) == {"name"}
    assert probe.servicer.calls["Echo"] == 0


async def test_enum_rules_apply(probe):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe.stub.Fail(probe_pb2.FailRequest(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"kind"}
    assert probe.servicer.calls["Fail"] == 0


async def test_server_stream_request_is_validated(probe):
    token = probe.key.mint()
    replies = [
        r.index
        async for r in probe.stub.CountUp(
            probe_pb2.CountUpRequest(name="n", count=3), metadata=bearer(token), timeout=5
        )
    ]
    assert replies == [1, 2, 3]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in probe.stub.CountUp(
            probe_pb2.CountUpRequest(name="n", count=0), metadata=bearer(token), timeout=5
        ):
            pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"count"}
    assert probe.servicer.calls["CountUp"] == 1


async def test_every_message_of_a_client_stream_is_validated(probe):
    token = probe.key.mint()

    async def names(*values):
        for value in values:
            yield probe_pb2.CollectRequest(name=value)

    response = await probe.stub.Collect(names("a", "b"), metadata=bearer(token), timeout=5)
    assert list(response.names) == ["a", "b"]

    probe.servicer.received.clear()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe.stub.Collect(names("c", "", "d"), metadata=bearer(token), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"name"}
    # The handler saw the valid message before the bad one, never the bad one nor anything after it.
    assert probe.servicer.received == ["c"]


async def test_bidirectional_stream_is_validated(probe):
    token = probe.key.mint()
    call = probe.stub.Chat(metadata=bearer(token), timeout=5)
    await call.write(probe_pb2.ChatRequest(name="hi"))
    assert (await call.read()).name == "hi"
    await call.write(probe_pb2.ChatRequest(name="x" * 30))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call.read()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"name"}
    assert probe.servicer.received == ["hi"]
