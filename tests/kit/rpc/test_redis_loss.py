"""A service whose Redis dies (SIGKILL, then started again): an authenticated call, which checks the revocation
list in Redis, answers UNAVAILABLE while Redis is down, never INTERNAL, and succeeds again once it is back."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from marketplace.testing.v1 import probe_pb2, probe_pb2_grpc
from services.kit.embedded import start_valkey
from services.kit.server import started
from tests.kit.rpc.support import JwksSource, ProbeServicer, ProbeSettings, SigningKey, bearer, probe_definition


async def test_a_dead_redis_is_unavailable_not_internal_and_calls_succeed_once_it_is_back(tmp_path: Path) -> None:
    redis_url, valkey = start_valkey(tmp_path / "valkey")
    key = SigningKey.generate("key-1")
    settings = ProbeSettings(redis_url=redis_url, port=0, drain_grace_seconds=0.5)
    try:
        async with (
            started(probe_definition(ProbeServicer(), JwksSource([key])), settings) as service,
            grpc.aio.insecure_channel(service.address) as channel,
        ):
            stub = probe_pb2_grpc.ProbeServiceStub(channel)
            token = key.mint(sub="user-7")

            async def ping() -> probe_pb2.AuthenticatedPingResponse:
                response: probe_pb2.AuthenticatedPingResponse = await stub.AuthenticatedPing(
                    probe_pb2.AuthenticatedPingRequest(), metadata=bearer(token), timeout=10
                )
                return response

            assert (await ping()).caller.subject == "user-7"
            valkey.terminate()  # SIGKILL
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await ping()
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE, caught.value.details()
            assert "Redis is unavailable" in (caught.value.details() or "")
            valkey.start()
            assert (await ping()).caller.subject == "user-7"
    finally:
        valkey.terminate()
