"""The payment service's definition: what the kit's server runs."""

from __future__ import annotations

from pathlib import Path

from marketplace.payment.v1 import payment_pb2, payment_pb2_grpc
from services.kit import clients
from services.kit.server import Runtime, ServiceDefinition
from services.payment.api import PaymentApi
from services.payment.consumers import order_events_consumer
from services.payment.domain import LOCAL, STRIPE
from services.payment.handlers.deps import Deps, StripeWebhook
from services.payment.orders import OrderClient
from services.payment.providers.local import LocalProvider
from services.payment.providers.port import Provider
from services.payment.providers.stripe import StripeProvider
from services.payment.settings import PaymentSettings


def providers_for(settings: PaymentSettings) -> dict[str, Provider]:
    """The local provider always (its payments stay confirmable); Stripe when it has a key."""
    providers: dict[str, Provider] = {LOCAL: LocalProvider()}
    if settings.stripe_configured:
        providers[STRIPE] = StripeProvider(
            settings.stripe_api_key,
            api_base=settings.stripe_api_base,
            timeout=settings.stripe_timeout_seconds,
            max_network_retries=settings.stripe_max_network_retries,
        )
    return providers


async def setup(runtime: Runtime) -> None:
    settings = runtime.settings
    if not isinstance(settings, PaymentSettings):
        raise TypeError("the payment service needs PaymentSettings")
    if runtime.sessions is None or runtime.reads is None or runtime.redis is None:
        raise RuntimeError("the payment service needs its database and Redis")
    # The order's internal GetOrderSummary takes a service token: payment's own, from auth.
    peers = clients.Peers(settings.auth_target, settings.service, settings.service_client_secret)
    runtime.on_close(peers.close)
    orders = peers.channel(settings.order_target)
    providers = providers_for(settings)

    async def close_providers() -> None:
        for provider in providers.values():
            await provider.close()

    runtime.on_close(close_providers)
    webhook = (
        StripeWebhook(settings.stripe_webhook_secret, settings.stripe_webhook_tolerance_seconds)
        if settings.stripe_webhook_secret
        else None
    )
    deps = Deps(
        sessions=runtime.sessions,
        reads=runtime.reads,
        orders=OrderClient(orders, timeout=settings.payment_order_timeout_seconds),
        providers=providers,
        provider=settings.payment_provider,
        stripe_webhook=webhook,
    )
    payment_pb2_grpc.add_PaymentServiceServicer_to_server(PaymentApi(deps), runtime.server)
    runtime.add_task("order-events", order_events_consumer(deps, runtime.redis, settings).run)


DEFINITION = ServiceDefinition(
    name="payment",
    settings_type=PaymentSettings,
    grpc_services=[payment_pb2.DESCRIPTOR.services_by_name["PaymentService"]],
    setup=setup,
    migrations=Path(__file__).resolve().parent / "migrations",
)
