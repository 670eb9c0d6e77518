"""What a checkout run must leave behind once the saga settled, checked on what the service databases and Redis
hold (a `Snapshot`, read by bench/chaos.py). Pure: no I/O here, so the rules are tested on their own
(tests/bench/test_saga_checks.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# An order in one of these states was paid and still is (a later state of a paid order).
PAID_STATES = frozenset({"PAID", "PARTIALLY_SHIPPED", "SHIPPED", "DELIVERED"})
RELEASED_STATES = frozenset({"RELEASED", "EXPIRED"})

# Who must have handled each event type (consumer groups, each recording the event in its service's inbox).
EXPECTED_HANDLERS: Mapping[str, tuple[str, ...]] = {
    "OrderPaid": ("catalog", "cart"),
    "OrderCancelled": ("catalog", "payment"),
    "OrderPaymentRefused": ("payment",),
    "PaymentSucceeded": ("order",),
    "PaymentFailed": ("order",),
    "PaymentRefunded": ("order",),
}


@dataclass(frozen=True)
class OrderRow:
    buyer_id: str
    status: str
    payment_id: str
    reservation_id: str


@dataclass(frozen=True)
class PaymentRow:
    id: str
    order_id: str
    status: str


@dataclass(frozen=True)
class Event:
    """One outbox row of a producer."""

    id: str
    producer: str
    kind: str  # the payload type's short name, e.g. OrderPaid
    subject: str
    published: bool


@dataclass(frozen=True)
class Counts:
    """What the buyers did: checkouts begun, paid to the end, declined on purpose (order cancelled), failed."""

    attempted: int
    completed: int
    declined: int
    failures: Sequence[str] = ()


@dataclass
class Snapshot:
    orders: dict[str, OrderRow] = field(default_factory=dict)
    lines: list[tuple[str, str, int]] = field(default_factory=list)  # (order id, variant id, quantity)
    payments: list[PaymentRow] = field(default_factory=list)
    variants: dict[str, tuple[int, int]] = field(default_factory=dict)  # variant id -> (stock, reserved)
    reservations: dict[str, str] = field(default_factory=dict)  # reservation id -> status
    cart_units: dict[str, int] = field(default_factory=dict)  # buyer id -> units in the cart
    events: list[Event] = field(default_factory=list)
    handled: dict[str, set[str]] = field(default_factory=dict)  # consumer group -> event ids in its inbox
    on_streams: set[str] = field(default_factory=set)  # ids of the envelopes Redis holds on the event streams
    dead_letters: list[str] = field(default_factory=list)  # one description per dead-lettered event


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def _some(values: Sequence[str] | set[str], limit: int = 5) -> str:
    ordered = sorted(values)
    more = f" and {len(ordered) - limit} more" if len(ordered) > limit else ""
    return ", ".join(ordered[:limit]) + more


def evaluate(snapshot: Snapshot, counts: Counts, initial_stock: int) -> list[Check]:
    """Every check, in the order they are printed; each names its numbers."""
    orders = snapshot.orders
    succeeded = [payment for payment in snapshot.payments if payment.status == "SUCCEEDED"]
    refunded = [payment for payment in snapshot.payments if payment.status == "REFUNDED"]
    charges = Counter(payment.order_id for payment in succeeded)
    paid = {order_id for order_id, order in orders.items() if order.status in PAID_STATES}
    announced = Counter(event.subject for event in snapshot.events if event.kind == "OrderPaid")
    checks: list[Check] = []

    ended = counts.completed + counts.declined + len(counts.failures)
    checks.append(
        Check(
            "every checkout ended as planned",
            not counts.failures and ended == counts.attempted,
            f"{counts.attempted} attempted: {counts.completed} completed (PAID seen, cart emptied), "
            f"{counts.declined} failed by design (payment declined, order cancelled), {len(counts.failures)} failed"
            + (f" (first: {counts.failures[0]})" if counts.failures else ""),
        )
    )

    # Every succeeded payment's order is paid by that payment, and announced (OrderPaid) exactly once.
    not_paid = sorted(p.order_id for p in succeeded if p.order_id not in paid)
    other_payment = sorted(
        p.order_id for p in succeeded if p.order_id in paid and orders[p.order_id].payment_id != p.id
    )
    twice = sorted(order_id for order_id, times in announced.items() if times > 1)
    unannounced = sorted(paid - set(announced))
    wrong_orders = not_paid + other_payment + twice + unannounced
    checks.append(
        Check(
            "every order whose payment succeeded is paid, exactly once",
            not wrong_orders,
            f"{len(charges)} orders with a succeeded payment, {len(paid)} paid, {sum(announced.values())} OrderPaid "
            f"events; not paid {len(not_paid)}, paid by another payment {len(other_payment)}, announced twice "
            f"{len(twice)}, paid but never announced {len(unannounced)}"
            + (f" ({_some(wrong_orders)})" if wrong_orders else ""),
        )
    )

    doubled = sorted(order_id for order_id, times in charges.items() if times > 1)
    uncharged = sorted(paid - set(charges))
    checks.append(
        Check(
            "exactly one succeeded charge per paid order",
            not (doubled or uncharged or refunded),
            f"{len(succeeded)} succeeded payments for {len(paid)} paid orders; charged twice {len(doubled)}, "
            f"refunded {len(refunded)} (a second charge given back), "
            f"{Counter(payment.status for payment in snapshot.payments).most_common()} payments by status",
        )
    )

    charged_by = {payment.id: payment.order_id for payment in succeeded}
    unpaid_paid = sorted(order_id for order_id in paid if charged_by.get(orders[order_id].payment_id) != order_id)
    checks.append(
        Check(
            "no order paid without a succeeded payment",
            not unpaid_paid,
            f"{len(paid)} paid orders, {len(unpaid_paid)} without a succeeded payment of their own"
            + (f" ({_some(unpaid_paid)})" if unpaid_paid else ""),
        )
    )

    # Stock per variant: what the catalog sold is what the paid orders bought; what it holds, the unpaid ones.
    sold_per: Counter[str] = Counter()
    held_per: Counter[str] = Counter()
    for order_id, variant_id, quantity in snapshot.lines:
        status = orders[order_id].status if order_id in orders else ""
        if status in PAID_STATES:
            sold_per[variant_id] += quantity
        elif status == "PENDING_PAYMENT":
            held_per[variant_id] += quantity
    wrong = sorted(
        variant_id
        for variant_id, (stock, reserved) in snapshot.variants.items()
        if initial_stock - stock != sold_per[variant_id]
        or reserved != held_per[variant_id]
        or stock < 0
        or reserved < 0
    )
    unknown = sorted((set(sold_per) | set(held_per)) - set(snapshot.variants))
    sold = sum(initial_stock - stock for stock, _ in snapshot.variants.values())
    reserved = sum(reserved for _, reserved in snapshot.variants.values())
    checks.append(
        Check(
            "catalog stock consistent",
            not wrong and not unknown,
            f"{len(snapshot.variants)} variants: {sold} units sold = {sum(sold_per.values())} units of paid orders, "
            f"{reserved} reserved = {sum(held_per.values())} units of unpaid orders, lowest stock "
            f"{min((stock for stock, _ in snapshot.variants.values()), default=0)}; {len(wrong)} variants off"
            + (f" ({_some(wrong)})" if wrong else "")
            + (f", {len(unknown)} ordered variants unknown" if unknown else ""),
        )
    )

    by_state: dict[str, Counter[str]] = {}
    for order in orders.values():
        kind = "paid" if order.status in PAID_STATES else order.status.lower()
        by_state.setdefault(kind, Counter())[snapshot.reservations.get(order.reservation_id, "MISSING")] += 1
    expected: dict[str, frozenset[str]] = {
        "paid": frozenset({"COMMITTED"}),
        "cancelled": RELEASED_STATES,
        "pending_payment": frozenset({"HELD"}),
        "refunded": frozenset({"RETURNED"}),
    }
    misplaced = {
        kind: {status: n for status, n in found.items() if status not in expected.get(kind, frozenset())}
        for kind, found in by_state.items()
    }
    misplaced = {kind: found for kind, found in misplaced.items() if found}
    checks.append(
        Check(
            "reservations settled with their orders (paid: committed; cancelled: released)",
            not misplaced,
            "; ".join(f"{kind} orders {dict(found)}" for kind, found in sorted(by_state.items()))
            + (f"; wrong: {misplaced}" if misplaced else ""),
        )
    )

    cart_handled = snapshot.handled.get("cart", set())
    paid_events = [e for e in snapshot.events if e.kind == "OrderPaid" and e.subject in paid]
    not_dropped = sorted(e.subject for e in paid_events if e.id not in cart_handled)
    left = {buyer: units for buyer, units in snapshot.cart_units.items() if units}
    checks.append(
        Check(
            "carts of paid orders no longer hold the purchased units",
            not not_dropped and not left,
            f"{len(paid_events) - len(not_dropped)} of {len(paid_events)} OrderPaid handled by the cart; "
            f"{sum(left.values())} units left in {len(left)} of {len(snapshot.cart_units)} buyers' carts",
        )
    )

    missing: list[str] = []
    handled_counts: list[str] = []
    for kind, groups in EXPECTED_HANDLERS.items():
        written = [event.id for event in snapshot.events if event.kind == kind]
        if not written:
            continue
        for group in groups:
            lacking = [event_id for event_id in written if event_id not in snapshot.handled.get(group, set())]
            handled_counts.append(f"{kind} → {group} {len(written) - len(lacking)}/{len(written)}")
            missing += [f"{kind} {event_id} → {group}" for event_id in lacking]
    checks.append(
        Check(
            "every event handled by each of its consumers",
            not missing,
            ", ".join(handled_counts) + (f"; missing: {_some(missing)}" if missing else ""),
        )
    )

    unpublished = Counter(event.producer for event in snapshot.events if not event.published)
    checks.append(
        Check(
            "every outbox row published",
            not unpublished,
            f"{len(snapshot.events)} events written, unpublished: {dict(unpublished) or 'none'}",
        )
    )

    lost = sorted(
        f"{e.producer} {e.kind} {e.id}" for e in snapshot.events if e.published and e.id not in snapshot.on_streams
    )
    checks.append(
        Check(
            "Redis kept every published event (on its stream after the restart)",
            not lost,
            f"{len(snapshot.events) - len(lost)} of {len(snapshot.events)} published events on the streams"
            + (f"; lost: {_some(lost)}" if lost else ""),
        )
    )

    checks.append(
        Check(
            "no events in the dead-letter streams",
            not snapshot.dead_letters,
            f"{len(snapshot.dead_letters)} dead letters"
            + (f": {_some(snapshot.dead_letters)}" if snapshot.dead_letters else ""),
        )
    )
    return checks


def settled(checks: Sequence[Check]) -> bool:
    return all(check.ok for check in checks)
