"""The checkout saga through the five real services and the real streams: cart → order → payment → PAID → stock
sold and cart emptied; declines, cancellations before and after payment (refund), expiry, a race for the last
units, and who may pay."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc

from marketplace.auth.v1 import auth_pb2
from marketplace.cart.v1 import cart_pb2
from marketplace.order.v1 import order_pb2
from marketplace.payment.v1 import payment_pb2
from tests.checkout.conftest import Checkout, StartCheckout
from tests.kit.rpc.support import error_info
from tests.order.support import Metadata, Shop, create, refused
from tests.support.auth import bearer, service_token
from tests.support.polling import eventually


async def pay(
    shop: Checkout, placed: order_pb2.Order, me: Metadata, outcome: int = payment_pb2.LOCAL_OUTCOME_APPROVE
) -> str:
    """CreatePayment then ConfirmPayment (local provider); the payment's id."""
    created = await shop.payment.CreatePayment(
        payment_pb2.CreatePaymentRequest(order_id=placed.id, request_id=str(uuid.uuid4())), metadata=me
    )
    assert created.payment.status == payment_pb2.PAYMENT_STATUS_PENDING
    confirmed = await shop.payment.ConfirmPayment(
        payment_pb2.ConfirmPaymentRequest(id=created.payment.id, outcome=outcome),  # type: ignore[arg-type]
        metadata=me,
    )
    expected = (
        payment_pb2.PAYMENT_STATUS_SUCCEEDED
        if outcome == payment_pb2.LOCAL_OUTCOME_APPROVE
        else payment_pb2.PAYMENT_STATUS_FAILED
    )
    assert confirmed.payment.status == expected
    return str(created.payment.id)


async def next_status(stream: Any) -> int:
    message = await asyncio.wait_for(stream.read(), 15)
    assert message is not grpc.aio.EOF  # type: ignore[attr-defined]  # not in the stubs
    return int(message.order.status)


async def payment_status(shop: Checkout, payment_id: str, me: Metadata) -> int:
    return int(
        (await shop.payment.GetPayment(payment_pb2.GetPaymentRequest(id=payment_id), metadata=me)).payment.status
    )


async def test_two_sellers_and_two_sizes_of_one_shoe_go_from_an_empty_cart_to_delivered(checkout: Checkout) -> None:
    shop = await Shop.open(checkout.order)
    me, _ = await shop.buyer()
    placed = await shop.place(me, sizes={"42": 1, "43": 2}, mugs=1)
    watch = checkout.order.stub.WatchOrder(order_pb2.WatchOrderRequest(id=placed.id), metadata=me)
    assert await next_status(watch) == order_pb2.ORDER_STATUS_PENDING_PAYMENT

    payment_id = await pay(checkout, placed, me)
    assert await next_status(watch) == order_pb2.ORDER_STATUS_PAID
    # The catalog sold the held units; the cart let go of them.
    await eventually(lambda: _stocks(shop, {"42": (9, 0), "43": (8, 0)}), message="stock not committed")
    assert await shop.stock(shop.mug.variants[0].id) == (9, 0)
    cart = (await checkout.order.cart.stub.GetCart(cart_pb2.GetCartRequest(), metadata=me)).cart
    assert list(cart.lines) == []

    ship = order_pb2.ShipOrderRequest(id=placed.id, carrier="DHL", tracking_number="SHOE-1")
    await checkout.order.stub.ShipOrder(ship, metadata=shop.shoe_seller)
    assert await next_status(watch) == order_pb2.ORDER_STATUS_PARTIALLY_SHIPPED
    ship = order_pb2.ShipOrderRequest(id=placed.id, carrier="UPS", tracking_number="MUG-1")
    await checkout.order.stub.ShipOrder(ship, metadata=shop.mug_seller)
    assert await next_status(watch) == order_pb2.ORDER_STATUS_SHIPPED
    # One part delivered: still SHIPPED, and the watcher sees the part change; then the other.
    await checkout.order.stub.MarkDelivered(order_pb2.MarkDeliveredRequest(id=placed.id), metadata=shop.shoe_seller)
    assert await next_status(watch) == order_pb2.ORDER_STATUS_SHIPPED
    await checkout.order.stub.MarkDelivered(order_pb2.MarkDeliveredRequest(id=placed.id), metadata=shop.mug_seller)
    assert await next_status(watch) == order_pb2.ORDER_STATUS_DELIVERED
    assert await asyncio.wait_for(watch.read(), 15) is grpc.aio.EOF  # type: ignore[attr-defined]

    final = await shop.get(placed.id, me)
    assert (final.payment_id, final.HasField("pay_time")) == (payment_id, True)
    # One charge, one paid event: nothing doubled along the way.
    assert await checkout.payment_sql("SELECT count(*) FROM payments WHERE status = 'SUCCEEDED'") == [(1,)]
    assert [kind for kind, _ in await checkout.order.events()].count("OrderPaid") == 1


