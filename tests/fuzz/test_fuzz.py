"""Fuzzing every public RPC of every service that exists, through the real servers with a real client.

Requests come from each method's descriptor (tests/fuzz/strategies.py); each is sent by every caller of the
mesh (no token, a buyer, a seller, an admin, a service, forged, expired and other-audience tokens) and once
more with odd metadata. For every call: never INTERNAL or UNKNOWN (nor a hang or a dead server), every server
still SERVING afterwards, and no caller but an admin or a service ever receives the victim's private data.
Raw bytes that are not the request message (invalid UTF-8 in a string field, corrupt wire format) go to every
method as well.

Bounded by the Hypothesis profile of tests/fuzz/profiles.py: FUZZ_EXAMPLES examples per method (`make fuzz`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import string
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor
from google.protobuf.message import DecodeError
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import given
from hypothesis import strategies as st

from marketplace.auth.v1 import auth_pb2, auth_pb2_grpc
from marketplace.cart.v1 import cart_pb2, cart_pb2_grpc
from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from marketplace.common.v1 import access_pb2
from marketplace.order.v1 import order_pb2, order_pb2_grpc
from services.kit.interceptors import method_rule
from tests.fuzz.conftest import Mesh, Metadata, served_methods
from tests.fuzz.profiles import fuzzing
from tests.fuzz.strategies import messages, undecodable_bodies

METHODS = served_methods()
GET_ME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].methods_by_name["GetMe"]
IDS = [f"{service}:{method.containing_service.name}.{method.name}" for service, method in METHODS]
# A service that answers these is broken (or gone), whatever it was sent.
BROKEN = frozenset({grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAVAILABLE})
CALL_TIMEOUT = 20.0
SERVING_WAIT = 5.0
NUL_PROPERTY_MAX_BYTES = 1024 * 1024
STREAM_WAIT = 0.2  # seconds a server stream is read for its first message before the call is cancelled


def path_of(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def request_class(method: MethodDescriptor) -> Any:
    return message_factory.GetMessageClass(method.input_type)


# --- odd metadata --------------------------------------------------------------------------------------

_HEADER_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " .-_=+/:", max_size=60)


def odd_metadata(mesh: Mesh) -> st.SearchStrategy[Metadata]:
    """Authorization headers of every odd shape, binary headers, huge and strange request ids."""
    valid = str(mesh.callers["buyer"][0][1])
    authorization = st.one_of(
        st.sampled_from(
            [
                "Bearer",
                "Bearer ",
                "bearer    ",
                "Basic dXNlcjpwYXNzd29yZA==",
                "Token abc",
                valid.upper(),
                valid.replace("Bearer ", "Bearer  "),
                valid + ".extra",
                valid[:-5],
                "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiIsInJvbGVzIjpbImFkbWluIl19.",
                "Bearer " + "a" * 7000,
            ]
        ),
        _HEADER_TEXT,
        _HEADER_TEXT.map(lambda text: "Bearer " + text),
    )
    header = st.one_of(
        st.tuples(st.just("authorization"), authorization),
        st.tuples(st.just("x-request-id"), st.one_of(_HEADER_TEXT, st.just("r" * 7000), st.just("../../etc"))),
        st.tuples(
            st.sampled_from(["authorization-bin", "x-request-id-bin", "traceparent-bin"]), st.binary(max_size=40)
        ),
        st.tuples(st.sampled_from(["traceparent", "tracestate"]), _HEADER_TEXT),
    )
    return st.lists(header, min_size=1, max_size=3).map(tuple)


# --- one call, checked -----------------------------------------------------------------------------------


async def _requests(messages_: Sequence[Any]) -> AsyncIterator[Any]:
    for message in messages_:
        yield message


async def call(
    mesh: Mesh, service: str, method: MethodDescriptor, request: Any, metadata: Metadata, *, raw: bool = False
) -> tuple[grpc.StatusCode, list[bytes]]:
    """Sends `request` (a message, a list of them for a client stream, or bytes when `raw`); returns the
    status and everything the caller received (responses, the status message, trailers), all as bytes."""
    channel: Any = mesh.services[service].channel
    codec = {"request_serializer": None if raw else request_class(method).SerializeToString}
    received: list[bytes] = []
    path = path_of(method)
    options: dict[str, Any] = {"metadata": metadata, "timeout": CALL_TIMEOUT}
    try:
        if method.client_streaming:
            requests = _requests(request if isinstance(request, list) else [request])
            if method.server_streaming:
                await _first_of(channel.stream_stream(path, **codec)(requests, **options), received)
            else:
                received.append(await channel.stream_unary(path, **codec)(requests, **options))
        elif method.server_streaming:
            await _first_of(channel.unary_stream(path, **codec)(request, **options), received)
        else:
            received.append(await channel.unary_unary(path, **codec)(request, **options))
    except grpc.aio.AioRpcError as error:
        received.append((error.details() or "").encode())
        trailers: Any = error.trailing_metadata() or ()
        for key, value in trailers:
            received.append(value if isinstance(value, bytes) else f"{key}={value}".encode())
        return error.code(), received
    return grpc.StatusCode.OK, received


async def _first_of(stream: Any, received: list[bytes]) -> None:
    """The first message of a server stream, if it comes soon; a stream still open is then cancelled (a
    watch never ends by itself). A failed stream raises its AioRpcError."""

    async def first() -> None:
        async for response in stream:
            received.append(response)
            return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(first(), STREAM_WAIT)
    stream.cancel()


def check_answer(mesh: Mesh, caller: str, code: grpc.StatusCode, received: list[bytes], what: str) -> None:
    assert code not in BROKEN, f"{what} as {caller}: {code.name} {received[-1:]!r}"
    if caller in mesh.trusted:
        return
    for marker in mesh.private:
        for item in received:
            assert marker not in item, f"{what} as {caller}: received the victim's private {marker!r}"


async def keep_signed_in(mesh: Mesh) -> None:
    """Signs a user in again whose earlier call ended their own session (Logout does), so that every call
    judges the request rather than a dead token."""
    for caller in mesh.logins:
        code, _ = await call(mesh, "auth", GET_ME, auth_pb2.GetMeRequest(), mesh.callers[caller])
        if code == grpc.StatusCode.UNAUTHENTICATED:
            await mesh.sign_in_again(caller)


async def check_serving(mesh: Mesh) -> None:
    """Every server still answers and reports SERVING (within a few seconds: the health monitor checks the
    dependencies about every second)."""
    for name, served in mesh.services.items():
        health = health_pb2_grpc.HealthStub(served.channel)
        deadline = time.monotonic() + SERVING_WAIT
        while True:
            response = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            if response.status == health_pb2.HealthCheckResponse.SERVING:
                break
            if time.monotonic() > deadline:
                failing = [
                    check for check, run in served.running.runtime.health_checks.items() if not await _passes(run)
                ]
                raise AssertionError(f"{name} is not SERVING; failing checks now: {failing}")
            await asyncio.sleep(0.1)


async def _passes(check: Any) -> bool:
    try:
        await asyncio.wait_for(check(), 5)
    except Exception:
        return False
    return True


def _request_values(method: MethodDescriptor, mesh: Mesh) -> st.SearchStrategy[Any]:
    single = messages(method.input_type, mesh.pools)
    return st.lists(single, max_size=3) if method.client_streaming else single


# --- the properties --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("service", "method"), METHODS, ids=IDS)
@fuzzing
@given(data=st.data())
async def test_no_request_breaks_a_service_or_leaks_private_data(
    mesh: Mesh, service: str, method: MethodDescriptor, data: st.DataObject
):
    request = data.draw(_request_values(method, mesh), label="request")
    await keep_signed_in(mesh)
    for caller, metadata in list(mesh.callers.items()):
        code, received = await call(mesh, service, method, request, metadata)
        check_answer(mesh, caller, code, received, path_of(method))
    odd = data.draw(odd_metadata(mesh), label="metadata")
    code, received = await call(mesh, service, method, request, odd)
    check_answer(mesh, "odd metadata", code, received, path_of(method))
    await check_serving(mesh)


def _admitted_caller(method: MethodDescriptor) -> str:
    """A caller the method's access rule admits, so that the request itself is what gets judged."""
    access = method_rule(path_of(method)).access
    callers: dict[int, str] = {
        access_pb2.ACCESS_PUBLIC: "anonymous",
        access_pb2.ACCESS_SELLER: "seller",
        access_pb2.ACCESS_ADMIN: "admin",
        access_pb2.ACCESS_INTERNAL: "service",
    }
    return callers.get(access, "buyer")


