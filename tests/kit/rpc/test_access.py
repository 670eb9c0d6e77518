"""Token verification and access rules, through a real server and client."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from redis.asyncio import Redis

from marketplace.testing.v1 import probe_pb2
from services.kit.tokens import RevocationList
from tests.kit.rpc.support import bearer, error_info


async def authenticated_ping(probe, token: str):
    return await probe.stub.AuthenticatedPing(probe_pb2.AuthenticatedPingRequest(), metadata=bearer(token), timeout=5)


async def assert_rejected(probe, token: str, code=grpc.StatusCode.UNAUTHENTICATED):
    handled = probe.servicer.calls["AuthenticatedPing"]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await authenticated_ping(probe, token)
    assert caught.value.code() == code
    assert probe.servicer.calls["AuthenticatedPing"] == handled, "the handler ran"
    return caught.value


async def test_valid_token_reaches_the_handler_as_the_principal(probe):
    token = probe.key.mint(sub="user-7", roles=["buyer", "seller"])
    response = await authenticated_ping(probe, token)
    assert response.caller.subject == "user-7"
    assert response.caller.kind == "user"
    assert list(response.caller.roles) == ["buyer", "seller"]
    assert probe.servicer.calls["AuthenticatedPing"] == 1


async def test_tampered_signature_is_rejected(probe):
    header, payload, signature = probe.key.mint().split(".")
    flipped = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")
    error = await assert_rejected(probe, f"{header}.{payload}.{flipped}")
    assert error_info(error).reason == "UNAUTHENTICATED"


async def test_tampered_claims_are_rejected(probe):
    genuine = probe.key.mint(roles=["buyer"])
    forged_claims = probe.key.mint(roles=["admin"]).split(".")[1]
    header, _, signature = genuine.split(".")
    await assert_rejected(probe, f"{header}.{forged_claims}.{signature}")


async def test_expired_token_is_rejected(probe):
    now = int(time.time())
    await assert_rejected(probe, probe.key.mint(iat=now - 600, nbf=now - 600, exp=now - 60))


async def test_token_not_yet_valid_is_rejected(probe):
    await assert_rejected(probe, probe.key.mint(nbf=int(time.time()) + 120))


async def test_wrong_issuer_is_rejected(probe):
    await assert_rejected(probe, probe.key.mint(iss="someone-else"))


async def test_wrong_audience_is_rejected(probe):
    await assert_rejected(probe, probe.key.mint(aud="another-api"))


async def test_alg_none_is_rejected(probe):
    claims = jwt.decode(probe.key.mint(), options={"verify_signature": False})
    no_key: Any = None
    unsigned = jwt.encode(claims, no_key, algorithm="none", headers={"kid": probe.key.kid})
    await assert_rejected(probe, unsigned)


async def test_hs256_signed_with_the_public_key_is_rejected(probe):
    claims = jwt.decode(probe.key.mint(), options={"verify_signature": False})
    public_pem = probe.key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    # PyJWT refuses to use a PEM as an HMAC secret, so sign by hand the way an attacker would.
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": probe.key.kid}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    await assert_rejected(probe, f"{header}.{payload}.{signature}")


async def test_unknown_kid_is_rejected_then_accepted_once_the_rotated_key_is_published(probe):
    token = probe.next_key.mint(sub="user-rotated")
    await assert_rejected(probe, token)
    probe.jwks.keys.append(probe.next_key)
    fetches = probe.jwks.fetches
    deadline = time.monotonic() + 5
    while True:
        try:
            response = await authenticated_ping(probe, token)
            break
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            assert time.monotonic() < deadline, "the rotated key never became known"
            await asyncio.sleep(0.05)
    assert response.caller.subject == "user-rotated"
    assert probe.jwks.fetches > fetches


async def test_unknown_kids_do_not_make_the_verifier_refetch_on_every_call(probe):
    stranger = probe.next_key.mint()
    await authenticated_ping(probe, probe.key.mint())  # the JWKS is cached now
    fetches = probe.jwks.fetches
    started = time.monotonic()
    for _ in range(20):
        await assert_rejected(probe, stranger)
    # The probe's verifier refetches at most once every 0.2 s.
    allowed = 1 + int((time.monotonic() - started) / 0.2)
    assert probe.jwks.fetches - fetches <= allowed < 20


async def test_revoked_token_is_rejected(probe, infra):
    jti = "revoked-" + str(time.time_ns())
    token = probe.key.mint(jti=jti)
    assert (await authenticated_ping(probe, token)).caller.subject == "user-1"
    redis = Redis.from_url(infra.redis_url)
    try:
        revocations = RevocationList(redis)
        await revocations.revoke(jti, int(time.time()) + 300)
        assert await revocations.is_revoked(jti)
        assert 0 < await redis.ttl(f"auth:revoked:{jti}") <= 301
    finally:
        await redis.aclose()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await authenticated_ping(probe, token)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_malformed_authorization_header_is_rejected(probe):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe.stub.PublicPing(
            probe_pb2.PublicPingRequest(), metadata=(("authorization", "Basic abc"),), timeout=5
        )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_anonymous_call_to_a_public_method_works(probe):
    response = await probe.stub.PublicPing(probe_pb2.PublicPingRequest(), timeout=5)
    assert not response.HasField("caller")
    assert probe.servicer.calls["PublicPing"] == 1


async def test_public_method_still_checks_a_token_that_is_sent(probe):
    response = await probe.stub.PublicPing(
        probe_pb2.PublicPingRequest(), metadata=bearer(probe.key.mint(sub="user-3")), timeout=5
    )
    assert response.caller.subject == "user-3"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe.stub.PublicPing(
            probe_pb2.PublicPingRequest(), metadata=bearer(probe.key.mint(aud="elsewhere")), timeout=5
        )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_anonymous_call_to_a_protected_method_is_unauthenticated(probe):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe.stub.AuthenticatedPing(probe_pb2.AuthenticatedPingRequest(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert probe.servicer.calls["AuthenticatedPing"] == 0


SELLER = {"roles": ["seller"]}
ADMIN = {"roles": ["admin"]}
BUYER = {"roles": ["buyer"]}
SERVICE = {"sub": "service:order", "typ": "service", "roles": ["service"]}
NARROWED_READ = {"roles": ["buyer"], "scope": "catalog:read cart:write", "act": {"sub": "buddy"}}
NARROWED_OTHER = {"roles": ["buyer"], "scope": "cart:write", "act": {"sub": "buddy"}}

OK = grpc.StatusCode.OK
DENIED = grpc.StatusCode.PERMISSION_DENIED

ACCESS_CASES = [
    ("SellerPing", SELLER, OK),
    ("SellerPing", ADMIN, OK),
    ("SellerPing", BUYER, DENIED),
    ("AdminPing", ADMIN, OK),
    ("AdminPing", SELLER, DENIED),
    ("InternalPing", SERVICE, OK),
    ("InternalPing", ADMIN, DENIED),
    ("AuthenticatedPing", SERVICE, DENIED),
    ("ScopedPing", NARROWED_READ, OK),
    ("ScopedPing", BUYER, OK),
    ("ScopedPing", NARROWED_OTHER, DENIED),
    ("AuthenticatedPing", NARROWED_READ, DENIED),
]


@pytest.mark.parametrize(("method", "claims", "expected"), ACCESS_CASES)
async def test_access_rules(probe, method, claims, expected):
    request = getattr(probe_pb2, f"{method}Request")()
    call = getattr(probe.stub, method)
    token = probe.key.mint(**claims)
    if expected == OK:
        response = await call(request, metadata=bearer(token), timeout=5)
        assert response.caller.subject == claims.get("sub", "user-1")
        assert probe.servicer.calls[method] == 1
    else:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(request, metadata=bearer(token), timeout=5)
        assert caught.value.code() == expected
        assert probe.servicer.calls[method] == 0


async def test_narrowed_token_carries_scopes_and_actor_to_the_handler(probe):
    response = await probe.stub.ScopedPing(
        probe_pb2.ScopedPingRequest(), metadata=bearer(probe.key.mint(**NARROWED_READ)), timeout=5
    )
    assert list(response.caller.scopes) == ["cart:write", "catalog:read"]
    assert response.caller.actor == "buddy"


async def test_streaming_methods_are_protected_too(probe):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in probe.stub.CountUp(probe_pb2.CountUpRequest(name="a", count=2), timeout=5):
            pass
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED

    async def names():
        yield probe_pb2.CollectRequest(name="a")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe.stub.Collect(names(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert probe.servicer.calls["CountUp"] == probe.servicer.calls["Collect"] == 0