async def _stocks(shop: Shop, expected: dict[str, tuple[int, int]]) -> bool:
    return all([await shop.stock(shop.size(size).id) == units for size, units in expected.items()])


async def test_a_declined_payment_leaves_the_order_payable_and_a_new_one_pays_it(checkout: Checkout) -> None:
    shop = await Shop.open(checkout.order)
    me, _ = await shop.buyer()
    placed = await shop.place(me, sizes={"41": 1}, mugs=0)
    declined = await pay(checkout, placed, me, payment_pb2.LOCAL_OUTCOME_DECLINE)

    async def recorded() -> bool:
        return (await shop.get(placed.id, me)).payment_id == declined

    await eventually(recorded, message="the order never heard of the declined payment")
    assert (await shop.get(placed.id, me)).status == order_pb2.ORDER_STATUS_PENDING_PAYMENT
    second = await pay(checkout, placed, me)
    await shop.status_becomes(placed.id, me, order_pb2.ORDER_STATUS_PAID)
    assert (await shop.get(placed.id, me)).payment_id == second
    # A paid order cannot be paid again.
    error = await refused(
        checkout.payment.CreatePayment(
            payment_pb2.CreatePaymentRequest(order_id=placed.id, request_id=str(uuid.uuid4())), metadata=me
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error_info(error).reason == "ORDER_ALREADY_PAID"


async def test_cancelling_before_payment_abandons_the_payment_and_returns_the_stock(checkout: Checkout) -> None:
    shop = await Shop.open(checkout.order)
    me, _ = await shop.buyer()
    placed = await shop.place(me, sizes={"41": 2}, mugs=0)
    created = await checkout.payment.CreatePayment(
        payment_pb2.CreatePaymentRequest(order_id=placed.id, request_id=str(uuid.uuid4())), metadata=me
    )
    await checkout.order.stub.CancelOrder(order_pb2.CancelOrderRequest(id=placed.id), metadata=me)

    async def abandoned() -> bool:
        return await payment_status(checkout, created.payment.id, me) == payment_pb2.PAYMENT_STATUS_CANCELLED

    await eventually(abandoned, message="the pending payment was not cancelled")
    error = await refused(
        checkout.payment.ConfirmPayment(payment_pb2.ConfirmPaymentRequest(id=created.payment.id), metadata=me),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error_info(error).reason == "PAYMENT_NOT_PENDING"
    await eventually(lambda: _stocks(shop, {"41": (10, 0)}), message="held units were not released")
    assert (await shop.get(placed.id, me)).status == order_pb2.ORDER_STATUS_CANCELLED


async def test_cancelling_a_paid_order_refunds_it_and_returns_the_sold_units(checkout: Checkout) -> None:
    shop = await Shop.open(checkout.order)
    me, _ = await shop.buyer()
    placed = await shop.place(me, sizes={"43": 3}, mugs=0)
    payment_id = await pay(checkout, placed, me)
    await shop.status_becomes(placed.id, me, order_pb2.ORDER_STATUS_PAID)
    await eventually(lambda: _stocks(shop, {"43": (7, 0)}), message="stock not committed")

    await checkout.order.stub.CancelOrder(order_pb2.CancelOrderRequest(id=placed.id, note="too late"), metadata=me)
    await shop.status_becomes(placed.id, me, order_pb2.ORDER_STATUS_REFUNDED)
    assert await payment_status(checkout, payment_id, me) == payment_pb2.PAYMENT_STATUS_REFUNDED
    await eventually(lambda: _stocks(shop, {"43": (10, 0)}), message="sold units did not come back")
    refunds = await checkout.payment_sql("SELECT count(*) FROM payments WHERE status = 'REFUNDED'")
    assert refunds == [(1,)]


async def test_an_unpaid_order_expires_and_can_no_longer_be_paid(start_checkout: StartCheckout) -> None:
    checkout = await start_checkout(order={"order_payment_timeout": 1})
    shop = await Shop.open(checkout.order)
    me, _ = await shop.buyer()
    placed = await shop.place(me, sizes={"42": 1}, mugs=0)
    await shop.status_becomes(placed.id, me, order_pb2.ORDER_STATUS_CANCELLED)
    await eventually(lambda: _stocks(shop, {"42": (10, 0)}), message="expired order's units were not released")
    error = await refused(
        checkout.payment.CreatePayment(
            payment_pb2.CreatePaymentRequest(order_id=placed.id, request_id=str(uuid.uuid4())), metadata=me
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error_info(error).reason == "ORDER_NOT_PAYABLE"


async def test_two_hundred_buyers_race_for_the_last_ten_units(checkout: Checkout) -> None:
    shop = await Shop.open(checkout.order)
    catalog = checkout.order.cart.catalog
    last = await catalog.create(shop.mug_seller, title="Limited edition mug", stock=10)
    buyers = await asyncio.gather(*(shop.buyer() for _ in range(200)))
    await asyncio.gather(
        *(
            checkout.order.cart.stub.AddCartItem(
                cart_pb2.AddCartItemRequest(product_id=last.id, quantity=1), metadata=me
            )
            for me, _ in buyers
        )
    )

    async def attempt(me: Metadata) -> order_pb2.Order | None:
        try:
            made: order_pb2.Order = (await checkout.order.stub.CreateOrder(create(), metadata=me)).order
            return made
        except grpc.aio.AioRpcError as error:
            assert (error.code(), error_info(error).reason) == (grpc.StatusCode.FAILED_PRECONDITION, "OUT_OF_STOCK")
            return None

    placed = await asyncio.gather(*(attempt(me) for me, _ in buyers))
    won = [(order, me) for order, (me, _) in zip(placed, buyers, strict=True) if order is not None]
    assert len(won) == 10
    variant = last.variants[0].id
    assert await shop.stock(variant) == (10, 10)
    await asyncio.gather(*(pay(checkout, order, me) for order, me in won))
    for order, me in won:
        await shop.status_becomes(order.id, me, order_pb2.ORDER_STATUS_PAID)

    async def sold_out() -> bool:
        return await shop.stock(variant) == (0, 0)

    await eventually(sold_out, message="the ten paid orders did not sell the ten units")
    assert await checkout.payment_sql("SELECT count(*) FROM payments WHERE status = 'SUCCEEDED'") == [(10,)]


async def test_only_the_buyer_pays_and_sees_the_payment(checkout: Checkout) -> None:
    shop = await Shop.open(checkout.order)
    me, _ = await shop.buyer()
    placed = await shop.place(me, sizes={}, mugs=1)
    payment_id = await pay(checkout, placed, me, payment_pb2.LOCAL_OUTCOME_DECLINE)
    other, _ = await shop.buyer()
    for call in (
        checkout.payment.CreatePayment(
            payment_pb2.CreatePaymentRequest(order_id=placed.id, request_id=str(uuid.uuid4())), metadata=other
        ),
        checkout.payment.GetPayment(payment_pb2.GetPaymentRequest(id=payment_id), metadata=other),
        checkout.payment.ConfirmPayment(payment_pb2.ConfirmPaymentRequest(id=payment_id), metadata=other),
    ):
        error = await refused(call, grpc.StatusCode.PERMISSION_DENIED)
        assert placed.id not in (error.details() or "")
    # A delegated token (the assistant's) can neither order nor pay for the buyer.
    auth = checkout.order.cart.catalog.auth
    token, _ = await auth.user_token()
    buddy = bearer(await service_token(auth, "buddy"))
    exchanged = await auth.stub.ExchangeToken(
        auth_pb2.ExchangeTokenRequest(subject_token=token, scopes=["catalog:read", "cart:write"]), metadata=buddy
    )
    assistant = bearer(exchanged.access_token)
    await refused(checkout.order.stub.CreateOrder(create(), metadata=assistant), grpc.StatusCode.PERMISSION_DENIED)
    await refused(
        checkout.payment.CreatePayment(
            payment_pb2.CreatePaymentRequest(order_id=placed.id, request_id=str(uuid.uuid4())), metadata=assistant
        ),
        grpc.StatusCode.PERMISSION_DENIED,
    )


async def test_an_operator_refund_of_a_paid_order_cancels_it_and_returns_its_units(checkout: Checkout) -> None:
    shop = await Shop.open(checkout.order)
    me, _ = await shop.buyer()
    placed = await shop.place(me, sizes={"42": 2}, mugs=0)
    payment_id = await pay(checkout, placed, me)
    await shop.status_becomes(placed.id, me, order_pb2.ORDER_STATUS_PAID)
    await eventually(lambda: _stocks(shop, {"42": (8, 0)}), message="stock not committed")
    admin, _ = await checkout.order.cart.catalog.admin()
    await refused(
        checkout.payment.RefundPayment(payment_pb2.RefundPaymentRequest(id=payment_id, reason="goodwill"), metadata=me),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    await checkout.payment.RefundPayment(
        payment_pb2.RefundPaymentRequest(id=payment_id, reason="out of service area"), metadata=admin
    )
    await shop.status_becomes(placed.id, me, order_pb2.ORDER_STATUS_REFUNDED)
    refunded = await shop.get(placed.id, me)
    assert refunded.cancellation_reason == order_pb2.CANCELLATION_REASON_REFUNDED
    await eventually(lambda: _stocks(shop, {"42": (10, 0)}), message="refunded units did not come back")
    # Nothing ships after that.
    error = await refused(
        checkout.order.stub.ShipOrder(
            order_pb2.ShipOrderRequest(id=placed.id, carrier="DHL", tracking_number="R-1"), metadata=shop.shoe_seller
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error_info(error).reason == "ORDER_NOT_PAID"
