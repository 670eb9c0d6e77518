"""The checkout saga survives a process killed in the middle of it: the stack `python -m services up` started, the
order or the payment service SIGKILLed while buyers pay, then the stack started again. Every order whose
payment succeeded ends PAID exactly once, with one charge, and the stock is what the paid orders sold."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections import Counter
from typing import Any

import grpc
import pytest
from sqlalchemy import text

from marketplace.cart.v1 import cart_pb2, cart_pb2_grpc
from marketplace.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from marketplace.common.v1 import money_pb2, roles_pb2
from marketplace.events.v1 import envelope_pb2
from marketplace.order.v1 import order_pb2, order_pb2_grpc
from marketplace.payment.v1 import payment_pb2, payment_pb2_grpc
from services import registry
from services.kit.db import create_engine
from services.kit.settings import database_url_for
from tests.e2e.test_operations import register, run_settings

pytestmark = [
    pytest.mark.skipif(
        not all(registry.exists(name) for name in ("cart", "order", "payment")), reason="checkout is not there yet"
    ),
    pytest.mark.timeout(300),
]

BUYERS = 24
KILL_AFTER_CONFIRMED = 8
STOCK = 100
PRICE = 1500


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


async def place_orders(addresses: dict[str, str]) -> tuple[str, str, list[tuple[str, str]]]:
    """A seller's product and BUYERS buyers with an order of 1–3 units each: (product, variant, [(token, order id)])."""
    seller, _, _ = await register(addresses["auth"], role=roles_pb2.ROLE_SELLER)
    async with grpc.aio.insecure_channel(addresses["catalog"]) as channel:
        created = await catalog_pb2_grpc.CatalogServiceStub(channel).CreateProduct(
            catalog_pb2.CreateProductRequest(
                product=catalog_pb2.Product(
                    sku="SAGA-1",
                    title="Saga Test Teapot",
                    description="A teapot bought while the services that sell it are killed.",
                    category="kitchen",
                    price=money_pb2.Money(currency_code="USD", units=PRICE),
                    stock=STOCK,
                ),
                request_id=str(uuid.uuid4()),
            ),
            metadata=bearer(seller),
            timeout=10,
        )
    product = created.product
    buyers = [token for token, _, _ in await asyncio.gather(*(register(addresses["auth"]) for _ in range(BUYERS)))]
    placed = []
    async with (
        grpc.aio.insecure_channel(addresses["cart"]) as cart_channel,
        grpc.aio.insecure_channel(addresses["order"]) as order_channel,
    ):
        carts, orders = cart_pb2_grpc.CartServiceStub(cart_channel), order_pb2_grpc.OrderServiceStub(order_channel)
        for index, token in enumerate(buyers):
            await carts.AddCartItem(
                cart_pb2.AddCartItemRequest(product_id=product.id, quantity=1 + index % 3),
                metadata=bearer(token),
                timeout=10,
            )
            made = await orders.CreateOrder(
                order_pb2.CreateOrderRequest(
                    request_id=str(uuid.uuid4()),
                    shipping_address=order_pb2.ShippingAddress(
                        recipient_name="Buyer", line1="1 Main St", city="Berlin", country_code="DE"
                    ),
                ),
                metadata=bearer(token),
                timeout=10,
            )
            placed.append((token, made.order.id))
    return product.id, product.variants[0].id, placed


async def pay_and_kill(payment_address: str, placed: list[tuple[str, str]], victim_pid: int) -> int:
    """Every buyer pays (CreatePayment, ConfirmPayment) at once; the victim is SIGKILLed once KILL_AFTER_CONFIRMED
    payments are confirmed, with the others in flight. Returns how many confirmations were answered."""
    confirmed = 0
    killed = asyncio.Event()
    async with grpc.aio.insecure_channel(payment_address) as channel:
        payments = payment_pb2_grpc.PaymentServiceStub(channel)

        async def pay(token: str, order_id: str) -> None:
            nonlocal confirmed
            try:
                created = await payments.CreatePayment(
                    payment_pb2.CreatePaymentRequest(order_id=order_id, request_id=str(uuid.uuid4())),
                    metadata=bearer(token),
                    timeout=10,
                )
                await payments.ConfirmPayment(
                    payment_pb2.ConfirmPaymentRequest(id=created.payment.id), metadata=bearer(token), timeout=10
                )
            except grpc.aio.AioRpcError:
                assert killed.is_set(), "a payment failed before anything was killed"
                return
            confirmed += 1
            if confirmed == KILL_AFTER_CONFIRMED and not killed.is_set():
                killed.set()
                os.kill(victim_pid, signal.SIGKILL)

        await asyncio.gather(*(pay(token, order_id) for token, order_id in placed))
    assert killed.is_set(), "nothing was killed"
    return confirmed


