"""An order of a marketplace: lines of several sellers, one fulfilment (parcel) per seller, and the state
machine of the contract. Standard library only: the order records its events, the unit of work publishes them.

    PENDING_PAYMENT ─pay─▶ PAID ─a seller ships─▶ PARTIALLY_SHIPPED ─all shipped─▶ SHIPPED ─all delivered─▶ DELIVERED
          │                 │
          └─cancel/expire─▶ CANCELLED ◀─cancel (before the first shipment)
                            └─(was paid) refund─▶ REFUNDED
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.kit.errors import FailedPrecondition, PermissionDenied

PENDING_PAYMENT = "PENDING_PAYMENT"
PAID = "PAID"
PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
SHIPPED = "SHIPPED"
DELIVERED = "DELIVERED"
CANCELLED = "CANCELLED"
REFUNDED = "REFUNDED"

# A fulfilment: one seller's part.
AWAITING_PAYMENT = "AWAITING_PAYMENT"
TO_SHIP = "TO_SHIP"
PART_SHIPPED = "SHIPPED"
PART_DELIVERED = "DELIVERED"
PART_CANCELLED = "CANCELLED"

BY_BUYER = "BUYER"
PAYMENT_EXPIRED = "PAYMENT_EXPIRED"
BY_REFUND = "REFUNDED"

# Statuses after which nothing changes any more (a paid cancelled order still waits for its refund).
FINAL = frozenset({DELIVERED, REFUNDED})


@dataclass(frozen=True)
class Address:
    recipient_name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country_code: str
    phone: str


@dataclass(frozen=True)
class OrderLine:
    """One variant of an order, as the catalog reserved it: price and details are a snapshot."""

    product_id: str
    variant_id: str
    seller_id: str
    sku: str
    title: str
    option_values: dict[str, str]
    unit_price: int
    currency: str
    quantity: int
    image_url: str

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Shipment:
    carrier: str
    tracking_number: str
    shipped_at: datetime
    delivered_at: datetime | None = None


@dataclass
class Fulfilment:
    """One seller's part of an order: the lines that seller ships, in one parcel."""

    seller_id: str
    status: str
    shipment: Shipment | None = None


# --- events -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderEvent:
    order: Order


@dataclass(frozen=True)
class Created(OrderEvent):
    pass


@dataclass(frozen=True)
class Paid(OrderEvent):
    pass


@dataclass(frozen=True)
class Cancelled(OrderEvent):
    was_paid: bool


@dataclass(frozen=True)
class PartShipped(OrderEvent):
    seller_id: str


@dataclass(frozen=True)
class PartDelivered(OrderEvent):
    seller_id: str


@dataclass(frozen=True)
class PaymentRefused:
    order: Order
    payment_id: str
    amount: int
    currency: str
    reason: str


@dataclass(frozen=True)
class Refunded(OrderEvent):
    pass


@dataclass(frozen=True)
class AddressChanged(OrderEvent):
    pass


# --- the order ----------------------------------------------------------------------------------------------------


def _refuse(message: str, reason: str, order: Order, **metadata: str) -> FailedPrecondition:
    return FailedPrecondition(
        message, reason=reason, metadata={"order_id": order.id, "status": order.status} | metadata
    )


