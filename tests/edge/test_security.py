"""What the edge refuses on its own: bad tokens (before any service sees them), forged claim headers, preflights
from foreign origins, and floods of sign-in and reset requests."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import grpc
import httpx
import jwt
import pytest

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from services.auth.keys import generate_private_pem
from services.edge.envoy_config import USER_HEADER
from tests.edge.conftest import KEY_ROTATION_LEAD_SECONDS, RESET_LIMIT, WEB_ORIGIN, Stack
from tests.edge.grpc_web import grpc_web_call

pytestmark = pytest.mark.timeout(180)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def genuine(stack: Stack) -> tuple[str, dict[str, Any], str, str]:
    """A real user's token, its claims, and auth's current signing key (kid, private PEM)."""
    token, _ = await stack.auth.user_token()
    claims = jwt.decode(token, options={"verify_signature": False})
    [(kid, pem)] = await stack.auth.sql("SELECT kid, private_pem FROM signing_keys WHERE retired_at IS NULL")
    return token, claims, kid, pem


async def logged(stack: Stack, request_id: str) -> dict[str, Any]:
    for _ in range(50):
        for entry in stack.access_log():
            if entry.get("request_id") == request_id:
                return entry
        await asyncio.sleep(0.1)
    raise AssertionError(f"no access log line for {request_id}")


def refused_by_edge(reply: httpx.Response, status: int = 401) -> None:
    assert reply.status_code == status, reply.text
    # Envoy's own answer (plain text), not a service's JSON status.
    assert reply.headers["content-type"].startswith("text/plain") and "Jwt" in reply.text, reply.text


async def test_bad_tokens_stop_at_the_edge(stack: Stack) -> None:
    token, claims, kid, pem = await genuine(stack)
    good = await stack.http.get("/v1/users/me", headers={"authorization": f"Bearer {token}"})
    assert good.status_code == 200, good.text

    now = int(time.time())
    header, _payload, signature = token.split(".")
    forged = {
        "missing": None,
        "garbage": "not.a.token",
        "tampered": f"{header}.{_b64(json.dumps({**claims, 'roles': ['admin']}).encode())}.{signature}",
        "stranger": jwt.encode(claims, generate_private_pem(), algorithm="RS256", headers={"kid": kid}),
        "expired": jwt.encode(
            {**claims, "iat": now - 3600, "nbf": now - 3600, "exp": now - 3000},
            pem,
            algorithm="RS256",
            headers={"kid": kid},
        ),
        "wrong audience": jwt.encode({**claims, "aud": "elsewhere"}, pem, algorithm="RS256", headers={"kid": kid}),
        "wrong issuer": jwt.encode({**claims, "iss": "someone"}, pem, algorithm="RS256", headers={"kid": kid}),
        "alg none": _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
        + "."
        + _b64(json.dumps(claims).encode())
        + ".",
    }
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        me = auth_pb2_grpc.AuthServiceStub(channel)
        for name, value in forged.items():
            headers = {} if value is None else {"authorization": f"Bearer {value}"}
            # Envoy answers a token of another audience with 403 (it is valid, but not for this API).
            status = 403 if name == "wrong audience" else 401
            reply = await stack.http.get("/v1/users/me", headers=headers)
            refused_by_edge(reply, status)
            entry = await logged(stack, reply.headers["x-request-id"])
            assert entry["details"].startswith("jwt_authn_access_denied") and entry["upstream_host"] is None, (
                name,
                entry,
            )

            with pytest.raises(grpc.aio.AioRpcError) as error:
                await me.GetMe(auth_pb2.GetMeRequest(), metadata=tuple(headers.items()), timeout=10)
            expected = grpc.StatusCode.PERMISSION_DENIED if status == 403 else grpc.StatusCode.UNAUTHENTICATED
            assert error.value.code() == expected, name

            if value is not None:
                # A public RPC takes no token, but a sent one must be valid.
                public = await stack.http.get("/v1/categories", headers=headers)
                refused_by_edge(public, status)
    assert (await stack.http.get("/v1/categories")).status_code == 200


async def test_client_sent_claim_headers_are_dropped(stack: Stack) -> None:
    forged_user = str(uuid.uuid4())
    anonymous = await stack.http.get("/v1/categories", headers={USER_HEADER: forged_user})
    assert anonymous.status_code == 200
    assert (await logged(stack, anonymous.headers["x-request-id"]))["user"] is None

    token, user_id = await stack.auth.user_token()
    signed_in = await stack.http.get(
        "/v1/users/me", headers={USER_HEADER: forged_user, "authorization": f"Bearer {token}"}
    )
    assert signed_in.status_code == 200
    assert (await logged(stack, signed_in.headers["x-request-id"]))["user"] == user_id


async def test_cors_preflight(stack: Stack) -> None:
    ask = {"access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type"}
    allowed = await stack.http.options("/v1/cart/items", headers={"origin": WEB_ORIGIN, **ask})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == WEB_ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "authorization" in allowed.headers["access-control-allow-headers"]

    grpc_web = await stack.http.options(
        "/marketplace.catalog.v1.CatalogService/GetProduct",
        headers={
            "origin": WEB_ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "x-grpc-web",
        },
    )
    assert grpc_web.headers.get("access-control-allow-origin") == WEB_ORIGIN

    foreign = await stack.http.options("/v1/cart/items", headers={"origin": "https://evil.example.net", **ask})
    assert "access-control-allow-origin" not in foreign.headers
    # Answered by Envoy: a preflight never reaches a service.
    assert (await logged(stack, foreign.headers["x-request-id"]))["upstream_host"] is None

    simple = await stack.http.get("/v1/categories", headers={"origin": WEB_ORIGIN})
    assert simple.headers["access-control-allow-origin"] == WEB_ORIGIN
    assert "x-request-id" in simple.headers["access-control-expose-headers"]
    other = await stack.http.get("/v1/categories", headers={"origin": "https://evil.example.net"})
    assert "access-control-allow-origin" not in other.headers


async def test_password_reset_is_rate_limited(stack: Stack) -> None:
    body = {"email": f"nobody-{uuid.uuid4().hex[:6]}@example.com"}
    replies = [await stack.http.post("/v1/auth:requestPasswordReset", json=body) for _ in range(RESET_LIMIT.tokens)]
    assert [reply.status_code for reply in replies] == [200] * RESET_LIMIT.tokens, replies[-1].text
    limited = await stack.http.post("/v1/auth:requestPasswordReset", json=body)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == str(RESET_LIMIT.seconds)

    # gRPC callers have their own bucket (the RPC's path; REST has its route) and get RESOURCE_EXHAUSTED, with
    # the same retry-after.
    request = auth_pb2.RequestPasswordResetRequest(**body)
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        for _ in range(RESET_LIMIT.tokens):
            await stub.RequestPasswordReset(request, timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.RequestPasswordReset(request, timeout=10)
        assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error.value.details() == "local_rate_limited"
        metadata: Any = error.value.trailing_metadata() or ()  # (key, value) pairs; grpc's stubs say otherwise
        trailers = dict(metadata)
        assert trailers["retry-after"] == str(RESET_LIMIT.seconds)

    # gRPC-Web shares that bucket and gets the same answer, as a browser's client reads it: a trailers-only
    # reply (HTTP 200, no body), RESOURCE_EXHAUSTED, and retry-after exposed to the page's origin.
    reply, messages, status = await grpc_web_call(
        stack,
        "/marketplace.auth.v1.AuthService/RequestPasswordReset",
        request.SerializeToString(),
        origin=WEB_ORIGIN,
    )
    assert (reply.status_code, messages, status) == (200, [], str(grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]))
    assert reply.headers["grpc-message"] == "local_rate_limited"
    assert reply.headers["retry-after"] == str(RESET_LIMIT.seconds)
    assert "retry-after" in reply.headers["access-control-expose-headers"]
    entry = await logged(stack, reply.headers["x-request-id"])
    assert (entry["flags"], entry["upstream_host"]) == ("RL", None)  # the edge's own answer

    # Other RPCs are not limited by it, on any protocol.
    assert (await stack.http.get("/v1/categories")).status_code == 200
    other, _, other_status = await grpc_web_call(
        stack, "/marketplace.catalog.v1.CatalogService/ListCategories", b"", origin=WEB_ORIGIN
    )
    assert (other.status_code, other_status) == (200, "0")


async def test_a_rotated_key_reaches_the_edge_before_it_signs(stack: Stack) -> None:
    before, _ = await stack.auth.user_token()
    admin, _ = await stack.auth.admin()
    rotated = await stack.http.post("/v1/signingKeys:rotate", json={}, headers={"authorization": f"Bearer {admin}"})
    assert rotated.status_code == 200, rotated.text
    new_kid = rotated.json()["kid"]
    assert new_kid != jwt.get_unverified_header(before)["kid"]

    # The old key signs until the new one has been published for longer than Envoy caches the JWKS...
    loop = asyncio.get_running_loop()
    deadline = loop.time() + KEY_ROTATION_LEAD_SECONDS + 5
    while True:
        after, _ = await stack.auth.user_token()
        if jwt.get_unverified_header(after)["kid"] == new_kid or loop.time() > deadline:
            break
        await asyncio.sleep(0.2)
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    # ...so the edge knows the new key the moment a token it signed arrives: there is no window of refusals.
    reply = await stack.http.get("/v1/users/me", headers={"authorization": f"Bearer {after}"})
    assert reply.status_code == 200, reply.text
    # The retired key keeps verifying the older tokens.
    assert (await stack.http.get("/v1/users/me", headers={"authorization": f"Bearer {before}"})).status_code == 200
