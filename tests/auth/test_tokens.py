"""Access tokens: forged ones refused; service tokens, token exchange and key rotation."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import grpc
import jwt
import pytest

from marketplace.auth.v1 import auth_pb2
from services.auth.handlers.deps import retired_key_lifetime
from services.auth.keys import generate_private_pem, public_jwk
from tests.auth.conftest import Auth, StartAuth, bearer
from tests.support.auth import service_secret


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned_parts(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


async def _signing_key(auth: Auth) -> tuple[str, str]:
    [(kid, pem)] = await auth.sql("SELECT kid, private_pem FROM signing_keys WHERE retired_at IS NULL")
    return kid, pem


async def _refused(auth: Auth, token: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await auth.stub.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(token))
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_forged_tokens_are_refused(auth: Auth) -> None:
    registered, _ = await auth.register()
    token = registered.tokens.access_token
    claims = jwt.decode(token, options={"verify_signature": False})
    kid, pem = await _signing_key(auth)
    # The genuine token works, so each refusal below is down to the forgery.
    await auth.stub.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(token))

    header, payload, signature = token.split(".")
    tampered_claims = {**claims, "roles": ["admin"]}
    await _refused(auth, f"{header}.{_b64(json.dumps(tampered_claims).encode())}.{signature}")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    await _refused(auth, f"{header}.{payload}.{flipped}")

    past = int(time.time()) - 3600
    expired = {**claims, "iat": past, "nbf": past, "exp": past + 60}
    await _refused(auth, jwt.encode(expired, pem, algorithm="RS256", headers={"kid": kid}))

    stranger = generate_private_pem()
    await _refused(auth, jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "unknown-kid"}))
    await _refused(auth, jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": kid}))

    await _refused(auth, _unsigned_parts({"alg": "none", "typ": "JWT", "kid": kid}, claims) + ".")

    # HS256 "signed" with the public key as the HMAC secret: the classic algorithm confusion.
    jwks = await auth.stub.GetJwks(auth_pb2.GetJwksRequest())
    public_pem = jwt.PyJWK({"kty": "RSA", **public_jwk(pem)}, algorithm="RS256").key.public_bytes(*_pem_public_format())
    assert any(key.kid == kid for key in jwks.keys)
    signing_input = _unsigned_parts({"alg": "HS256", "typ": "JWT", "kid": kid}, claims)
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    await _refused(auth, f"{signing_input}.{_b64(mac)}")


def _pem_public_format() -> tuple[Any, Any]:
    from cryptography.hazmat.primitives import serialization

    return serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo


async def _service_token(auth: Auth, service: str) -> str:
    secret = service_secret(service)
    response = await auth.stub.IssueServiceToken(
        auth_pb2.IssueServiceTokenRequest(client_id=service, client_secret=secret)
    )
    assert 0 < response.expires_in <= auth.settings.auth_service_token_ttl_seconds
    return str(response.access_token)


async def test_service_token_needs_the_derived_secret(auth: Auth) -> None:
    token = await _service_token(auth, "cart")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "service:cart"
    assert claims["typ"] == "service"
    assert claims["roles"] == ["service"]
    wrong = service_secret("cart", key="another key")
    for client_id, secret in (("cart", wrong), ("intruder", wrong)):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await auth.stub.IssueServiceToken(
                auth_pb2.IssueServiceTokenRequest(client_id=client_id, client_secret=secret)
            )
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_exchange_token_only_for_services_with_allowed_scopes(auth: Auth) -> None:
    registered, _ = await auth.register()
    user_token = registered.tokens.access_token
    request = auth_pb2.ExchangeTokenRequest(subject_token=user_token, scopes=["catalog:read", "cart:write"])

    with pytest.raises(grpc.aio.AioRpcError) as as_user:
        await auth.stub.ExchangeToken(request, metadata=bearer(user_token))
    assert as_user.value.code() == grpc.StatusCode.PERMISSION_DENIED

    buddy = await _service_token(auth, "buddy")
    response = await auth.stub.ExchangeToken(request, metadata=bearer(buddy))
    claims = jwt.decode(response.access_token, options={"verify_signature": False})
    assert claims["sub"] == registered.user.id
    assert claims["scope"] == "catalog:read cart:write"
    assert claims["act"] == {"sub": "buddy"}
    assert claims["roles"] == ["buyer"]
    assert claims["typ"] == "user"
    assert 0 < claims["exp"] - claims["iat"] <= 300
    assert response.scope == "catalog:read cart:write"

    # The narrowed token cannot manage the account.
    with pytest.raises(grpc.aio.AioRpcError) as narrowed:
        await auth.stub.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(response.access_token))
    assert narrowed.value.code() == grpc.StatusCode.PERMISSION_DENIED

    # A scope outside buddy's allow-list, or a service without one, is refused.
    wide = auth_pb2.ExchangeTokenRequest(subject_token=user_token, scopes=["order:write"])
    with pytest.raises(grpc.aio.AioRpcError) as too_wide:
        await auth.stub.ExchangeToken(wide, metadata=bearer(buddy))
    assert too_wide.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as other_service:
        await auth.stub.ExchangeToken(request, metadata=bearer(await _service_token(auth, "cart")))
    assert other_service.value.code() == grpc.StatusCode.PERMISSION_DENIED

    # The subject token must be genuine.
    forged = auth_pb2.ExchangeTokenRequest(subject_token=user_token[:-4] + "AAAA", scopes=["catalog:read"])
    with pytest.raises(grpc.aio.AioRpcError) as bad_subject:
        await auth.stub.ExchangeToken(forged, metadata=bearer(buddy))
    assert bad_subject.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_rotated_key_is_published_before_it_signs_and_old_tokens_stay_valid(start_auth: StartAuth) -> None:
    lead = 1.0
    auth = await start_auth(auth_key_rotation_lead_seconds=lead)
    registered, _ = await auth.register()
    old_token = registered.tokens.access_token
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    admin = await auth.admin_token()

    rotated = await auth.stub.RotateSigningKey(auth_pb2.RotateSigningKeyRequest(), metadata=bearer(admin))
    assert rotated.kid != old_kid
    assert rotated.sign_time.ToDatetime(UTC) > datetime.now(UTC)
    # Published at once, so every verifier can fetch it before it meets a token it signed...
    jwks = await auth.stub.GetJwks(auth_pb2.GetJwksRequest())
    assert {key.kid for key in jwks.keys} >= {old_kid, rotated.kid}
    assert all(key.kty == "RSA" and key.alg == "RS256" and key.use == "sig" for key in jwks.keys)
    # ...while the old key still signs.
    refreshed = await auth.stub.RefreshToken(
        auth_pb2.RefreshTokenRequest(refresh_token=registered.tokens.refresh_token)
    )
    assert jwt.get_unverified_header(refreshed.tokens.access_token)["kid"] == old_kid

    await asyncio.sleep(max(0.0, (rotated.sign_time.ToDatetime(UTC) - datetime.now(UTC)).total_seconds()) + 0.1)
    refreshed = await auth.stub.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=refreshed.tokens.refresh_token))
    assert jwt.get_unverified_header(refreshed.tokens.access_token)["kid"] == rotated.kid
    await auth.stub.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(refreshed.tokens.access_token))
    me = await auth.stub.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(old_token))
    assert me.user.id == registered.user.id


async def test_a_buyer_cannot_rotate_keys(auth: Auth) -> None:
    registered, _ = await auth.register()
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await auth.stub.RotateSigningKey(
            auth_pb2.RotateSigningKeyRequest(), metadata=bearer(registered.tokens.access_token)
        )
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_rotation_deletes_keys_retired_longer_ago_than_any_token_lives(auth: Auth) -> None:
    admin = await auth.admin_token()
    first = jwt.get_unverified_header(admin)["kid"]
    second = (await auth.stub.RotateSigningKey(auth_pb2.RotateSigningKeyRequest(), metadata=bearer(admin))).kid
    # The first key retired as long ago as its tokens can live, and a moment more.
    lifetime = retired_key_lifetime(auth.settings)
    await auth.sql(
        "UPDATE signing_keys SET retired_at = now() - make_interval(secs => :seconds) WHERE kid = :kid",
        seconds=lifetime.total_seconds() + 1,
        kid=first,
    )
    admin = await auth.admin_token()
    third = (await auth.stub.RotateSigningKey(auth_pb2.RotateSigningKeyRequest(), metadata=bearer(admin))).kid

    stored = {row.kid for row in await auth.sql("SELECT kid FROM signing_keys")}
    assert stored == {second, third}
    jwks = await auth.stub.GetJwks(auth_pb2.GetJwksRequest())
    assert {key.kid for key in jwks.keys} == {second, third}
    # A token of the key retired just now still works.
    await auth.stub.GetMe(auth_pb2.GetMeRequest(), metadata=bearer(admin))
