"""The verifier remembers tokens it checked, and still refuses one that expired, was revoked, or whose key left
the key set since."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.kit.errors import Unauthenticated
from services.kit.tokens import RevocationList, TokenVerifier
from tests.kit.rpc.support import AUDIENCE, ISSUER, JwksSource, SigningKey


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate(f"k-{uuid.uuid4().hex[:8]}")


@pytest.fixture
async def redis(infra) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


def verifier_for(jwks: JwksSource, redis: Redis | None = None) -> TokenVerifier:
    return TokenVerifier(
        jwks.fetch,
        issuer=ISSUER,
        audience=AUDIENCE,
        revocations=RevocationList(redis) if redis is not None else None,
        leeway_seconds=0,
        refetch_interval_seconds=0.0,
    )


async def test_a_remembered_token_is_refused_once_it_expires(key: SigningKey) -> None:
    verifier = verifier_for(JwksSource([key]))
    token = key.mint(exp=int(time.time()) + 1)
    first = await verifier.verify(token)
    assert (await verifier.verify(token)) == first  # remembered
    await asyncio.sleep(max(0.0, first.expires_at - time.time()) + 0.2)
    with pytest.raises(Unauthenticated, match="expired"):
        await verifier.verify(token)


async def test_a_remembered_token_is_refused_once_revoked(key: SigningKey, redis: Redis) -> None:
    verifier = verifier_for(JwksSource([key]), redis)
    jti = uuid.uuid4().hex
    token = key.mint(jti=jti)
    await verifier.verify(token)
    await RevocationList(redis).revoke(jti, int(time.time()) + 300)
    with pytest.raises(Unauthenticated, match="revoked"):
        await verifier.verify(token)


async def test_a_remembered_token_is_refused_once_its_key_leaves_the_key_set(key: SigningKey) -> None:
    other = SigningKey.generate(f"k-{uuid.uuid4().hex[:8]}")
    jwks = JwksSource([key])
    verifier = verifier_for(jwks)
    token = key.mint()
    await verifier.verify(token)
    # The key set now holds only another key: a token of that key makes the verifier fetch the set again.
    jwks.keys = [other]
    await verifier.verify(other.mint())
    with pytest.raises(Unauthenticated, match="unknown signing key"):
        await verifier.verify(token)