@pytest.mark.parametrize(("service", "method"), METHODS, ids=IDS)
@fuzzing
@given(data=st.data())
async def test_bytes_that_are_not_the_request_are_invalid_argument(
    mesh: Mesh, service: str, method: MethodDescriptor, data: st.DataObject
):
    body = data.draw(undecodable_bodies(method.input_type), label="body")
    try:
        request_class(method).FromString(body)
        decodes = True
    except DecodeError:
        decodes = False
    admitted = _admitted_caller(method)
    await keep_signed_in(mesh)
    request: Any = [body] if method.client_streaming else body
    for caller, metadata in list(mesh.callers.items()):
        code, received = await call(mesh, service, method, request, metadata, raw=True)
        check_answer(mesh, caller, code, received, path_of(method))
        if caller == admitted and not decodes:
            assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{path_of(method)} as {caller}: {code.name}"
            assert received[0] == f"request is not a valid {method.input_type.full_name}".encode()
    await check_serving(mesh)


def string_slots(message: Any, prefix: str = "") -> list[tuple[str, Callable[[str], None], str]]:
    """Every string value set in `message`, at any depth: (path, a setter, the value)."""
    slots: list[tuple[str, Callable[[str], None], str]] = []
    for item, value in message.ListFields():
        path = prefix + item.name
        if item.message_type is not None and item.message_type.GetOptions().map_entry:
            value_field = item.message_type.fields_by_name["value"]
            for key in list(value):
                entry = f'{path}["{key}"]' if isinstance(key, str) else f"{path}[{key}]"
                if value_field.type == FieldDescriptor.TYPE_STRING:
                    slots.append((entry, functools.partial(value.__setitem__, key), value[key]))
                elif value_field.message_type is not None:
                    slots.extend(string_slots(value[key], entry + "."))
        elif item.type == FieldDescriptor.TYPE_STRING:
            if item.is_repeated:
                slots.extend(
                    (f"{path}[{index}]", functools.partial(value.__setitem__, index), element)
                    for index, element in enumerate(value)
                )
            else:
                slots.append((path, functools.partial(setattr, message, item.name), value))
        elif item.message_type is not None:
            if item.is_repeated:
                for index, element in enumerate(value):
                    slots.extend(string_slots(element, f"{path}[{index}]."))
            else:
                slots.extend(string_slots(value, path + "."))
    return slots


