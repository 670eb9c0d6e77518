"""The real payment service in the real mesh it works in: auth, the catalog, the cart and the order service (whose
real orders it is paid for, and whose real events on `events.order` it consumes), on free ports against fresh
databases; for Stripe, the local Stripe stand-in."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf import symbol_database
from google.protobuf.message import Message

from marketplace.cart.v1 import cart_pb2
from marketplace.events.v1 import envelope_pb2
from marketplace.order.v1 import order_pb2
from marketplace.payment.v1 import payment_pb2, payment_pb2_grpc
from services.cart.service import DEFINITION as CART
from services.kit.bus import ENVELOPE_FIELD
from services.kit.outbox import make_envelope, stream_for
from services.kit.server import RunningService, ServiceDefinition
from services.order.service import DEFINITION as ORDER
from services.payment.service import DEFINITION
from services.payment.settings import PaymentSettings
from tests.cart.conftest import StartCart
from tests.catalog.conftest import StartCatalog
from tests.order.conftest import OrderService, StartOrder, start_auth, start_cart, start_catalog, start_order
from tests.order.support import create as create_order
from tests.stubs.stripe import StripeStub
from tests.support.auth import Auth, bearer, service_secret
from tests.support.events import outbox_events
from tests.support.polling import eventually
from tests.support.serving import migrate_service, serving, settings_under_test
from tests.support.sql import run_sql

__all__ = [
    "PaymentService",
    "StartPayment",
    "payment",
    "start_auth",
    "start_cart",
    "start_catalog",
    "start_order",
    "start_payment",
]

WEBHOOK_SECRET = "whsec_test_secret"
Metadata = tuple[tuple[str, str]]


def payment_settings(
    database_url: str, redis_url: str, url: str, auth_target: str, order_target: str, **overrides: Any
) -> PaymentSettings:
    values: dict[str, Any] = {
        "auth_target": auth_target,
        "order_target": order_target,
        "service_client_secret": service_secret("payment"),
        # Each test consumes its own order stream unless it says otherwise: another test's events never reach it.
        "payment_order_events_stream": f"events.order.test-{uuid.uuid4().hex[:8]}",
    }
    return settings_under_test(PaymentSettings, database_url, redis_url, url, **(values | overrides))


# --- the payment service -------------------------------------------------------------------------------------------


@dataclass
class PaymentService:
    running: RunningService
    channel: grpc.aio.Channel
    stub: payment_pb2_grpc.PaymentServiceStub
    settings: PaymentSettings
    auth: Auth
    order: OrderService
    stripe: StripeStub | None
    sellers: list[Metadata] = field(default_factory=list)  # made when an order first needs them

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        return await run_sql(self.running.runtime.sessions, statement, **params)

    async def buyer(self) -> tuple[Metadata, str]:
        token, user_id = await self.auth.user_token()
        return bearer(token), user_id

    async def admin(self) -> Metadata:
        token, _ = await self.auth.admin()
        return bearer(token)

    async def events(self) -> list[tuple[str, Any]]:
        """Every event in payment's outbox, oldest first: (type, unpacked payload)."""
        return await outbox_events(self.running.runtime.sessions)

    # --- orders, through the real cart and order services

    async def seller(self, index: int = 0) -> Metadata:
        """The stack's `index`-th seller (made on first use)."""
        while len(self.sellers) <= index:
            metadata, _ = await self.order.cart.catalog.seller()
            self.sellers.append(metadata)
        return self.sellers[index]

    async def place(
        self, buyer: Metadata, *, units: int = 4999, currency: str = "USD", sellers: int = 1
    ) -> order_pb2.Order:
        """A real order of `buyer`, PENDING_PAYMENT: one new product at `units` from each of `sellers` sellers
        (the total is `units` × `sellers`), in an emptied cart, then CreateOrder."""
        catalog, cart = self.order.cart.catalog, self.order.cart
        await cart.stub.ClearCart(cart_pb2.ClearCartRequest(), metadata=buyer)
        for index in range(sellers):
            product = await catalog.create(await self.seller(index), price=units, currency=currency)
            await cart.stub.AddCartItem(cart_pb2.AddCartItemRequest(product_id=product.id, quantity=1), metadata=buyer)
        placed: order_pb2.Order = (await self.order.stub.CreateOrder(create_order(), metadata=buyer)).order
        assert placed.status == order_pb2.ORDER_STATUS_PENDING_PAYMENT
        return placed

    async def get_order(self, order_id: str, who: Metadata) -> order_pb2.Order:
        found: order_pb2.Order = (
            await self.order.stub.GetOrder(order_pb2.GetOrderRequest(id=order_id), metadata=who)
        ).order
        return found

    async def order_becomes(self, order_id: str, who: Metadata, status: int, timeout: float = 15.0) -> None:
        async def reached() -> bool:
            return (await self.get_order(order_id, who)).status == status

        name = order_pb2.OrderStatus.Name(status)  # type: ignore[arg-type]
        await eventually(reached, timeout=timeout, message=f"the order never became {name}")

    async def cancel_order(self, order_id: str, who: Metadata) -> order_pb2.Order:
        cancelled: order_pb2.Order = (
            await self.order.stub.CancelOrder(order_pb2.CancelOrderRequest(id=order_id), metadata=who)
        ).order
        return cancelled

    async def pay(self, order_id: str, buyer: Metadata) -> payment_pb2.Payment:
        """Pays the order with the local provider; returns once the order service took the payment (PAID)."""
        created = await self.stub.CreatePayment(
            payment_pb2.CreatePaymentRequest(order_id=order_id, request_id=str(uuid.uuid4())), metadata=buyer
        )
        confirmed = await self.stub.ConfirmPayment(
            payment_pb2.ConfirmPaymentRequest(id=created.payment.id, outcome=payment_pb2.LOCAL_OUTCOME_APPROVE),
            metadata=buyer,
        )
        assert confirmed.payment.status == payment_pb2.PAYMENT_STATUS_SUCCEEDED
        await self.order_becomes(order_id, buyer, order_pb2.ORDER_STATUS_PAID)
        paid: payment_pb2.Payment = confirmed.payment
        return paid

    async def ship(self, order_id: str, sellers: int, *, deliver: bool = False) -> order_pb2.Order:
        """The first `sellers` sellers ship their part of the order (and mark it delivered)."""
        changed = order_pb2.Order()
        for index in range(sellers):
            seller = await self.seller(index)
            request = order_pb2.ShipOrderRequest(id=order_id, carrier="DHL", tracking_number=f"TRACK-{index}")
            changed = (await self.order.stub.ShipOrder(request, metadata=seller)).order
            if deliver:
                delivered = order_pb2.MarkDeliveredRequest(id=order_id)
                changed = (await self.order.stub.MarkDelivered(delivered, metadata=seller)).order
        return changed

    # --- order events

    async def order_event(self, order_id: str, kind: str) -> envelope_pb2.Envelope:
        """The envelope of the order service's `kind` event (e.g. "OrderCancelled") about the order, as it was
        published to `events.order`."""

        async def found() -> bool:
            return await self._order_envelope(order_id, kind) is not None

        await eventually(found, message=f"the order service published no {kind} of the order")
        envelope = await self._order_envelope(order_id, kind)
        assert envelope is not None
        return envelope

    async def _order_envelope(self, order_id: str, kind: str) -> envelope_pb2.Envelope | None:
        rows = await self.order.sql(
            "SELECT envelope FROM outbox WHERE subject = :subject AND published_at IS NOT NULL ORDER BY position",
            subject=order_id,
        )
        for (raw,) in rows:
            envelope = envelope_pb2.Envelope.FromString(raw)
            if envelope.type.rsplit(".", 1)[-1] == kind:
                return envelope
        return None

    async def publish(
        self, payload: Message, *, envelope: envelope_pb2.Envelope | None = None
    ) -> envelope_pb2.Envelope:
        """Adds an order event to the stream payment consumes, as the order service's relay would (the same
        envelope again when given: a redelivery)."""
        redis = self.running.runtime.redis
        assert redis is not None
        envelope = envelope or make_envelope("order", getattr(payload, "order_id", ""), payload)
        await redis.xadd(self.settings.payment_order_events_stream, {ENVELOPE_FIELD: envelope.SerializeToString()})
        return envelope

    async def redeliver(self, envelope: envelope_pb2.Envelope) -> None:
        """The same envelope on the stream again."""
        payload = symbol_database.Default().GetSymbol(envelope.type)()
        envelope.payload.Unpack(payload)
        await self.publish(payload, envelope=envelope)

    async def handled(self, *event_ids: str) -> list[str]:
        """Waits until payment's consumer handled each of these events; their ids in the order it handled them."""
        wanted = set(event_ids)

        async def rows() -> list[str]:
            found = await self.sql(
                "SELECT event_id FROM inbox WHERE consumer_group = :group ORDER BY handled_at",
                group=self.settings.payment_order_events_group,
            )
            return [str(row[0]) for row in found if str(row[0]) in wanted]

        async def done() -> bool:
            return set(await rows()) == wanted

        await eventually(done, timeout=15.0, message=f"payment's consumer did not handle {sorted(wanted)}")
        return await rows()


