from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc.aio
import pytest

from marketplace.testing.v1 import probe_pb2_grpc
from services.kit.server import RunningService, started
from tests.kit.rpc.support import JwksSource, ProbeServicer, ProbeSettings, SigningKey, probe_definition


@pytest.fixture(scope="session")
def signing_keys() -> tuple[SigningKey, SigningKey]:
    """Two keys: the first is published from the start, the second only once a test rotates it in."""
    return SigningKey.generate("key-1"), SigningKey.generate("key-2")


@dataclass
class Probe:
    service: RunningService
    servicer: ProbeServicer
    jwks: JwksSource
    key: SigningKey
    next_key: SigningKey
    stub: probe_pb2_grpc.ProbeServiceStub
    channel: grpc.aio.Channel


@pytest.fixture
async def probe(infra, signing_keys) -> AsyncIterator[Probe]:
    key, next_key = signing_keys
    jwks = JwksSource([key])
    servicer = ProbeServicer()
    settings = ProbeSettings(redis_url=infra.redis_url, port=0, drain_grace_seconds=0.5)
    async with (
        started(probe_definition(servicer, jwks), settings) as service,
        grpc.aio.insecure_channel(service.address) as channel,
    ):
        servicer.own_address = service.address
        yield Probe(service, servicer, jwks, key, next_key, probe_pb2_grpc.ProbeServiceStub(channel), channel)