@pytest.mark.parametrize(("service", "method"), METHODS, ids=IDS)
@fuzzing
@given(data=st.data())
async def test_a_nul_in_any_string_is_invalid_argument_naming_it(
    mesh: Mesh, service: str, method: MethodDescriptor, data: st.DataObject
):
    """Whatever else the request holds, a NUL in one of its strings is refused naming that field: the check
    runs before the handler, for every method (without it, a NUL reaching PostgreSQL answered INTERNAL)."""
    request = data.draw(messages(method.input_type, mesh.pools), label="request")
    slots = string_slots(request)
    top_level = [item for item in method.input_type.fields if item.type == FieldDescriptor.TYPE_STRING]
    if not slots and top_level:
        first = top_level[0]
        if not first.is_repeated:
            setattr(request, first.name, "x")
            slots = string_slots(request)
    if not slots or request.ByteSize() > NUL_PROPERTY_MAX_BYTES:
        return  # no string anywhere this request can carry; huge requests are the other property's
    path, set_value, value = data.draw(st.sampled_from(slots), label="poisoned field")
    cut = data.draw(st.integers(0, len(value)), label="where")
    set_value(value[:cut] + "\x00" + value[cut:])
    await keep_signed_in(mesh)
    caller = _admitted_caller(method)
    code, received = await call(
        mesh, service, method, [request] if method.client_streaming else request, mesh.callers[caller]
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{path_of(method)} with a NUL in {path}: {code.name} {received}"
    assert received[0] == b"invalid request", received[0]
    await check_serving(mesh)


# --- the victim's data, after everything else ---------------------------------------------------------------


async def test_the_victims_data_is_untouched(mesh: Mesh):
    state = mesh.victim_state
    auth = auth_pb2_grpc.AuthServiceStub(mesh.services["auth"].channel)
    me = await auth.GetMe(auth_pb2.GetMeRequest(), metadata=mesh.victim)
    assert me.user.email == state["email"]
    addresses = await auth.ListAddresses(auth_pb2.ListAddressesRequest(), metadata=mesh.victim)
    assert list(addresses.addresses) == [state["address"]]
    if "catalog" in mesh.services:
        catalog = catalog_pb2_grpc.CatalogServiceStub(mesh.services["catalog"].channel)
        mine = await catalog.ListMyProducts(catalog_pb2.ListMyProductsRequest(page_size=100), metadata=mesh.victim)
        assert {product.id: product.title for product in mine.products} == state["products"]
    if "cart" in mesh.services:
        carts = cart_pb2_grpc.CartServiceStub(mesh.services["cart"].channel)
        cart = await carts.GetCart(cart_pb2.GetCartRequest(), metadata=mesh.victim)
        assert [(line.variant_id, line.quantity) for line in cart.cart.lines] == state["cart"]
    if "order" in mesh.services:
        orders = order_pb2_grpc.OrderServiceStub(mesh.services["order"].channel)
        order_id, status, shipping_address = state["order"]
        found = (await orders.GetOrder(order_pb2.GetOrderRequest(id=order_id), metadata=mesh.victim)).order
        assert (found.status, found.shipping_address) == (status, shipping_address)
