"""A call the client cancels is logged once at INFO as CANCELLED, never as an internal error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc.aio
import pytest

from marketplace.testing.v1 import probe_pb2, probe_pb2_grpc
from services.kit.server import started
from tests.kit.rpc.support import ProbeServicer, ProbeSettings, probe_definition
from tests.support.polling import eventually

ECHO = "/marketplace.testing.v1.ProbeService/Echo"


class SlowServicer(ProbeServicer):
    """Echo waits until cancelled; with `fail_while_unwinding`, its cleanup then fails (as a database session
    interrupted mid-close does)."""

    def __init__(self, *, fail_while_unwinding: bool) -> None:
        super().__init__()
        self.fail_while_unwinding = fail_while_unwinding
        self.entered = asyncio.Event()
        self.unwound = asyncio.Event()

    async def Echo(self, request: Any, context: Any) -> Any:
        self.entered.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.unwound.set()
            if self.fail_while_unwinding:
                raise RuntimeError("Method 'close()' can't be called here")
        return probe_pb2.EchoResponse()


@pytest.fixture(params=[True, False], ids=["cleanup fails", "cleanup succeeds"])
async def slow(request: pytest.FixtureRequest, infra: Any) -> AsyncIterator[tuple[SlowServicer, Any]]:
    servicer = SlowServicer(fail_while_unwinding=request.param)
    settings = ProbeSettings(redis_url=infra.redis_url, port=0, drain_grace_seconds=0.5)
    async with (
        started(probe_definition(servicer, None), settings) as service,
        grpc.aio.insecure_channel(service.address) as channel,
    ):
        yield servicer, probe_pb2_grpc.ProbeServiceStub(channel)


async def test_a_cancelled_call_is_logged_once_as_cancelled(slow: tuple[SlowServicer, Any], caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    servicer, stub = slow
    call = stub.Echo(probe_pb2.EchoRequest(name="x", count=1, email="x@example.com"), timeout=5)
    await asyncio.wait_for(servicer.entered.wait(), 5)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.wait_for(servicer.unwound.wait(), 5)

    def rpc_lines() -> list[Any]:
        return [r for r in caplog.records if r.getMessage() == "rpc" and r.fields["method"] == ECHO]

    async def logged() -> bool:
        return bool(rpc_lines())

    await eventually(logged)
    await asyncio.sleep(0.05)  # anything else the server would log about the call
    [line] = rpc_lines()
    assert line.levelno == logging.INFO
    assert line.fields["code"] == "CANCELLED"
    if servicer.fail_while_unwinding:
        assert line.fields["error"] == "RuntimeError"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
