"""The chaos run's checks (bench/saga_checks.py) on small made-up snapshots: a settled saga passes every check,
and each kind of damage fails the check that names it."""

from __future__ import annotations

import dataclasses

from bench.saga_checks import Check, Counts, Event, OrderRow, PaymentRow, Snapshot, evaluate, settled

STOCK = 100


def healthy() -> Snapshot:
    """Two buyers: order o1 paid (2 units of v1), order o2 declined and cancelled (1 unit of v2)."""
    events = [
        Event("e1", "payment", "PaymentSucceeded", "p1", True),
        Event("e2", "order", "OrderPaid", "o1", True),
        Event("e3", "payment", "PaymentFailed", "p2", True),
        Event("e4", "order", "OrderCancelled", "o2", True),
    ]
    return Snapshot(
        orders={"o1": OrderRow("b1", "PAID", "p1", "r1"), "o2": OrderRow("b2", "CANCELLED", "", "r2")},
        lines=[("o1", "v1", 2), ("o2", "v2", 1)],
        payments=[PaymentRow("p1", "o1", "SUCCEEDED"), PaymentRow("p2", "o2", "FAILED")],
        variants={"v1": (STOCK - 2, 0), "v2": (STOCK, 0)},
        reservations={"r1": "COMMITTED", "r2": "RELEASED"},
        cart_units={"b1": 0, "b2": 0},
        events=events,
        handled={"order": {"e1", "e3"}, "catalog": {"e2", "e4"}, "cart": {"e2"}, "payment": {"e4"}},
        on_streams={event.id for event in events},
    )


COUNTS = Counts(attempted=2, completed=1, declined=1)


def failed(checks: list[Check]) -> list[str]:
    return [check.name for check in checks if not check.ok]


def test_a_settled_saga_passes_every_check_and_prints_its_numbers() -> None:
    checks = evaluate(healthy(), COUNTS, STOCK)
    assert settled(checks), [check.line() for check in checks]
    stock = next(check for check in checks if check.name == "catalog stock consistent")
    assert "2 units sold = 2 units of paid orders" in stock.line()
    assert all(check.line().startswith("PASS") for check in checks)


def test_a_second_charge_fails_the_charge_check() -> None:
    snapshot = healthy()
    snapshot.payments.append(PaymentRow("p3", "o1", "SUCCEEDED"))
    # The order is paid by p1, so p3 is also a succeeded payment whose order it did not pay.
    assert failed(evaluate(snapshot, COUNTS, STOCK)) == [
        "every order whose payment succeeded is paid, exactly once",
        "exactly one succeeded charge per paid order",
    ]


def test_a_succeeded_payment_whose_order_is_not_paid_fails() -> None:
    snapshot = healthy()
    snapshot.orders["o1"] = dataclasses.replace(snapshot.orders["o1"], status="PENDING_PAYMENT")
    names = failed(evaluate(snapshot, COUNTS, STOCK))
    assert "every order whose payment succeeded is paid, exactly once" in names
    # Its units are now counted as held, which the catalog does not show either.
    assert "catalog stock consistent" in names


def test_an_order_paid_twice_on_the_stream_fails() -> None:
    snapshot = healthy()
    snapshot.events.append(Event("e5", "order", "OrderPaid", "o1", True))
    snapshot.on_streams.add("e5")
    snapshot.handled["catalog"].add("e5")
    snapshot.handled["cart"].add("e5")
    assert failed(evaluate(snapshot, COUNTS, STOCK)) == ["every order whose payment succeeded is paid, exactly once"]


def test_a_paid_order_without_a_succeeded_payment_fails() -> None:
    snapshot = healthy()
    snapshot.orders["o1"] = dataclasses.replace(snapshot.orders["o1"], payment_id="p2")
    assert "no order paid without a succeeded payment" in failed(evaluate(snapshot, COUNTS, STOCK))


def test_stock_sold_twice_or_a_reservation_not_released_fails() -> None:
    sold_twice = healthy()
    sold_twice.variants["v1"] = (STOCK - 4, 0)
    assert failed(evaluate(sold_twice, COUNTS, STOCK)) == ["catalog stock consistent"]
    still_held = healthy()
    still_held.variants["v2"] = (STOCK, 1)
    still_held.reservations["r2"] = "HELD"
    assert failed(evaluate(still_held, COUNTS, STOCK)) == [
        "catalog stock consistent",
        "reservations settled with their orders (paid: committed; cancelled: released)",
    ]


def test_units_left_in_a_cart_or_an_event_not_handled_fail() -> None:
    snapshot = healthy()
    snapshot.cart_units["b1"] = 2
    snapshot.handled["cart"].clear()
    assert failed(evaluate(snapshot, COUNTS, STOCK)) == [
        "carts of paid orders no longer hold the purchased units",
        "every event handled by each of its consumers",
    ]


def test_lost_unpublished_and_dead_lettered_events_fail() -> None:
    snapshot = healthy()
    snapshot.on_streams.discard("e2")
    snapshot.events.append(Event("e6", "catalog", "StockChanged", "v1", False))
    snapshot.dead_letters.append("1-0  events.order  group=catalog  OrderPaid e2")
    assert failed(evaluate(snapshot, COUNTS, STOCK)) == [
        "every outbox row published",
        "Redis kept every published event (on its stream after the restart)",
        "no events in the dead-letter streams",
    ]


def test_a_failed_checkout_fails_the_count_check() -> None:
    counts = Counts(attempted=3, completed=1, declined=1, failures=("checkout 2: UNAVAILABLE",))
    checks = evaluate(healthy(), counts, STOCK)
    assert failed(checks) == ["every checkout ended as planned"]
    assert "1 failed (first: checkout 2: UNAVAILABLE)" in checks[0].detail
