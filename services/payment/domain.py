"""The payment's domain: one Payment per attempt to pay an order, its state machine, and when an order may be
paid. Standard library only.

    PENDING --succeed--> SUCCEEDED --refund--> REFUNDED
    PENDING --fail-----> FAILED
    PENDING --cancel---> CANCELLED

A provider that reports money taken is believed even for a payment this service had already given up
(FAILED or CANCELLED): the money moved, so the payment SUCCEEDED, and the order service refuses it
(OrderPaymentRefused) when the order can no longer take it, which refunds it. The payment records the events
of what happened in `events`; the unit of work writes them to the outbox in the same commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.kit.errors import FailedPrecondition, PermissionDenied

PENDING = "PENDING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
REFUNDED = "REFUNDED"
CANCELLED = "CANCELLED"
STATUSES = (PENDING, SUCCEEDED, FAILED, REFUNDED, CANCELLED)

LOCAL = "local"
STRIPE = "stripe"
PROVIDERS = (LOCAL, STRIPE)

CARD_DECLINED = "card_declined"

# What a provider says of its side of a payment.
PROVIDER_PENDING = "pending"  # waiting for the buyer, an action, or processing
PROVIDER_SUCCEEDED = "succeeded"
PROVIDER_CANCELED = "canceled"

# Order statuses as the order service names them.
ORDER_PENDING_PAYMENT = "PENDING_PAYMENT"
ORDER_PAID_OR_LATER = frozenset({"PAID", "PARTIALLY_SHIPPED", "SHIPPED", "DELIVERED"})


@dataclass(frozen=True)
class OrderSummary:
    """What paying an order needs to know of it (the order service's GetOrderSummary)."""

    order_id: str
    buyer_id: str
    status: str
    total_units: int
    currency: str
    payment_due: datetime | None


@dataclass(frozen=True)
class ProviderIntent:
    """The provider's side of a payment once started: its id, the secret the buyer's browser confirms it with
    (Stripe), and where it stands (PROVIDER_*)."""

    provider_payment_id: str
    client_secret: str
    state: str


def not_yours() -> PermissionDenied:
    """Another buyer's order or payment: refused without saying whether it exists."""
    return PermissionDenied("permission denied")


def ensure_payable(order: OrderSummary, buyer_id: str, now: datetime) -> None:
    """Refuses an order the caller may not pay now: someone else's, paid, cancelled, or past its deadline."""
    if order.buyer_id != buyer_id:
        raise not_yours()
    metadata = {"order_id": order.order_id, "order_status": order.status}
    if order.status in ORDER_PAID_OR_LATER:
        raise FailedPrecondition("the order is already paid", reason="ORDER_ALREADY_PAID", metadata=metadata)
    if order.status != ORDER_PENDING_PAYMENT:
        raise FailedPrecondition("the order cannot be paid", reason="ORDER_NOT_PAYABLE", metadata=metadata)
    if order.payment_due is not None and now >= order.payment_due:
        raise FailedPrecondition(
            "the order's time to pay has passed", reason="ORDER_NOT_PAYABLE", metadata=metadata | {"expired": "true"}
        )


# --- events -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Succeeded:
    payment_id: str
    order_id: str
    buyer_id: str
    amount_units: int
    currency: str
    provider: str


@dataclass(frozen=True)
class Failed:
    payment_id: str
    order_id: str
    buyer_id: str
    amount_units: int
    currency: str
    reason: str  # safe to show the buyer


@dataclass(frozen=True)
class Refunded:
    payment_id: str
    order_id: str
    buyer_id: str
    amount_units: int
    currency: str


def buyer_message(failure_code: str) -> str:
    """A failure code ("card_declined") as words safe to show the buyer ("card declined")."""
    return failure_code.replace("_", " ") if failure_code else "payment failed"


# --- the aggregate ------------------------------------------------------------------------------------------------


@dataclass
class Payment:
    id: str
    order_id: str
    buyer_id: str
    request_id: str
    amount_units: int
    currency: str
    provider: str
    created_at: datetime
    updated_at: datetime
    status: str = PENDING
    provider_payment_id: str = ""
    client_secret: str = ""
    failure_reason: str = ""
    refund_reason: str = ""
    succeeded_at: datetime | None = None
    refunded_at: datetime | None = None
    events: list[Any] = field(default_factory=list)

    @classmethod
    def start(cls, payment_id: str, order: OrderSummary, *, request_id: str, provider: str, now: datetime) -> Payment:
        """A new PENDING payment of the order's whole total."""
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}")
        return cls(
            id=payment_id,
            order_id=order.order_id,
            buyer_id=order.buyer_id,
            request_id=request_id,
            amount_units=order.total_units,
            currency=order.currency,
            provider=provider,
            created_at=now,
            updated_at=now,
        )

    def owned_by(self, user_id: str) -> bool:
        return self.buyer_id == user_id

    @property
    def started_with_provider(self) -> bool:
        """True once the provider knows the payment (always for the local provider)."""
        return self.provider == LOCAL or bool(self.provider_payment_id)

    def attach(self, intent: ProviderIntent, now: datetime) -> None:
        """Records the provider's side of the payment, then what it says of it."""
        self.provider_payment_id = intent.provider_payment_id
        self.client_secret = intent.client_secret
        self.updated_at = now
        self.apply_provider_state(intent.state, now)

    def _metadata(self) -> dict[str, str]:
        return {"payment_id": self.id, "status": self.status}

    def succeed(self, now: datetime, *, reported_by_provider: bool = False) -> bool:
        """PENDING -> SUCCEEDED with a Succeeded event; False (nothing changes) when already SUCCEEDED.

        `reported_by_provider`: the provider says the money was taken, which also settles a payment already
        FAILED or CANCELLED here (the order service refuses it if the order cannot take it any more).
        """
        if self.status == SUCCEEDED or (reported_by_provider and self.status == REFUNDED):
            return False  # a late report of what happened before the refund changes nothing
        if self.status != PENDING and not (reported_by_provider and self.status in (FAILED, CANCELLED)):
            raise FailedPrecondition(
                "the payment is not pending", reason="PAYMENT_NOT_PENDING", metadata=self._metadata()
            )
        self.status = SUCCEEDED
        self.failure_reason = ""
        self.succeeded_at = self.updated_at = now
        self.events.append(
            Succeeded(self.id, self.order_id, self.buyer_id, self.amount_units, self.currency, self.provider)
        )
        return True

    def fail(self, failure_code: str, now: datetime, *, reported_by_provider: bool = False) -> bool:
        """PENDING -> FAILED with a Failed event; False when already FAILED.

        `reported_by_provider`: a late or out-of-order report about a payment that is no longer PENDING changes
        nothing (returns False) instead of being refused.
        """
        if self.status == FAILED:
            return False
        if self.status != PENDING:
            if reported_by_provider:
                return False
            raise FailedPrecondition(
                "the payment is not pending", reason="PAYMENT_NOT_PENDING", metadata=self._metadata()
            )
        self.status = FAILED
        self.failure_reason = failure_code
        self.updated_at = now
        self.events.append(
            Failed(self.id, self.order_id, self.buyer_id, self.amount_units, self.currency, buyer_message(failure_code))
        )
        return True

    def cancel(self, now: datetime) -> bool:
        """PENDING -> CANCELLED (its order was cancelled); False when it is not PENDING (nothing to abandon)."""
        if self.status != PENDING:
            return False
        self.status = CANCELLED
        self.updated_at = now
        return True

    def ensure_refundable(self) -> None:
        """Refuses a refund of a payment that was never taken (or was returned already)."""
        if self.status != SUCCEEDED:
            raise FailedPrecondition(
                "only a succeeded payment can be refunded", reason="PAYMENT_NOT_SUCCEEDED", metadata=self._metadata()
            )

    def refund(self, reason: str, now: datetime) -> bool:
        """SUCCEEDED -> REFUNDED with a Refunded event; False when already REFUNDED."""
        if self.status == REFUNDED:
            return False
        self.ensure_refundable()
        self.status = REFUNDED
        self.refund_reason = reason
        self.refunded_at = self.updated_at = now
        self.events.append(Refunded(self.id, self.order_id, self.buyer_id, self.amount_units, self.currency))
        return True

    def apply_provider_state(self, state: str, now: datetime) -> bool:
        """What the provider says of its side: succeeded or canceled settle the payment; pending changes nothing."""
        if state == PROVIDER_SUCCEEDED:
            return self.succeed(now, reported_by_provider=True)
        if state == PROVIDER_CANCELED:
            return self.cancel(now)
        return False