@dataclass
class Order:
    id: str
    buyer_id: str
    request_id: str
    status: str
    currency: str
    lines: list[OrderLine]
    fulfilments: list[Fulfilment]
    address: Address
    reservation_id: str
    created_at: datetime
    updated_at: datetime
    payment_due_at: datetime
    payment_id: str = ""
    paid_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancellation_reason: str = ""
    cancellation_note: str = ""
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def place(
        cls,
        *,
        order_id: str,
        buyer_id: str,
        request_id: str,
        lines: Sequence[OrderLine],
        address: Address,
        reservation_id: str,
        now: datetime,
        payment_due_at: datetime,
    ) -> Order:
        """A new order, PENDING_PAYMENT, with one fulfilment per seller in the order of their first line."""
        if not lines:
            raise FailedPrecondition("the cart is empty", reason="CART_EMPTY")
        currencies = {line.currency for line in lines}
        if len(currencies) > 1:
            raise FailedPrecondition(
                "an order is paid in one currency; the cart mixes several",
                reason="MIXED_CURRENCIES",
                metadata={"currencies": ",".join(sorted(currencies))},
            )
        sellers = list(dict.fromkeys(line.seller_id for line in lines))
        order = cls(
            id=order_id,
            buyer_id=buyer_id,
            request_id=request_id,
            status=PENDING_PAYMENT,
            currency=lines[0].currency,
            lines=list(lines),
            fulfilments=[Fulfilment(seller, AWAITING_PAYMENT) for seller in sellers],
            address=address,
            reservation_id=reservation_id,
            created_at=now,
            updated_at=now,
            payment_due_at=payment_due_at,
        )
        order._record(Created(order))
        return order

    # --- reading

    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines)

    def lines_of(self, seller_id: str) -> list[OrderLine]:
        return [line for line in self.lines if line.seller_id == seller_id]

    def subtotal_of(self, seller_id: str) -> int:
        return sum(line.total for line in self.lines_of(seller_id))

    def fulfilment_of(self, seller_id: str) -> Fulfilment | None:
        for fulfilment in self.fulfilments:
            if fulfilment.seller_id == seller_id:
                return fulfilment
        return None

    def sells(self, seller_id: str) -> bool:
        return self.fulfilment_of(seller_id) is not None

    @property
    def was_paid(self) -> bool:
        return self.paid_at is not None

    @property
    def watch_ends(self) -> bool:
        """True once no further change can come: delivered, refunded, or cancelled without payment."""
        return self.status in FINAL or (self.status == CANCELLED and not self.was_paid)

    def payable(self, now: datetime) -> bool:
        return self.status == PENDING_PAYMENT and now < self.payment_due_at

    # --- changes

    def pay(self, payment_id: str, amount: int, currency: str, now: datetime) -> bool:
        """A payment succeeded. True when it paid the order; otherwise the payment is refused (to be refunded):
        the order was cancelled meanwhile or already paid by another payment. A repeat changes nothing."""
        if self.payment_id == payment_id and self.was_paid:
            return False
        if self.status != PENDING_PAYMENT:
            reason = "order cancelled" if self.status in (CANCELLED, REFUNDED) else "order already paid"
            self.events.append(PaymentRefused(self, payment_id, amount, currency, reason))
            return False
        if (amount, currency) != (self.total, self.currency):
            self.events.append(PaymentRefused(self, payment_id, amount, currency, "amount does not match the order"))
            return False
        self.status, self.payment_id, self.paid_at = PAID, payment_id, now
        for fulfilment in self.fulfilments:
            fulfilment.status = TO_SHIP
        self._record(Paid(self), now)
        return True

    def payment_failed(self, payment_id: str, now: datetime) -> None:
        """A declined payment leaves the order payable; it remembers the attempt as its latest payment."""
        if self.status == PENDING_PAYMENT and self.payment_id != payment_id:
            self.payment_id, self.updated_at = payment_id, now

    def cancel(self, reason: str, note: str, now: datetime) -> bool:
        """Before the first shipment only. True when cancelled now; False when it was cancelled already."""
        if self.status in (CANCELLED, REFUNDED):
            return False
        if self.status not in (PENDING_PAYMENT, PAID):
            raise _refuse("the order can no longer be cancelled", "ORDER_NOT_CANCELLABLE", self)
        self.status, self.cancelled_at = CANCELLED, now
        self.cancellation_reason, self.cancellation_note = reason, note
        for fulfilment in self.fulfilments:
            fulfilment.status = PART_CANCELLED
        self._record(Cancelled(self, was_paid=self.was_paid), now)
        return True

    def expire(self, now: datetime) -> bool:
        """An unpaid order past its deadline is cancelled; True when it was."""
        if self.status != PENDING_PAYMENT or now < self.payment_due_at:
            return False
        return self.cancel(PAYMENT_EXPIRED, "", now)

    def refunded(self, payment_id: str, now: datetime) -> bool:
        """The order's payment came back to the buyer: a cancelled paid order is REFUNDED; a paid order nothing
        has shipped of is cancelled first (an operator refunded it). A shipped order keeps its status (the
        refund is the payment's record). True when the order changed."""
        if not self.was_paid or payment_id != self.payment_id:
            return False
        if self.status == PAID:
            self.cancel(BY_REFUND, "", now)
        if self.status != CANCELLED:
            return False
        self.status = REFUNDED
        self._record(Refunded(self), now)
        return True

    def ship(self, seller_id: str, carrier: str, tracking_number: str, now: datetime) -> None:
        part = self._part(seller_id)
        if self.status in (PENDING_PAYMENT, CANCELLED, REFUNDED):
            raise _refuse("the order is not paid", "ORDER_NOT_PAID", self)
        if part.status != TO_SHIP:
            raise _refuse("this part has shipped already", "ORDER_ALREADY_SHIPPED", self, seller_id=seller_id)
        part.status, part.shipment = PART_SHIPPED, Shipment(carrier, tracking_number, now)
        shipped = all(f.status in (PART_SHIPPED, PART_DELIVERED) for f in self.fulfilments)
        self.status = SHIPPED if shipped else PARTIALLY_SHIPPED
        self._record(PartShipped(self, seller_id), now)

    def deliver(self, seller_id: str, now: datetime) -> bool:
        """True when the part became delivered now; False when it was delivered already."""
        part = self._part(seller_id)
        if part.status == PART_DELIVERED:
            return False
        if part.status != PART_SHIPPED or part.shipment is None:
            raise _refuse("this part has not shipped", "ORDER_NOT_SHIPPED", self, seller_id=seller_id)
        part.status, part.shipment = PART_DELIVERED, replace(part.shipment, delivered_at=now)
        if all(f.status == PART_DELIVERED for f in self.fulfilments):
            self.status = DELIVERED
        self._record(PartDelivered(self, seller_id), now)
        return True

    def change_address(self, address: Address, now: datetime) -> None:
        if self.status in (CANCELLED, REFUNDED):
            raise _refuse("the order is cancelled", "ORDER_CANCELLED", self)
        if any(f.status in (PART_SHIPPED, PART_DELIVERED) for f in self.fulfilments):
            raise _refuse("the order has shipped", "ORDER_ALREADY_SHIPPED", self)
        if address != self.address:
            self.address = address
            self._record(AddressChanged(self), now)

    def _part(self, seller_id: str) -> Fulfilment:
        part = self.fulfilment_of(seller_id)
        if part is None:
            raise PermissionDenied("not a seller of this order")
        return part

    def _record(self, event: Any, now: datetime | None = None) -> None:
        if now is not None:
            self.updated_at = now
        self.events.append(event)
