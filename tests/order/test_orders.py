"""Orders through the real order, cart, catalog and auth services: made from the cart once per request id, one
part per seller, the state machine, stock held and returned, who sees what. Payments arrive as the payment
service's events on the real stream."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC

import grpc

from marketplace.auth.v1 import auth_pb2
from marketplace.cart.v1 import cart_pb2
from marketplace.events.v1 import events_pb2
from marketplace.order.v1 import order_pb2
from tests.kit.rpc.support import error_info
from tests.order.conftest import OrderService, StartOrder
from tests.order.support import Shop, address, create, refused
from tests.support.auth import bearer, service_token
from tests.support.polling import eventually

S = order_pb2


async def test_an_order_holds_the_cart_in_one_part_per_seller_with_its_stock_reserved(order: OrderService) -> None:
    shop = await Shop.open(order)
    me, buyer_id = await shop.buyer()
    placed = await shop.place(me)

    assert (placed.buyer_id, placed.status, placed.total.units, placed.total.currency_code) == (
        buyer_id,
        S.ORDER_STATUS_PENDING_PAYMENT,
        8000 * 3 + 1999,
        "USD",
    )
    lines = [(line.variant_id, dict(line.option_values), line.quantity, line.line_total.units) for line in placed.lines]
    assert lines == [
        (shop.size("42").id, {"size": "42"}, 1, 8000),
        (shop.size("43").id, {"size": "43"}, 2, 16000),
        (shop.mug.variants[0].id, {}, 1, 1999),
    ]
    parts = [(part.seller_id, part.status, part.subtotal.units) for part in placed.fulfilments]
    assert parts == [
        (shop.shoe_seller_id, S.FULFILMENT_STATUS_AWAITING_PAYMENT, 24000),
        (shop.mug_seller_id, S.FULFILMENT_STATUS_AWAITING_PAYMENT, 1999),
    ]
    due = placed.payment_due_time.ToDatetime() - placed.create_time.ToDatetime()
    assert due.total_seconds() == order.settings.order_payment_timeout
    # Held by the catalog, not sold; the cart keeps its lines until the order is paid.
    assert await shop.stock(shop.size("43").id) == (10, 2)
    cart = (await order.cart.stub.GetCart(cart_pb2.GetCartRequest(), metadata=me)).cart
    assert len(cart.lines) == 3
    ((kind, created),) = await order.events()
    assert (kind, created.order_id, created.total.units, len(created.lines)) == ("OrderCreated", placed.id, 25999, 3)
    assert created.reservation_id and created.lines[1].variant_id == shop.size("43").id


async def test_a_request_id_makes_one_order_even_when_sent_many_times_at_once(order: OrderService) -> None:
    shop = await Shop.open(order)
    me, _ = await shop.buyer()
    await shop.fill_cart(me)
    request = create()
    answers = await asyncio.gather(*(order.stub.CreateOrder(request, metadata=me) for _ in range(6)))
    assert len({answer.order.id for answer in answers}) == 1
    assert await order.sql("SELECT count(*) FROM orders") == [(1,)]
    assert await order.cart.catalog.sql("SELECT count(*) FROM reservations") == [(1,)]
    assert await shop.stock(shop.size("43").id) == (10, 2)
    # The same id with another body is refused, naming the first order.
    other = create(request.request_id, city="Paris")
    error = await refused(order.stub.CreateOrder(other, metadata=me), grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "REQUEST_ID_REUSED"
    assert error_info(error).metadata["order_id"] == answers[0].order.id


async def test_an_order_that_cannot_be_held_names_every_short_line_and_holds_nothing(order: OrderService) -> None:
    shop = await Shop.open(order)
    me, _ = await shop.buyer()
    error = await refused(order.stub.CreateOrder(create(), metadata=me), grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "CART_EMPTY"

    await shop.fill_cart(me, sizes={"41": 4, "42": 3}, mugs=2)
    # Others buy meanwhile: size 41 and 42 run short after they were added.
    for variant_id, stock in ((shop.size("41").id, 1), (shop.size("42").id, 0)):
        await order.cart.catalog.sql("UPDATE product_variants SET stock = :s WHERE id = :id", s=stock, id=variant_id)
    error = await refused(order.stub.CreateOrder(create(), metadata=me), grpc.StatusCode.FAILED_PRECONDITION)
    info = error_info(error)
    assert info.reason == "OUT_OF_STOCK"
    assert sorted(info.metadata["short"].split(",")) == sorted([f"{shop.size('41').id}=1", f"{shop.size('42').id}=0"])
    assert await order.sql("SELECT count(*) FROM orders") == [(0,)]
    assert await shop.stock(shop.mug.variants[0].id) == (10, 0)


async def test_each_seller_ships_and_delivers_their_own_part(order: OrderService) -> None:
    shop = await Shop.open(order)
    me, _ = await shop.buyer()
    placed = await shop.place(me)
    # Not paid: nothing ships.
    ship = S.ShipOrderRequest(id=placed.id, carrier="DHL", tracking_number="TRACK-1")
    error = await refused(order.stub.ShipOrder(ship, metadata=shop.shoe_seller), grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "ORDER_NOT_PAID"

    await shop.pay(placed)
    await shop.status_becomes(placed.id, me, S.ORDER_STATUS_PAID)
    # Paid: the catalog sells the held units and the cart lets go of them.
    await eventually(lambda: _sold(shop), message="the reservation was not committed")
    await eventually(lambda: _cart_empty(order, me), message="the cart kept the purchased units")

    # Each seller sees their own part only: their lines, their subtotal as the total, no payment.
    seen = await shop.get(placed.id, shop.mug_seller)
    assert [line.variant_id for line in seen.lines] == [shop.mug.variants[0].id]
    assert [part.seller_id for part in seen.fulfilments] == [shop.mug_seller_id]
    assert (seen.total.units, seen.payment_id, seen.shipping_address.city) == (1999, "", "Berlin")

    shipped = (await order.stub.ShipOrder(ship, metadata=shop.shoe_seller)).order
    assert shipped.status == S.ORDER_STATUS_PARTIALLY_SHIPPED
    assert [line.seller_id for line in shipped.lines] == [shop.shoe_seller_id] * 2
    error = await refused(order.stub.ShipOrder(ship, metadata=shop.shoe_seller), grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "ORDER_ALREADY_SHIPPED"
    # A seller cannot act on another seller's part, and one without a line in the order sees nothing.
    stranger, _ = await order.cart.catalog.seller()
    await refused(
        order.stub.ShipOrder(
            S.ShipOrderRequest(id=placed.id, carrier="UPS", tracking_number="X-1", seller_id=shop.mug_seller_id),
            metadata=shop.shoe_seller,
        ),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    await refused(
        order.stub.GetOrder(S.GetOrderRequest(id=placed.id), metadata=stranger), grpc.StatusCode.PERMISSION_DENIED
    )
    # Cancelling after the first shipment is refused; the address is fixed too.
    error = await refused(
        order.stub.CancelOrder(S.CancelOrderRequest(id=placed.id), metadata=me), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert error_info(error).reason == "ORDER_NOT_CANCELLABLE"
    change = S.UpdateShippingAddressRequest(id=placed.id, shipping_address=address(city="Paris"))
    error = await refused(order.stub.UpdateShippingAddress(change, metadata=me), grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "ORDER_ALREADY_SHIPPED"

    both = (
        await order.stub.ShipOrder(
            S.ShipOrderRequest(id=placed.id, carrier="UPS", tracking_number="MUG-9"), metadata=shop.mug_seller
        )
    ).order
    assert both.status == S.ORDER_STATUS_SHIPPED
    delivered = (await order.stub.MarkDelivered(S.MarkDeliveredRequest(id=placed.id), metadata=shop.shoe_seller)).order
    assert delivered.status == S.ORDER_STATUS_SHIPPED
    await order.stub.MarkDelivered(S.MarkDeliveredRequest(id=placed.id), metadata=shop.mug_seller)
    final = await shop.get(placed.id, me)
    assert final.status == S.ORDER_STATUS_DELIVERED
    assert [(p.status, p.shipment.tracking_number, p.shipment.HasField("deliver_time")) for p in final.fulfilments] == [
        (S.FULFILMENT_STATUS_DELIVERED, "TRACK-1", True),
        (S.FULFILMENT_STATUS_DELIVERED, "MUG-9", True),
    ]
    # Each part's moments as stored, to the microsecond.
    stored = await order.sql(
        "SELECT shipped_at, delivered_at FROM fulfilments WHERE order_id = :id ORDER BY position", id=placed.id
    )
    assert [
        (p.shipment.ship_time.ToDatetime(tzinfo=UTC), p.shipment.deliver_time.ToDatetime(tzinfo=UTC))
        for p in final.fulfilments
    ] == [(row.shipped_at, row.delivered_at) for row in stored]
    kinds = [kind for kind, _ in await order.events()]
    assert kinds == ["OrderCreated", "OrderPaid", "OrderShipped", "OrderShipped", "OrderDelivered", "OrderDelivered"]
    shipped_events = [payload for kind, payload in await order.events() if kind == "OrderShipped"]
    assert [(e.seller_id, e.all_shipped, len(e.lines)) for e in shipped_events] == [
        (shop.shoe_seller_id, False, 2),
        (shop.mug_seller_id, True, 1),
    ]


async def _sold(shop: Shop) -> bool:
    return await shop.stock(shop.size("43").id) == (8, 0)


async def _cart_empty(order: OrderService, me: tuple[tuple[str, str]]) -> bool:
    cart = (await order.cart.stub.GetCart(cart_pb2.GetCartRequest(), metadata=me)).cart
    return not cart.lines


async def test_cancelling_returns_the_stock_and_a_paid_cancelled_order_waits_for_its_refund(
    order: OrderService,
) -> None:
    shop = await Shop.open(order)
    me, _ = await shop.buyer()
    unpaid = await shop.place(me, sizes={"41": 2}, mugs=0)
    cancelled = (
        await order.stub.CancelOrder(S.CancelOrderRequest(id=unpaid.id, note="changed my mind"), metadata=me)
    ).order
    assert (cancelled.status, cancelled.cancellation_reason, cancelled.cancellation_note) == (
        S.ORDER_STATUS_CANCELLED,
        S.CANCELLATION_REASON_BUYER,
        "changed my mind",
    )
    await eventually(lambda: _stock_is(shop, "41", (10, 0)), message="held units were not released")
    # Cancelling again succeeds and changes nothing.
    again = (await order.stub.CancelOrder(S.CancelOrderRequest(id=unpaid.id), metadata=me)).order
    assert again.cancel_time == cancelled.cancel_time

    # A cancelled order leaves the cart as it was: start again from an empty one.
    await order.cart.stub.ClearCart(cart_pb2.ClearCartRequest(), metadata=me)
    paid = await shop.place(me, sizes={"41": 3}, mugs=0)
    payment_id = await shop.pay(paid)
    await shop.status_becomes(paid.id, me, S.ORDER_STATUS_PAID)
    await eventually(lambda: _stock_is(shop, "41", (7, 0)), message="the paid units were not sold")
    await order.stub.CancelOrder(S.CancelOrderRequest(id=paid.id), metadata=me)
    # The sold units come back, and the payment is to be refunded.
    await eventually(lambda: _stock_is(shop, "41", (10, 0)), message="the sold units did not come back")
    cancellation = [payload for kind, payload in await order.events() if kind == "OrderCancelled"][-1]
    assert (cancellation.was_paid, cancellation.payment_id) == (True, payment_id)
    await order.publish_payment_event(
        payment_id,
        events_pb2.PaymentRefunded(payment_id=payment_id, order_id=paid.id, buyer_id=paid.buyer_id, amount=paid.total),
    )
    await shop.status_becomes(paid.id, me, S.ORDER_STATUS_REFUNDED)


async def _stock_is(shop: Shop, size: str, expected: tuple[int, int]) -> bool:
    return await shop.stock(shop.size(size).id) == expected


async def test_an_unpaid_order_expires_and_a_late_payment_is_refused(start_order: StartOrder) -> None:
    order = await start_order(order_payment_timeout=1)
    shop = await Shop.open(order)
    me, _ = await shop.buyer()
    placed = await shop.place(me, sizes={"42": 2}, mugs=0)
    assert await shop.stock(shop.size("42").id) == (10, 2)
    await shop.status_becomes(placed.id, me, S.ORDER_STATUS_CANCELLED)
    expired = await shop.get(placed.id, me)
    assert expired.cancellation_reason == S.CANCELLATION_REASON_PAYMENT_EXPIRED
    await eventually(lambda: _stock_is(shop, "42", (10, 0)), message="expired order's units were not released")

    late = await shop.pay(placed)

    async def refused_payment() -> bool:
        return any(kind == "OrderPaymentRefused" and p.payment_id == late for kind, p in await order.events())

    await eventually(refused_payment, message="the late payment was not refused")
    assert (await shop.get(placed.id, me)).status == S.ORDER_STATUS_CANCELLED


async def test_a_payment_event_delivered_twice_pays_once(order: OrderService) -> None:
    shop = await Shop.open(order)
    me, _ = await shop.buyer()
    placed = await shop.place(me, mugs=1, sizes={})
    payment_id = await shop.pay(placed)
    await shop.pay(placed, payment_id)
    second = await shop.pay(placed)  # another payment for a paid order: refused, to be refunded

    async def settled() -> bool:
        return any(kind == "OrderPaymentRefused" and p.payment_id == second for kind, p in await order.events())

    await eventually(settled, message="a second payment was not refused")
    kinds = [kind for kind, _ in await order.events()]
    assert kinds.count("OrderPaid") == 1
    assert (await shop.get(placed.id, me)).payment_id == payment_id


async def test_nobody_else_sees_or_changes_an_order(order: OrderService) -> None:
    shop = await Shop.open(order)
    me, _ = await shop.buyer()
    placed = await shop.place(me)
    other, _ = await shop.buyer()
    for call in (
        order.stub.GetOrder(S.GetOrderRequest(id=placed.id), metadata=other),
        order.stub.CancelOrder(S.CancelOrderRequest(id=placed.id), metadata=other),
        order.stub.UpdateShippingAddress(
            S.UpdateShippingAddressRequest(id=placed.id, shipping_address=address()), metadata=other
        ),
    ):
        error = await refused(call, grpc.StatusCode.PERMISSION_DENIED)
        assert placed.id not in (error.details() or "") and "status" not in error_info(error).metadata
    watching = order.stub.WatchOrder(S.WatchOrderRequest(id=placed.id), metadata=other)
    await refused(watching.read(), grpc.StatusCode.PERMISSION_DENIED)
    assert list((await order.stub.ListOrders(S.ListOrdersRequest(), metadata=other)).orders) == []
    # A buyer cannot ship; an unknown order is NOT_FOUND.
    await refused(
        order.stub.ShipOrder(S.ShipOrderRequest(id=placed.id, carrier="DHL", tracking_number="T-1"), metadata=me),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    await refused(order.stub.GetOrder(S.GetOrderRequest(id=str(uuid.uuid4())), metadata=me), grpc.StatusCode.NOT_FOUND)
    # The buyer moves the parcel before it ships; an admin sees the whole order.
    moved = await order.stub.UpdateShippingAddress(
        S.UpdateShippingAddressRequest(id=placed.id, shipping_address=address(city="Hamburg")), metadata=me
    )
    assert moved.order.shipping_address.city == "Hamburg"
    admin, _ = await order.cart.catalog.admin()
    assert len((await shop.get(placed.id, admin)).lines) == 3


async def test_a_delegated_token_cannot_order(order: OrderService) -> None:
    shop = await Shop.open(order)
    auth = order.cart.catalog.auth
    token, _ = await auth.user_token()
    buddy = bearer(await service_token(auth, "buddy"))
    exchanged = await auth.stub.ExchangeToken(
        auth_pb2.ExchangeTokenRequest(subject_token=token, scopes=["catalog:read", "cart:write"]), metadata=buddy
    )
    assistant = bearer(exchanged.access_token)
    await shop.fill_cart(assistant)
    await refused(order.stub.CreateOrder(create(), metadata=assistant), grpc.StatusCode.PERMISSION_DENIED)
    assert await order.sql("SELECT count(*) FROM orders") == [(0,)]


async def test_orders_are_listed_newest_first_by_status_in_pages(order: OrderService) -> None:
    shop = await Shop.open(order)
    me, _ = await shop.buyer()
    placed = [await shop.place(me, sizes={}, mugs=1) for _ in range(3)]
    await order.stub.CancelOrder(S.CancelOrderRequest(id=placed[0].id), metadata=me)
    first = await order.stub.ListOrders(S.ListOrdersRequest(page_size=2), metadata=me)
    assert [o.id for o in first.orders] == [placed[2].id, placed[1].id] and first.next_page_token
    rest = await order.stub.ListOrders(S.ListOrdersRequest(page_size=2, page_token=first.next_page_token), metadata=me)
    assert ([o.id for o in rest.orders], rest.next_page_token) == ([placed[0].id], "")
    pending = await order.stub.ListOrders(S.ListOrdersRequest(status=S.ORDER_STATUS_PENDING_PAYMENT), metadata=me)
    assert [o.id for o in pending.orders] == [placed[2].id, placed[1].id]
    # A token of another filter is refused.
    await refused(
        order.stub.ListOrders(
            S.ListOrdersRequest(status=S.ORDER_STATUS_CANCELLED, page_token=first.next_page_token), metadata=me
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )


async def test_watching_an_order_streams_each_change_until_it_is_final(order: OrderService) -> None:
    shop = await Shop.open(order)
    me, _ = await shop.buyer()
    placed = await shop.place(me, sizes={"41": 1}, mugs=0)
    stream = order.stub.WatchOrder(S.WatchOrderRequest(id=placed.id), metadata=me)
    assert (await stream.read()).order.status == S.ORDER_STATUS_PENDING_PAYMENT
    await shop.pay(placed)
    assert (await asyncio.wait_for(stream.read(), 10)).order.status == S.ORDER_STATUS_PAID
    await order.stub.ShipOrder(
        S.ShipOrderRequest(id=placed.id, carrier="DHL", tracking_number="W-1"), metadata=shop.shoe_seller
    )
    assert (await asyncio.wait_for(stream.read(), 10)).order.status == S.ORDER_STATUS_SHIPPED
    await order.stub.MarkDelivered(S.MarkDeliveredRequest(id=placed.id), metadata=shop.shoe_seller)
    assert (await asyncio.wait_for(stream.read(), 10)).order.status == S.ORDER_STATUS_DELIVERED
    # Delivered is final: the stream ends.
    assert await asyncio.wait_for(stream.read(), 10) is grpc.aio.EOF  # type: ignore[attr-defined]  # not in the stubs


async def test_an_order_is_paid_in_one_currency(order: OrderService) -> None:
    shop = await Shop.open(order)
    euro = await order.cart.catalog.create(shop.mug_seller, title="Espresso cup", price=900, currency="EUR")
    me, _ = await shop.buyer()
    await shop.fill_cart(me, sizes={"41": 1}, mugs=0)
    await order.cart.stub.AddCartItem(cart_pb2.AddCartItemRequest(product_id=euro.id, quantity=1), metadata=me)
    error = await refused(order.stub.CreateOrder(create(), metadata=me), grpc.StatusCode.FAILED_PRECONDITION)
    assert (error_info(error).reason, error_info(error).metadata["currencies"]) == ("MIXED_CURRENCIES", "EUR,USD")
    # Nothing stays held.
    assert await shop.stock(shop.size("41").id) == (10, 0)
    assert await shop.stock(euro.variants[0].id) == (10, 0)
