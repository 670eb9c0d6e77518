"""The probe service (marketplace.testing.v1.ProbeService) served by the kit, signing keys and token minting."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from google.rpc import error_details_pb2, status_pb2

from marketplace.testing.v1 import probe_pb2, probe_pb2_grpc
from services.kit import errors
from services.kit.principal import current_principal_or_none
from services.kit.server import Runtime, ServiceDefinition
from services.kit.settings import ServiceSettings
from services.kit.tokens import RevocationList, TokenVerifier

ISSUER = "test-issuer"
AUDIENCE = "test-audience"


class ProbeSettings(ServiceSettings):
    service = "probe"


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def generate(cls, kid: str) -> SigningKey:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def mint(self, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "user-1",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "typ": "user",
            "roles": ["buyer"],
        }
        claims.update(overrides)
        claims = {key: value for key, value in claims.items() if value is not None}
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid})


@dataclass
class JwksSource:
    """An in-process JWKS endpoint: the keys it publishes can change during a test (rotation)."""

    keys: list[SigningKey]
    fetches: int = 0

    async def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        return {"keys": [key.jwk() for key in self.keys]}


def caller() -> probe_pb2.Caller | None:
    principal = current_principal_or_none()
    if principal is None:
        return None
    return probe_pb2.Caller(
        subject=principal.subject,
        kind=principal.kind,
        roles=sorted(principal.roles),
        scopes=sorted(principal.scopes or ()),
        actor=principal.actor or "",
    )


FAILURES: dict[int, Exception] = {
    probe_pb2.FAILURE_KIND_NOT_FOUND: errors.NotFound("no such thing"),
    probe_pb2.FAILURE_KIND_PERMISSION_DENIED: errors.PermissionDenied("not yours"),
    probe_pb2.FAILURE_KIND_UNAUTHENTICATED: errors.Unauthenticated("who are you"),
    probe_pb2.FAILURE_KIND_FAILED_PRECONDITION: errors.FailedPrecondition(
        "out of stock", reason="OUT_OF_STOCK", metadata={"product_id": "p-1"}
    ),
    probe_pb2.FAILURE_KIND_CONFLICT: errors.Conflict("changed meanwhile"),
    probe_pb2.FAILURE_KIND_ALREADY_EXISTS: errors.AlreadyExists("exists"),
    probe_pb2.FAILURE_KIND_RATE_LIMITED: errors.RateLimited("slow down", retry_after_seconds=30),
    probe_pb2.FAILURE_KIND_INVALID_ARGUMENT: errors.InvalidArgument(
        "bad dates", violations=[errors.FieldViolation("window.end", "must be after start")]
    ),
    probe_pb2.FAILURE_KIND_UNEXPECTED: RuntimeError("SELECT secret FROM vault /srv/app/handlers.py"),
}


class ProbeServicer(probe_pb2_grpc.ProbeServiceServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.own_address = ""  # set once serving: the "other service" a dependency failure calls
        self.calls: Counter[str] = Counter()
        self.received: list[str] = []

    async def PublicPing(self, request, context):
        self.calls["PublicPing"] += 1
        return probe_pb2.PublicPingResponse(caller=caller())

    async def AuthenticatedPing(self, request, context):
        self.calls["AuthenticatedPing"] += 1
        return probe_pb2.AuthenticatedPingResponse(caller=caller())

    async def SellerPing(self, request, context):
        self.calls["SellerPing"] += 1
        return probe_pb2.SellerPingResponse(caller=caller())

    async def AdminPing(self, request, context):
        self.calls["AdminPing"] += 1
        return probe_pb2.AdminPingResponse(caller=caller())

    async def InternalPing(self, request, context):
        self.calls["InternalPing"] += 1
        return probe_pb2.InternalPingResponse(caller=caller())

    async def ScopedPing(self, request, context):
        self.calls["ScopedPing"] += 1
        return probe_pb2.ScopedPingResponse(caller=caller())

    async def Echo(self, request, context):
        self.calls["Echo"] += 1
        return probe_pb2.EchoResponse(name=request.name, count=request.count, email=request.email)

    async def Fail(self, request, context):
        self.calls["Fail"] += 1
        if request.kind == probe_pb2.FAILURE_KIND_DEPENDENCY_UNAVAILABLE:
            await self._call_another_service("127.0.0.1:1", probe_pb2.FAILURE_KIND_NOT_FOUND)  # nothing listens
        if request.kind == probe_pb2.FAILURE_KIND_DEPENDENCY_REFUSED:
            await self._call_another_service(self.own_address, probe_pb2.FAILURE_KIND_INVALID_ARGUMENT)
        raise FAILURES[request.kind]

    async def _call_another_service(self, address: str, kind: probe_pb2.FailureKind) -> None:
        """A real outgoing gRPC call, as a service makes to another (here: a closed port, or this server)."""
        async with grpc.aio.insecure_channel(address) as channel:
            await probe_pb2_grpc.ProbeServiceStub(channel).Fail(probe_pb2.FailRequest(kind=kind), timeout=5)

    async def CountUp(self, request, context):
        self.calls["CountUp"] += 1
        for index in range(1, request.count + 1):
            yield probe_pb2.CountUpResponse(name=request.name, index=index)

    async def Collect(self, request_iterator, context):
        self.calls["Collect"] += 1
        names = []
        async for request in request_iterator:
            self.received.append(request.name)
            names.append(request.name)
        return probe_pb2.CollectResponse(names=names)

    async def Chat(self, request_iterator, context):
        self.calls["Chat"] += 1
        async for request in request_iterator:
            self.received.append(request.name)
            yield probe_pb2.ChatResponse(name=request.name)


def probe_definition(
    servicer: ProbeServicer, jwks: JwksSource | None, *, uses_database: bool = False
) -> ServiceDefinition:
    """The probe service; with `jwks`, tokens are verified against it instead of the auth service."""

    async def setup(runtime: Runtime) -> None:
        if jwks is not None:
            assert runtime.redis is not None
            runtime.verifier = TokenVerifier(
                jwks.fetch,
                issuer=ISSUER,
                audience=AUDIENCE,
                revocations=RevocationList(runtime.redis),
                refetch_interval_seconds=0.2,
            )
        probe_pb2_grpc.add_ProbeServiceServicer_to_server(servicer, runtime.server)

    return ServiceDefinition(
        name="probe",
        settings_type=ProbeSettings,
        grpc_services=[probe_pb2.DESCRIPTOR.services_by_name["ProbeService"]],
        setup=setup,
        uses_database=uses_database,
        publishes_events=False,  # the probe has no outbox table
    )


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def status_details(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    trailers: Any = error.trailing_metadata() or ()
    for key, value in trailers:
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    raise AssertionError("no grpc-status-details-bin in the trailers")


def unpack(status: status_pb2.Status, message_type: type[Any]) -> Any | None:
    for detail in status.details:
        if detail.Is(message_type.DESCRIPTOR):
            message = message_type()
            detail.Unpack(message)
            return message
    return None


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    info = unpack(status_details(error), error_details_pb2.ErrorInfo)
    assert info is not None, "no ErrorInfo"
    return info


def field_violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    bad_request = unpack(status_details(error), error_details_pb2.BadRequest)
    assert bad_request is not None, "no BadRequest"
    return {item.field: item.description for item in bad_request.field_violations}
