"""The kit's server interceptor, shared by every service: one layer that does, for each RPC, in this order:

1. errors and logs: correlation id, one structured log line per RPC, and the single place where errors
   become statuses: a `DomainError` becomes its status code with `google.rpc.ErrorInfo` (plus `RetryInfo` or
   `BadRequest` where they apply); anything else becomes INTERNAL "internal error (ref <correlation id>)",
   its traceback going only to the log;
2. access: verifies the bearer token, enforces the method's access rule `(marketplace.common.v1.rule)` and
   sets the principal for the handler;
3. validation of every request message (each message of a client stream), so a handler only ever sees valid
   input: that it parsed at all (the request deserializer is wrapped so that bytes that are not the message
   arrive as `Undecodable` rather than failing inside grpc.aio as UNKNOWN), that no string holds a NUL
   (`services.kit.input_check`), then the contract's protovalidate rules.

One layer rather than three: each grpc.aio interceptor layer costs a coroutine, a handler lookup and a
wrapped call per RPC, a measurable share of a cached read. All four RPC kinds go through the same steps.
Handlers must be coroutines (unary responses) or async generators (streamed responses) and read client
streams through the request iterator (not `context.read()`), so that every message is validated.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import grpc
import grpc.aio
import protovalidate
from buf.validate import validate_pb2
from google.protobuf import any_pb2, descriptor_pool, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from marketplace.common.v1 import access_pb2
from services.kit import db, errors
from services.kit.input_check import Undecodable, nul_violations, tolerant_deserializer
from services.kit.logs import reset_correlation_id, set_correlation_id
from services.kit.principal import Principal, current_principal_or_none, reset_principal, set_principal
from services.kit.protos import passing_serialized
from services.kit.tokens import TokenVerifier

log = logging.getLogger("services.kit.rpc")
# Span ids need uniqueness, not secrecy (OpenTelemetry's own id generator uses the same).
_random = random.Random()  # noqa: S311


def _continuing_span(trace_headers: dict[str, str] | None) -> trace.Span:
    """A non-recording span that continues the caller's trace (or starts one): built directly, because going
    through the SDK's tracer on every call costs a measurable share of a cheap RPC when nothing is exported."""
    parent = trace.get_current_span(propagate.extract(trace_headers)).get_span_context() if trace_headers else None
    if parent is not None and parent.is_valid:
        trace_id, flags, state = parent.trace_id, parent.trace_flags, parent.trace_state
    else:
        trace_id, flags, state = _random.getrandbits(128), trace.TraceFlags(trace.TraceFlags.DEFAULT), None
    return trace.NonRecordingSpan(
        trace.SpanContext(trace_id, _random.getrandbits(64), is_remote=False, trace_flags=flags, trace_state=state)
    )


if TYPE_CHECKING:
    Context = grpc.aio.ServicerContext[Any, Any]
    ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    Context = grpc.aio.ServicerContext
    ServerInterceptor = grpc.aio.ServerInterceptor

UnaryBehavior = Callable[[Any, Context], Awaitable[Any]]
StreamBehavior = Callable[[Any, Context], AsyncIterator[Any]]

# Health and reflection answer anyone: load balancers and tools call them without a token.
PUBLIC_SERVICES = frozenset(
    {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"}
)
# Not worth a log line each: probes call them every few seconds.
QUIET_SERVICES = frozenset({"grpc.health.v1.Health"})

# What another service's failure to answer looks like to its caller; any other status from it (e.g.
# INVALID_ARGUMENT) means this service sent a bad call: a bug, INTERNAL.
_DEPENDENCY_DOWN = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
_CORRELATION_HEADER = "x-request-id"
_TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
_SAFE_CORRELATION = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


# --- wrapping the four kinds of handlers -----------------------------------------------------------------


def _as_stream(behavior: Callable[..., Any]) -> StreamBehavior:
    """A streamed-response behaviour as an async generator, whether it yields or writes with context.write."""

    async def run(request: Any, context: Context) -> AsyncIterator[Any]:
        result = behavior(request, context)
        if hasattr(result, "__aiter__"):
            async for response in result:
                yield response
        else:
            await result

    return run


# --- errors and logs -------------------------------------------------------------------------------------

_STATUS_CODES: Sequence[tuple[type[errors.DomainError], grpc.StatusCode]] = (
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Conflict, grpc.StatusCode.ABORTED),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.RateLimited, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
)


