"""The real payment service, with the real auth service, a test double of the order service and (for Stripe)
the local Stripe stand-in, on free ports against fresh databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import grpc
import pytest
from google.protobuf import symbol_database
from google.protobuf.message import Message

from marketplace.common.v1 import money_pb2
from marketplace.events.v1 import envelope_pb2
from marketplace.order.v1 import order_pb2, order_pb2_grpc
from marketplace.payment.v1 import payment_pb2_grpc
from services.kit.errors import NotFound
from services.kit.outbox import make_envelope
from services.kit.principal import current_principal
from services.kit.server import RunningService, Runtime, ServiceDefinition
from services.kit.settings import ServiceSettings
from services.payment.service import DEFINITION
from services.payment.settings import PaymentSettings
from tests.stubs.stripe import StripeStub
from tests.support.auth import Auth, StartAuth, bearer, service_secret, start_auth
from tests.support.serving import migrate_service, serving, settings_under_test
from tests.support.sql import run_sql

__all__ = ["OrderServiceDouble", "PaymentService", "StartPayment", "payment", "start_auth", "start_payment"]

WEBHOOK_SECRET = "whsec_test_secret"
Metadata = tuple[tuple[str, str], ...]


# --- a test double of the order service ----------------------------------------------------------------------------


class OrderDoubleSettings(ServiceSettings):
    service: ClassVar[str] = "order"


@dataclass
class OrderServiceDouble:
    """TEST DOUBLE of the order service: only the internal GetOrderSummary, answered from `orders`, which the test
    fills. Served by the kit like every service, so the contract's access rule (service tokens only) is enforced
    for real. To be replaced by the real order service when both are integrated."""

    orders: dict[str, order_pb2.GetOrderSummaryResponse] = field(default_factory=dict)
    callers: list[str] = field(default_factory=list)  # the subject of each GetOrderSummary call's token

    def add(
        self,
        buyer_id: str,
        *,
        status: int = order_pb2.ORDER_STATUS_PENDING_PAYMENT,
        units: int = 4999,
        currency: str = "USD",
        due: datetime | None = None,
    ) -> str:
        """A new order of `buyer_id`; its id. Payable for an hour unless `due` says otherwise."""
        order_id = str(uuid.uuid4())
        summary = order_pb2.GetOrderSummaryResponse(
            id=order_id,
            buyer_id=buyer_id,
            status=status,  # type: ignore[arg-type]
            total=money_pb2.Money(currency_code=currency, units=units),
        )
        summary.payment_due_time.FromDatetime(due or datetime.now(UTC) + timedelta(hours=1))
        self.orders[order_id] = summary
        return order_id

    def set_status(self, order_id: str, status: int) -> None:
        self.orders[order_id].status = status  # type: ignore[assignment]

    def servicer(self) -> order_pb2_grpc.OrderServiceServicer:
        double = self

        class Servicer(order_pb2_grpc.OrderServiceServicer):  # type: ignore[misc]
            async def GetOrderSummary(
                self, request: order_pb2.GetOrderSummaryRequest, context: Any
            ) -> order_pb2.GetOrderSummaryResponse:
                double.callers.append(current_principal().subject)
                found = double.orders.get(request.id)
                if found is None:
                    raise NotFound("order not found")
                return found

        return Servicer()

    def definition(self) -> ServiceDefinition:
        async def setup(runtime: Runtime) -> None:
            order_pb2_grpc.add_OrderServiceServicer_to_server(self.servicer(), runtime.server)

        return ServiceDefinition(
            name="order",
            settings_type=OrderDoubleSettings,
            grpc_services=[order_pb2.DESCRIPTOR.services_by_name["OrderService"]],
            setup=setup,
            uses_redis=False,
            uses_database=False,
            publishes_events=False,
        )


async def serve_order_double(
    stack: AsyncExitStack, infra: Any, auth_target: str
) -> tuple[OrderServiceDouble, RunningService, grpc.aio.Channel]:
    """The order service's test double, served until `stack` closes."""
    orders = OrderServiceDouble()
    settings = settings_under_test(
        OrderDoubleSettings, infra.database_url, infra.redis_url, "", auth_target=auth_target
    )
    running, channel = await stack.enter_async_context(serving(orders.definition(), settings))
    return orders, running, channel


def payment_settings(
    database_url: str, redis_url: str, url: str, auth_target: str, order_target: str, **overrides: Any
) -> PaymentSettings:
    values: dict[str, Any] = {
        "auth_target": auth_target,
        "order_target": order_target,
        "service_client_secret": service_secret("payment"),
        # Each test consumes its own order stream: another test's events never reach it.
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
    orders: OrderServiceDouble
    stripe: StripeStub | None

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
        found = []
        for (raw,) in await self.sql("SELECT envelope FROM outbox ORDER BY position"):
            envelope = envelope_pb2.Envelope.FromString(raw)
            payload = symbol_database.Default().GetSymbol(envelope.type)()
            envelope.payload.Unpack(payload)
            found.append((envelope.type.rsplit(".", 1)[-1], payload))
        return found

    async def publish(
        self, payload: Message, *, envelope: envelope_pb2.Envelope | None = None
    ) -> envelope_pb2.Envelope:
        """Adds an order event to the stream payment consumes (the same envelope again when given)."""
        redis = self.running.runtime.redis
        assert redis is not None
        envelope = envelope or make_envelope("order", getattr(payload, "order_id", ""), payload)
        await redis.xadd(self.settings.payment_order_events_stream, {"envelope": envelope.SerializeToString()})
        return envelope


StartPayment = Callable[..., Awaitable[PaymentService]]


@pytest.fixture
def stripe_stub() -> Iterator[StripeStub]:
    with StripeStub() as stub:
        yield stub


@pytest.fixture
async def start_payment(
    infra: Any, fresh_database: Any, start_auth: StartAuth, stripe_stub: StripeStub
) -> AsyncIterator[StartPayment]:
    """`payment = await start_payment(stripe=False, **setting_overrides)`: auth, the order double, a migrated
    payment database and the service; with `stripe=True` new payments go to the Stripe stand-in and webhooks
    are verified with WEBHOOK_SECRET."""
    async with AsyncExitStack() as stack:

        async def start(*, stripe: bool = False, **overrides: Any) -> PaymentService:
            auth = await start_auth()
            orders, order_running, _ = await serve_order_double(stack, infra, auth.running.address)
            url = overrides.pop("service_database_url", None) or await fresh_database("payment")
            await migrate_service(DEFINITION, url)
            values: dict[str, Any] = {}
            if stripe:
                values = {
                    "payment_provider": "stripe",
                    "stripe_api_key": stripe_stub.api_key,
                    "stripe_api_base": stripe_stub.base_url,
                    "stripe_webhook_secret": WEBHOOK_SECRET,
                    "stripe_max_network_retries": 0,
                }
            settings = payment_settings(
                infra.database_url,
                infra.redis_url,
                url,
                auth.running.address,
                order_running.address,
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
