"""Channels to other services: retries, the service token, and JWKS from the auth service."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from marketplace.testing.v1 import probe_pb2, probe_pb2_grpc
from services.kit.clients import ServiceToken, call, channel
from services.kit.server import started
from tests.kit.rpc.support import AUDIENCE, ISSUER, ProbeServicer, ProbeSettings, probe_definition


class FakeAuth(auth_pb2_grpc.AuthServiceServicer):  # type: ignore[misc]
    """Just the two RPCs other services use: IssueServiceToken and GetJwks."""

    def __init__(self, key, expires_in: int = 900) -> None:
        self.key = key
        self.expires_in = expires_in
        self.issued = 0
        self.jwks_requests = 0

    async def IssueServiceToken(self, request, context):
        if request.client_secret != "s3cret":
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad client credentials")
        self.issued += 1
        token = self.key.mint(sub=f"service:{request.client_id}", typ="service", roles=["service"], n=self.issued)
        return auth_pb2.IssueServiceTokenResponse(access_token=token, expires_in=self.expires_in)

    async def GetJwks(self, request, context):
        self.jwks_requests += 1
        jwk = self.key.jwk()
        return auth_pb2.GetJwksResponse(
            keys=[auth_pb2.JsonWebKey(kty="RSA", kid=jwk["kid"], use="sig", alg="RS256", n=jwk["n"], e=jwk["e"])]
        )


@pytest.fixture
async def fake_auth(signing_keys):
    servicer = FakeAuth(signing_keys[0])
    server = grpc.aio.server()
    auth_pb2_grpc.add_AuthServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    servicer.address = f"127.0.0.1:{port}"
    try:
        yield servicer
    finally:
        await server.stop(0)


async def test_service_token_is_fetched_once_and_reused(fake_auth):
    async with channel(fake_auth.address) as auth:
        token = ServiceToken(auth, "order", "s3cret")
        first = await token.get()
        assert await asyncio.gather(*(token.get() for _ in range(5))) == [first] * 5
    assert fake_auth.issued == 1


async def test_service_token_is_renewed_before_it_expires(fake_auth):
    fake_auth.expires_in = 1  # a token this short is renewed halfway through its life
    async with channel(fake_auth.address) as auth:
        token = ServiceToken(auth, "order", "s3cret")
        first = await token.get()
        await asyncio.sleep(0.6)
        assert await token.get() != first
    assert fake_auth.issued == 2


async def test_service_calls_another_service_with_its_token_verified_against_auths_jwks(infra, fake_auth):
    # No JWKS override: the probe verifies tokens with keys from the (fake) auth service, as in production.
    settings = ProbeSettings(
        redis_url=infra.redis_url, port=0, auth_target=fake_auth.address, jwt_issuer=ISSUER, jwt_audience=AUDIENCE
    )
    async with (
        started(probe_definition(ProbeServicer(), None), settings) as service,
        channel(fake_auth.address) as auth,
        channel(service.address, token=ServiceToken(auth, "order", "s3cret")) as probe,
    ):
        stub = probe_pb2_grpc.ProbeServiceStub(probe)
        response = await call(stub.InternalPing, probe_pb2.InternalPingRequest())
        assert response.caller.subject == "service:order"
        assert response.caller.kind == "service"
        await call(stub.InternalPing, probe_pb2.InternalPingRequest())
        # Streams carry the token too: a service is authenticated, then refused a user-only method.
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in stub.CountUp(probe_pb2.CountUpRequest(name="a", count=1), timeout=5):
                pass
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert fake_auth.issued == 1
    assert fake_auth.jwks_requests == 1


class FlakyProbe(ProbeServicer):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def PublicPing(self, request, context):
        self.calls["PublicPing"] += 1
        if self.calls["PublicPing"] <= self.failures:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
        return probe_pb2.PublicPingResponse()

    async def Echo(self, request, context):
        await asyncio.sleep(5)  # never answers in time
        return probe_pb2.EchoResponse()


@pytest.fixture
async def flaky_server():
    servicer = FlakyProbe(failures=2)
    server = grpc.aio.server()
    probe_pb2_grpc.add_ProbeServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


async def test_channel_retries_unavailable(flaky_server):
    servicer, address = flaky_server
    async with channel(address) as retrying:
        await call(probe_pb2_grpc.ProbeServiceStub(retrying).PublicPing, probe_pb2.PublicPingRequest())
    assert servicer.calls["PublicPing"] == 3


async def test_non_idempotent_channel_does_not_retry(flaky_server):
    servicer, address = flaky_server
    async with channel(address, idempotent=False) as once:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(probe_pb2_grpc.ProbeServiceStub(once).PublicPing, probe_pb2.PublicPingRequest())
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert servicer.calls["PublicPing"] == 1


async def test_call_always_has_a_deadline(flaky_server):
    _, address = flaky_server
    async with channel(address) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(probe_pb2_grpc.ProbeServiceStub(ch).Echo, probe_pb2.EchoRequest(), timeout=0.2)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
