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


# --- input no contract rule forbids --------------------------------------------------------------------


async def test_a_nul_character_in_a_string_is_refused_naming_the_field_and_the_handler_never_runs(probe):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe.stub.Echo(probe_pb2.EchoRequest(name="A\u0000B", count=1, email="a@example.com"), timeout=5)
    error = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == {"name": "must not contain the NUL character (U+0000)"}
    assert error_info(error).reason == "INVALID_ARGUMENT"
    assert probe.servicer.calls["Echo"] == 0


async def test_a_nul_character_is_named_alongside_the_contract_violations(probe):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe.stub.Echo(probe_pb2.EchoRequest(name="\u0000", count=11, email="a@example.com"), timeout=5)
    assert set(field_violations(caught.value)) == {"name", "count"}


async def test_a_nul_character_in_a_client_stream_message_is_refused(probe):
    async def names():
        yield probe_pb2.CollectRequest(name="a")
        yield probe_pb2.CollectRequest(name="b\u0000")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe.stub.Collect(names(), metadata=bearer(probe.key.mint()), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"name"}
    assert probe.servicer.received == ["a"]


NOT_UTF8 = b"\x0a\x02\xff\xfe"  # field 1 (a string) holding two bytes that are not UTF-8
CORRUPT = b"\x0a\x05ab"  # a length beyond the end of the message


@pytest.mark.parametrize("body", [NOT_UTF8, CORRUPT, b"\xff\xff\xff"], ids=["not-utf8", "truncated", "garbage"])
async def test_bytes_that_are_not_the_request_message_are_invalid_argument(probe, body):
    echo = probe.channel.unary_unary("/marketplace.testing.v1.ProbeService/Echo")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await echo(body, timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "request is not a valid marketplace.testing.v1.EchoRequest"
    assert probe.servicer.calls["Echo"] == 0


async def test_undecodable_requests_of_streaming_methods_are_invalid_argument(probe):
    metadata = bearer(probe.key.mint())
    count_up = probe.channel.unary_stream("/marketplace.testing.v1.ProbeService/CountUp")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in count_up(NOT_UTF8, metadata=metadata, timeout=5):
            pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "request is not a valid marketplace.testing.v1.CountUpRequest"
    assert probe.servicer.calls["CountUp"] == 0

    async def bodies():
        yield probe_pb2.CollectRequest(name="a").SerializeToString()
        yield NOT_UTF8

    collect = probe.channel.stream_unary("/marketplace.testing.v1.ProbeService/Collect")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await collect(bodies(), metadata=metadata, timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "request is not a valid marketplace.testing.v1.CollectRequest"
    assert probe.servicer.received == ["a"]