def status_code_for(error: errors.DomainError) -> grpc.StatusCode:
    for error_type, code in _STATUS_CODES:
        if isinstance(error, error_type):
            return code
    return grpc.StatusCode.FAILED_PRECONDITION


def _packed(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


# The details travel in a trailer, and clients refuse trailers past 8 KiB (gRPC's default soft limit) with
# RESOURCE_EXHAUSTED: a request with a thousand bad items, or a bad map key 6,000 characters long, must
# still get its INVALID_ARGUMENT. So at most this many violations, each text at most this many bytes.
MAX_REPORTED_VIOLATIONS = 10
MAX_VIOLATION_TEXT_BYTES = 200


def _clipped(text: str) -> str:
    encoded = text.encode()
    if len(encoded) <= MAX_VIOLATION_TEXT_BYTES:
        return text
    return encoded[: MAX_VIOLATION_TEXT_BYTES - 3].decode(errors="ignore") + "..."


def error_status(error: errors.DomainError, service: str) -> status_pb2.Status:
    """The `google.rpc.Status` a domain error becomes: code, message and rich details."""
    code = status_code_for(error)
    details = [
        _packed(
            error_details_pb2.ErrorInfo(reason=error.reason, domain=f"marketplace.{service}", metadata=error.metadata)
        )
    ]
    if isinstance(error, errors.RateLimited):
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(error.retry_after_seconds * 1e9))
        details.append(_packed(error_details_pb2.RetryInfo(retry_delay=delay)))
    if isinstance(error, errors.InvalidArgument):
        violations = [
            error_details_pb2.BadRequest.FieldViolation(
                field=_clipped(item.field), description=_clipped(item.description)
            )
            for item in error.violations[:MAX_REPORTED_VIOLATIONS]
        ]
        if len(error.violations) > MAX_REPORTED_VIOLATIONS:
            more = len(error.violations) - MAX_REPORTED_VIOLATIONS
            violations.append(error_details_pb2.BadRequest.FieldViolation(description=f"and {more} more"))
        details.append(_packed(error_details_pb2.BadRequest(field_violations=violations)))
    return status_pb2.Status(code=code.value[0], message=error.message, details=details)


# --- access rules --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodRule:
    access: int  # a marketplace.common.v1.Access value; never ACCESS_UNSPECIFIED
    scope: str = ""


@functools.cache
def method_rule(method: str) -> MethodRule:
    """The access rule of "/pkg.Service/Method" from its descriptor; AUTHENTICATED when absent or unknown."""
    service_name, _, method_name = method.lstrip("/").rpartition("/")
    if service_name in PUBLIC_SERVICES:
        return MethodRule(access_pb2.ACCESS_PUBLIC)
    try:
        descriptor = descriptor_pool.Default().FindServiceByName(service_name).methods_by_name[method_name]
    except KeyError:
        return MethodRule(access_pb2.ACCESS_AUTHENTICATED)
    options = descriptor.GetOptions()
    extension: Any = access_pb2.rule
    if not options.HasExtension(extension):
        return MethodRule(access_pb2.ACCESS_AUTHENTICATED)
    rule: access_pb2.AccessRule = options.Extensions[extension]
    return MethodRule(rule.access or access_pb2.ACCESS_AUTHENTICATED, rule.scope)


def check_access(rule: MethodRule, principal: Principal | None) -> None:
    """Raises Unauthenticated or PermissionDenied unless `principal` may call a method with `rule`."""
    if principal is None:
        if rule.access == access_pb2.ACCESS_PUBLIC:
            return
        raise errors.Unauthenticated("authentication required")
    if principal.scopes is not None and (not rule.scope or rule.scope not in principal.scopes):
        raise errors.PermissionDenied("the token's scope does not cover this method", reason="SCOPE_INSUFFICIENT")
    if rule.access == access_pb2.ACCESS_PUBLIC:
        return
    if rule.access == access_pb2.ACCESS_INTERNAL:
        if not principal.is_service:
            raise errors.PermissionDenied("only services may call this method")
        return
    if principal.is_service:
        raise errors.PermissionDenied("service tokens may only call internal methods")
    if rule.access == access_pb2.ACCESS_SELLER and not (principal.has_role("seller") or principal.is_admin):
        raise errors.PermissionDenied("sellers only")
    if rule.access == access_pb2.ACCESS_ADMIN and not principal.is_admin:
        raise errors.PermissionDenied("admins only")


