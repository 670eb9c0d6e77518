"""Calling other services: channels with retries and a service token, deadlines on every call.

`channel(target)` retries UNAVAILABLE (the server was not reached or went away) up to 3 more times with
backoff. gRPC applies a retry policy per method name; the policy here names every method, so only
idempotent RPCs (reads, or writes carrying a `request_id`) may go through a retrying channel. For the
others pass `idempotent=False`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import grpc
import grpc.aio
from google.rpc import error_details_pb2, status_pb2

from services.kit.tokens import Jwks

DEFAULT_TIMEOUT_SECONDS = 5.0
# A cached service token is replaced this long before it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 60.0

_RETRY_POLICY = {
    "maxAttempts": 4,
    "initialBackoff": "0.1s",
    "maxBackoff": "1s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}

Response = TypeVar("Response")


def service_config(*, idempotent: bool = True) -> str:
    """The channel's service config: a retry policy for every method (`name: [{}]`) when idempotent."""
    method_config: dict[str, Any] = {"name": [{}]}
    if idempotent:
        method_config["retryPolicy"] = _RETRY_POLICY
    return json.dumps({"methodConfig": [method_config]})


def channel(target: str, *, token: ServiceToken | None = None, idempotent: bool = True) -> grpc.aio.Channel:
    """An insecure channel to another service inside the mesh (TLS, if any, is the platform's job)."""
    options = [
        ("grpc.enable_retries", 1 if idempotent else 0),
        ("grpc.service_config", service_config(idempotent=idempotent)),
        ("grpc.keepalive_time_ms", 30_000),
    ]
    interceptors = bearer_token_interceptors(token.get) if token is not None else None
    return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)


async def call(
    stub_method: Callable[..., Awaitable[Response]],
    request: Any,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    metadata: Sequence[tuple[str, str]] = (),
) -> Response:
    """Calls a unary stub method with a deadline; a call without one could hang forever."""
    return await stub_method(request, timeout=timeout, metadata=tuple(metadata))


def error_info(error: grpc.aio.AioRpcError) -> tuple[str, dict[str, str]]:
    """(reason, metadata) of the `google.rpc.ErrorInfo` another service's error carries; ("", {}) when none.

    For translating another service's refusal (e.g. the catalog's OUT_OF_STOCK) into this service's own."""
    metadata: Any = error.trailing_metadata() or ()
    for key, value in metadata:
        if key != "grpc-status-details-bin" or not isinstance(value, bytes):
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info):
                return info.reason, dict(info.metadata)
    return "", {}


class ServiceToken:
    """This service's access token from auth's IssueServiceToken, cached until shortly before it expires."""

    def __init__(self, auth: grpc.aio.Channel, client_id: str, client_secret: str) -> None:
        self._auth = auth
        self._client_id = client_id
        self._client_secret = client_secret
        self._token = ""
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._token and time.monotonic() < self._refresh_at:
            return self._token
        async with self._lock:
            if not self._token or time.monotonic() >= self._refresh_at:
                await self._issue()
        return self._token

    async def _issue(self) -> None:
        from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc

        stub = auth_pb2_grpc.AuthServiceStub(self._auth)
        request = auth_pb2.IssueServiceTokenRequest(client_id=self._client_id, client_secret=self._client_secret)
        response = await stub.IssueServiceToken(request, timeout=DEFAULT_TIMEOUT_SECONDS)
        lifetime = float(response.expires_in)
        self._token = response.access_token
        # Replaced a minute before expiry; a token living under two minutes is replaced halfway through.
        self._refresh_at = time.monotonic() + max(lifetime - TOKEN_REFRESH_MARGIN_SECONDS, lifetime / 2)


class Peers:
    """Channels to the other services a service calls, every call carrying the service's own token (from auth's
    IssueServiceToken with its client id and secret). `close()` closes them all, auth's last."""

    def __init__(self, auth_target: str, client_id: str, client_secret: str) -> None:
        self._auth = channel(auth_target)
        self.token = ServiceToken(self._auth, client_id, client_secret)
        self._channels: list[grpc.aio.Channel] = []

    def channel(self, target: str, *, idempotent: bool = True) -> grpc.aio.Channel:
        opened = channel(target, token=self.token, idempotent=idempotent)
        self._channels.append(opened)
        return opened

    async def close(self) -> None:
        for opened in reversed(self._channels):
            await opened.close(None)
        self._channels.clear()
        await self._auth.close(None)


def jwks_from_auth(auth: grpc.aio.Channel) -> Callable[[], Awaitable[Jwks]]:
    """A JWKS source for `TokenVerifier` that asks auth's GetJwks."""

    async def fetch() -> Jwks:
        from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc

        stub = auth_pb2_grpc.AuthServiceStub(auth)
        response = await stub.GetJwks(auth_pb2.GetJwksRequest(), timeout=DEFAULT_TIMEOUT_SECONDS)
        return {
            "keys": [
                {"kty": key.kty, "kid": key.kid, "use": key.use, "alg": key.alg, "n": key.n, "e": key.e}
                for key in response.keys
            ]
        }

    return fetch


def _with_authorization(details: grpc.aio.ClientCallDetails, token: str) -> grpc.aio.ClientCallDetails:
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    metadata["authorization"] = f"Bearer {token}"
    return grpc.aio.ClientCallDetails(
        method=details.method,
        timeout=details.timeout,
        metadata=metadata,
        credentials=details.credentials,
        wait_for_ready=details.wait_for_ready,
    )


class _BearerToken:
    def __init__(self, get_token: Callable[[], Awaitable[str]]) -> None:
        self._get_token = get_token

    async def _details(self, details: Any) -> grpc.aio.ClientCallDetails:
        return _with_authorization(details, await self._get_token())


# grpc.aio files each interceptor under the first kind it implements, so each kind needs its own class.
class _UnaryUnaryBearer(_BearerToken, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(await self._details(client_call_details), request)


class _UnaryStreamBearer(_BearerToken, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[type-arg]
    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(await self._details(client_call_details), request)


class _StreamUnaryBearer(_BearerToken, grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[type-arg]
    async def intercept_stream_unary(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return await continuation(await self._details(client_call_details), request_iterator)


class _StreamStreamBearer(_BearerToken, grpc.aio.StreamStreamClientInterceptor):  # type: ignore[type-arg]
    async def intercept_stream_stream(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return await continuation(await self._details(client_call_details), request_iterator)


def bearer_token_interceptors(get_token: Callable[[], Awaitable[str]]) -> list[Any]:
    """Client interceptors adding `authorization: Bearer <token>` to every kind of call."""
    return [
        kind(get_token) for kind in (_UnaryUnaryBearer, _UnaryStreamBearer, _StreamUnaryBearer, _StreamStreamBearer)
    ]
