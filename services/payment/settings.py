"""Payment settings from the environment (see `.env.example`)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from services.kit.settings import ServiceSettings


class PaymentSettings(ServiceSettings):
    """The kit's service settings, and these."""

    service: ClassVar[str] = "payment"

    # Where payment reaches the order service (the launcher sets it from ORDER_PORT).
    order_target: str = "127.0.0.1:50054"
    # The deadline of each call to the order service.
    payment_order_timeout_seconds: float = 5.0
    # The order events payment consumes, and its consumer group.
    payment_order_events_stream: str = "events.order"
    payment_order_events_group: str = "payment"

    # Who processes new payments: "local" (no account; ConfirmPayment decides) or "stripe".
    payment_provider: Literal["local", "stripe"] = "local"
    # Stripe's secret API key and webhook signing secret: from the environment only, never in the repository.
    stripe_api_key: str = ""
    stripe_webhook_secret: str = ""
    # Empty: Stripe's own API. Tests point it at a local stand-in ("http://127.0.0.1:PORT").
    stripe_api_base: str = ""
    # The deadline of each call to Stripe, and how often the SDK retries a failed one (with the same
    # idempotency key).
    stripe_timeout_seconds: float = 20.0
    stripe_max_network_retries: int = 2
    # Webhook signatures older than this are refused.
    stripe_webhook_tolerance_seconds: int = 300

    @model_validator(mode="after")
    def _stripe_needs_a_key(self) -> PaymentSettings:
        if self.payment_provider == "stripe" and not self.stripe_api_key:
            raise ValueError("PAYMENT_PROVIDER=stripe needs STRIPE_API_KEY")
        return self

    @property
    def stripe_configured(self) -> bool:
        return bool(self.stripe_api_key)