StartPayment = Callable[..., Awaitable[PaymentService]]


@pytest.fixture
def stripe_stub() -> Iterator[StripeStub]:
    with StripeStub() as stub:
        yield stub


@pytest.fixture
async def start_payment(
    infra: Any,
    fresh_database: Any,
    start_catalog: StartCatalog,
    start_cart: StartCart,
    start_order: StartOrder,
    stripe_stub: StripeStub,
) -> AsyncIterator[StartPayment]:
    """`payment = await start_payment(stripe=False, order={...}, **setting_overrides)`: auth, the catalog, the
    cart, the order service (`order`: its setting overrides), a migrated payment database and the service, which
    consumes the order service's real `events.order`. With `stripe=True` new payments go to the Stripe stand-in
    and webhooks are verified with WEBHOOK_SECRET."""

    async def migrated(definition: ServiceDefinition) -> str:
        url: str = await fresh_database(definition.name)
        await migrate_service(definition, url)
        return url

    async with AsyncExitStack() as stack:

        async def start(
            *, stripe: bool = False, order: dict[str, Any] | None = None, **overrides: Any
        ) -> PaymentService:
            # The other databases are made while auth and the catalog start; then the services that call them.
            # The catalog and the payment service take the order's real events, as in a running mesh.
            catalog, cart_url, order_url, url = await asyncio.gather(
                start_catalog(catalog_order_events_stream=stream_for("order")),
                migrated(CART),
                migrated(ORDER),
                migrated(DEFINITION),
            )
            cart = await start_cart(catalog, service_database_url=cart_url)
            orders = await start_order(cart, service_database_url=order_url, **(order or {}))
            auth = catalog.auth
            given_url = overrides.pop("service_database_url", None)
            if given_url:
                await migrate_service(DEFINITION, given_url)
            values: dict[str, Any] = {"payment_order_events_stream": stream_for("order")}
            if stripe:
                values |= {
                    "payment_provider": "stripe",
                    "stripe_api_key": stripe_stub.api_key,
                    "stripe_api_base": stripe_stub.base_url,
                    "stripe_webhook_secret": WEBHOOK_SECRET,
                    "stripe_max_network_retries": 0,
                }
            settings = payment_settings(
                infra.database_url,
                infra.redis_url,
                given_url or url,
                auth.running.address,
                orders.running.address,
                **(values | overrides),
            )
            running, channel = await stack.enter_async_context(serving(DEFINITION, settings))
            return PaymentService(
                running,
                channel,
                payment_pb2_grpc.PaymentServiceStub(channel),
                settings,
                auth,
                orders,
                stripe_stub if stripe else None,
            )

        yield start


@pytest.fixture
async def payment(start_payment: StartPayment) -> PaymentService:
    return await start_payment()