def bearer_token(authorization: str) -> str:
    """The token of an `authorization: Bearer <token>` metadata value."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthenticated("malformed authorization header")
    return token.strip()


# --- validation ----------------------------------------------------------------------------------------


def _field_path(violation: validate_pb2.Violation) -> str:
    path = ""
    for element in violation.field.elements:
        path = f"{path}.{element.field_name}" if path else element.field_name
        subscript = element.WhichOneof("subscript")
        if subscript == "index":
            path += f"[{element.index}]"
        elif subscript == "string_key":
            path += f'["{element.string_key}"]'
        elif subscript is not None:
            path += f"[{getattr(element, subscript)}]"
    return path


class RequestValidator:
    """Checks a request message: that it parsed at all, that no string holds a NUL character (what no contract
    rule forbids but no service can store, `services.kit.input_check`), then the contract's protovalidate
    rules."""

    def __init__(self) -> None:
        self._validator = protovalidate.Validator()

    def check(self, message: Any) -> None:
        """Raises InvalidArgument naming every offending field."""
        if isinstance(message, Undecodable):
            raise errors.InvalidArgument(f"request is not a valid {message.message_name}")
        violations = nul_violations(message)
        found = self._validator.collect_violations(message)
        if not found and not violations:
            return
        for item in found:
            violation = validate_pb2.Violation.FromString(item.proto.to_binary())
            violations.append(
                errors.FieldViolation(
                    field=_field_path(violation), description=violation.message, reason=violation.rule_id
                )
            )
        raise errors.InvalidArgument("invalid request", violations=violations)

    async def checked_stream(self, requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """`requests`, each message checked before it is passed on."""
        async for request in requests:
            self.check(request)
            yield request


# The catalog importer's name for the validator (it checks rows with the contract's rules).
# --- the interceptor -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Method:
    """What the interceptor knows of a method before any call: computed once per method."""

    name: str  # "/pkg.Service/Method"
    rule: MethodRule
    quiet: bool  # a successful call is logged at DEBUG


@dataclass(slots=True)
class _Call:
    correlation_id: str
    authorization: str | None  # the `authorization` metadata value, when sent
    started: float
    principal_token: object
    correlation_token: object
    code: grpc.StatusCode = grpc.StatusCode.OK
    error: str = ""  # the exception type of a cancelled call that failed while unwinding
    span: trace.Span | None = None  # the call's own server span, when the interceptor started one
    span_token: object = None


class KitInterceptor(ServerInterceptor):
    """Errors and logs, access and validation around every handler (see the module's docstring)."""

    def __init__(self, service: str, verifier: Callable[[], TokenVerifier]) -> None:
        self._service = service
        # A getter: a service may replace its verifier during setup (auth verifies with its own keys).
        self._verifier = verifier
        self._validator = RequestValidator()
        self._wrapped: dict[str, tuple[Any, Any]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        # The wrapped handler depends only on the method and the inner handler (the same object on every
        # call): built once, not on every RPC.
        wrapped = self._wrapped.get(method)
        if wrapped is None or wrapped[0] is not handler:
            wrapped = (handler, self._wrap(handler, method))
            self._wrapped[method] = wrapped
        return wrapped[1]

    def _wrap(self, handler: Any, name: str) -> Any:
        # `Any`: the stubs describe the synchronous handler; these behaviours are coroutines and async generators.
        method = _Method(name, method_rule(name), name.lstrip("/").rpartition("/")[0] in QUIET_SERVICES)
        # A request that does not parse reaches the request check as `Undecodable` (INVALID_ARGUMENT) instead of
        # failing inside grpc.aio, which answers UNKNOWN with the parser's message.
        deserializer = handler.request_deserializer
        codec: dict[str, Any] = {
            "request_deserializer": tolerant_deserializer(deserializer) if deserializer is not None else None,
            "response_serializer": passing_serialized(handler.response_serializer),
        }
        if handler.request_streaming and handler.response_streaming:
            behavior = self._stream(method, _as_stream(handler.stream_stream), True)
            return grpc.stream_stream_rpc_method_handler(behavior, **codec)
        if handler.request_streaming:
            return grpc.stream_unary_rpc_method_handler(self._unary(method, handler.stream_unary, True), **codec)
        if handler.response_streaming:
            behavior = self._stream(method, _as_stream(handler.unary_stream), False)
            return grpc.unary_stream_rpc_method_handler(behavior, **codec)
        return grpc.unary_unary_rpc_method_handler(self._unary(method, handler.unary_unary, False), **codec)

    def _unary(self, method: _Method, behavior: UnaryBehavior, request_streaming: bool) -> UnaryBehavior:
        async def run(request: Any, context: Context) -> Any:
            call = self._begin(method, context)
            try:
                return await behavior(await self._admit(method, call, request, request_streaming), context)
            except BaseException as error:
                await self._fail(method, call, context, error)
            finally:
                self._end(method, call)

        return run

    def _stream(self, method: _Method, behavior: StreamBehavior, request_streaming: bool) -> StreamBehavior:
        async def run(request: Any, context: Context) -> AsyncIterator[Any]:
            call = self._begin(method, context)
            try:
                async for response in behavior(await self._admit(method, call, request, request_streaming), context):
                    yield response
            except BaseException as error:
                await self._fail(method, call, context, error)
            finally:
                self._end(method, call)

        return run

    def _begin(self, method: _Method, context: Context) -> _Call:
        # One pass over the metadata for every header the kit reads.
        correlation_id = ""
        authorization: str | None = None
        trace_headers: dict[str, str] | None = None
        for key, value in context.invocation_metadata() or ():
            if key == _CORRELATION_HEADER:
                if not correlation_id and isinstance(value, str) and _SAFE_CORRELATION.match(value):
                    correlation_id = value
            elif key == "authorization":
                if authorization is None:
                    authorization = str(value)
            elif key in _TRACE_HEADERS:
                trace_headers = trace_headers or {}
                trace_headers.setdefault(key, str(value))
        # 128 random bits: unique enough to find one call in the logs, and far cheaper per call than a UUIDv7.
        correlation_id = correlation_id or os.urandom(16).hex()
        call = _Call(
            correlation_id=correlation_id,
            authorization=authorization,
            started=time.perf_counter(),
            principal_token=set_principal(None),
            correlation_token=set_correlation_id(correlation_id),
        )
        if not trace.get_current_span().get_span_context().is_valid:
            # No server span from OpenTelemetry's gRPC instrumentation (services/kit/telemetry.py installs it
            # only when spans are exported): the call still continues the caller's trace, with a span of its
            # own (non-recording then), so its log lines, its outgoing calls and its events carry the trace.
            call.span = _continuing_span(trace_headers)
            call.span_token = otel_context.attach(trace.set_span_in_context(call.span))
        return call

    async def _admit(self, method: _Method, call: _Call, request: Any, request_streaming: bool) -> Any:
        """What every call passes before its handler: the token and the method's access rule, then the request
        check (each message of a client stream as it arrives). Returns what the handler reads."""
        if call.authorization is None:
            check_access(method.rule, None)
        else:
            await self._authorize(method, call.authorization)
        if request_streaming:
            return self._validator.checked_stream(request)
        self._validator.check(request)
        return request

    async def _authorize(self, method: _Method, authorization: str) -> None:
        principal = await self._verifier().verify(bearer_token(authorization))
        check_access(method.rule, principal)
        set_principal(principal)

    async def _fail(self, method: _Method, call: _Call, context: Context, error: BaseException) -> NoReturn:
        if isinstance(error, grpc.aio.AbortError):
            # A handler aborted by itself; the status is already set.
            call.code = _context_code(context)
            raise error
        if isinstance(error, errors.DomainError):
            await self._abort(call, context, error)
        if not isinstance(error, Exception):
            # Cancellation or a closing stream: nothing can be sent any more.
            call.code = grpc.StatusCode.CANCELLED
            raise error
        if _was_cancelled(context, error):
            # The caller went away and the handler failed while unwinding (e.g. a database session interrupted
            # mid-close): not an internal error. The RPC's own log line says CANCELLED and names the error.
            call.code = grpc.StatusCode.CANCELLED
            call.error = type(error).__name__
            raise asyncio.CancelledError from error
        if isinstance(error, grpc.aio.AioRpcError) and error.code() in _DEPENDENCY_DOWN:
            # A service this call needs did not answer: the caller may retry later, so UNAVAILABLE rather than
            # INTERNAL. Only the code goes out, never the other service's message.
            call.error = f"dependency {error.code().name}"
            log.warning(
                "a dependency is unavailable",
                extra={
                    "fields": {
                        "method": method.name,
                        "correlation_id": call.correlation_id,
                        "dependency_code": error.code().name,
                        "dependency_details": error.details() or "",
                    }
                },
            )
            unavailable = errors.Unavailable(f"a service this call needs is unavailable (ref {call.correlation_id})")
            await self._abort(call, context, unavailable)
        if (store := _store_lost(error)) is not None:
            # The connection to this service's database or Redis broke or was refused (a restart, a failover, a
            # killed backend, Redis still loading its data): the next call gets a fresh connection, so this is
            # worth a retry once the store is back, not INTERNAL.
            call.error = f"{store} unavailable: {type(error).__name__}"
            log.warning(
                "a store of the service is unavailable",
                extra={"fields": {"method": method.name, "correlation_id": call.correlation_id, "store": store}},
            )
            unavailable = errors.Unavailable(f"the service's {store} is unavailable (ref {call.correlation_id})")
            await self._abort(call, context, unavailable)
        call.code = grpc.StatusCode.INTERNAL
        log.error(
            "unexpected error",
            exc_info=error,
            extra={"fields": {"method": method.name, "correlation_id": call.correlation_id}},
        )
        status = rpc_status.to_status(
            status_pb2.Status(code=code_pb2.INTERNAL, message=f"internal error (ref {call.correlation_id})")
        )
        await context.abort(status.code, status.details, status.trailing_metadata)
        raise AssertionError("unreachable: abort raises")

    async def _abort(self, call: _Call, context: Context, error: errors.DomainError) -> NoReturn:
        """Ends the call with the status `error` maps to, with its rich details."""
        status = rpc_status.to_status(error_status(error, self._service))
        call.code = status.code
        await context.abort(status.code, status.details, status.trailing_metadata)
        raise AssertionError("unreachable: abort raises")

    def _end(self, method: _Method, call: _Call) -> None:
        level = logging.DEBUG if method.quiet and call.code == grpc.StatusCode.OK else logging.INFO
        # Built only when it will be written: on the hot path of every RPC.
        if log.isEnabledFor(level):
            principal = current_principal_or_none()
            fields = {
                "method": method.name,
                "code": call.code.name,
                "duration_ms": round((time.perf_counter() - call.started) * 1000, 3),
                "subject": principal.subject if principal else "",
                "correlation_id": call.correlation_id,
            }
            if call.error:
                fields["error"] = call.error
            log.log(level, "rpc", extra={"fields": fields})
        # A stream closed from another context cannot reset; that context ends with the RPC anyway.
        with contextlib.suppress(ValueError):
            reset_principal(call.principal_token)
            reset_correlation_id(call.correlation_token)
        if call.span is not None:
            if call.span.is_recording() and call.code != grpc.StatusCode.OK:
                call.span.set_status(trace.StatusCode.ERROR, call.code.name)
            call.span.end()
            otel_context.detach(call.span_token)  # type: ignore[arg-type]


def _store_lost(error: BaseException) -> str | None:
    """ "database" or "Redis" when `error` is the connection to that store lost or refused; None otherwise."""
    if db.connection_lost(error):
        return "database"
    if isinstance(error, (RedisConnectionError, RedisTimeoutError)):
        return "Redis"
    return None


def _was_cancelled(context: Context, error: BaseException) -> bool:
    """Whether the RPC was cancelled (the client cancelled, its deadline passed, the connection closed)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        return True
    with contextlib.suppress(Exception):  # not every context implements it
        if context.cancelled():
            return True
    cause: BaseException | None = error
    for _ in range(8):  # the cancellation may be what the failing cleanup was handling
        cause = cause.__context__ if cause is not None else None
        if cause is None:
            break
        if isinstance(cause, asyncio.CancelledError):
            return True
    return False


def _context_code(context: Context) -> grpc.StatusCode:
    code = getattr(context, "code", lambda: None)()
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def kit_interceptors(service: str, verifier: Callable[[], TokenVerifier]) -> list[ServerInterceptor]:
    """The interceptors every service's server runs, outermost first."""
    return [KitInterceptor(service, verifier)]