async def settled(database_url: str, variant_id: str, deadline: float) -> dict[str, Any]:
    """Once every succeeded payment's order is PAID and the catalog has sold its units: what each database holds."""
    engines = {
        name: create_engine(database_url_for(database_url, name), pool_size=1, max_overflow=0)
        for name in ("order", "payment", "catalog")
    }
    loop = asyncio.get_running_loop()
    try:
        while True:
            async with engines["payment"].connect() as connection:
                succeeded = [
                    tuple(row)
                    for row in await connection.execute(
                        text("SELECT order_id, id FROM payments WHERE status = 'SUCCEEDED'")
                    )
                ]
            async with engines["order"].connect() as connection:
                orders = {
                    row.id: (row.status, row.payment_id, row.total_units)
                    for row in await connection.execute(text("SELECT id, status, payment_id, total_units FROM orders"))
                }
                paid_events = [
                    envelope_pb2.Envelope.FromString(raw).subject
                    for (raw,) in await connection.execute(
                        text("SELECT envelope FROM outbox WHERE type = 'marketplace.events.v1.OrderPaid'")
                    )
                ]
            async with engines["catalog"].connect() as connection:
                stock, reserved = (
                    await connection.execute(
                        text("SELECT stock, reserved FROM product_variants WHERE id = :id"), {"id": variant_id}
                    )
                ).one()
            paid = {order_id for order_id, (status, _, _) in orders.items() if status == "PAID"}
            sold = STOCK - stock
            units_paid = sum(orders[order_id][2] for order_id in paid) // PRICE
            if {order_id for order_id, _ in succeeded} <= paid and sold == units_paid:
                return {
                    "succeeded": succeeded,
                    "orders": orders,
                    "paid_events": paid_events,
                    "stock": stock,
                    "reserved": reserved,
                }
            assert loop.time() < deadline, (len(succeeded), len(paid), sold, units_paid)
            await asyncio.sleep(0.3)
    finally:
        for engine in engines.values():
            await engine.dispose()


@pytest.mark.parametrize("victim", ["order", "payment"])
def test_a_process_killed_mid_saga_leaves_every_paid_order_paid_once(launch, victim: str) -> None:
    first = launch()
    first.wait_for(r"^marketplace-mesh is up")
    addresses = first.addresses()
    _, variant_id, placed = asyncio.run(place_orders(addresses))
    confirmed = asyncio.run(pay_and_kill(addresses["payment"], placed, first.pids()[victim]))
    assert first.process.wait(timeout=60) == 1
    assert f"{victim} exited with code -9 unexpectedly" in first.output()

    second = launch()
    second.wait_for(r"^marketplace-mesh is up")
    settings = run_settings(second)

    async def check() -> dict[str, Any]:
        return await settled(settings["DATABASE_URL"], variant_id, asyncio.get_running_loop().time() + 60)

    state = asyncio.run(check())
    succeeded, orders = state["succeeded"], state["orders"]
    # One charge per order, never two; every answered confirmation is among them.
    charged = Counter(order_id for order_id, _ in succeeded)
    assert all(count == 1 for count in charged.values()), charged
    assert len(succeeded) >= confirmed
    # Every paid order was paid by its succeeded payment, and announced once.
    for order_id, payment_id in succeeded:
        assert orders[order_id][:2] == ("PAID", payment_id)
    paid_announcements = Counter(state["paid_events"])
    assert set(paid_announcements) == set(charged) and all(n == 1 for n in paid_announcements.values())
    # Stock: the paid units are sold, the still unpaid orders' units held, nothing negative.
    unpaid_units = sum(total for status, _, total in orders.values() if status == "PENDING_PAYMENT") // PRICE
    assert state["reserved"] == unpaid_units and state["stock"] >= 0
    print(
        f"checkout chaos ({victim} killed): {len(placed)} orders, {confirmed} confirmations answered, "
        f"{len(succeeded)} paid once each, stock {state['stock']}, held {state['reserved']}"
    )
    assert second.stop(signal.SIGINT) == 0
