"""A scripted day of trade across three sellers, and each seller's figures as the order service's own database
has them (the dashboard must agree)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marketplace.catalog.v1 import catalog_pb2
from marketplace.order.v1 import order_pb2
from marketplace.payment.v1 import payment_pb2
from marketplace.seller.v1 import seller_pb2
from tests.checkout.test_saga import pay
from tests.order.support import Metadata, Shop
from tests.seller.conftest import SellerService

FEE_BASIS_POINTS = 10_000


@dataclass
class Day:
    shop: Shop
    lamp_seller: Metadata
    lamp_seller_id: str
    lamp: catalog_pb2.Product
    admin: Metadata
    orders: dict[str, order_pb2.Order]

    @property
    def sellers(self) -> dict[str, Metadata]:
        return {
            self.shop.shoe_seller_id: self.shop.shoe_seller,
            self.shop.mug_seller_id: self.shop.mug_seller,
            self.lamp_seller_id: self.lamp_seller,
        }


async def add_lamps(shop: Shop, buyer: Metadata, lamp: catalog_pb2.Product, quantity: int) -> None:
    from marketplace.cart.v1 import cart_pb2

    await shop.order.cart.stub.AddCartItem(
        cart_pb2.AddCartItemRequest(product_id=lamp.id, quantity=quantity), metadata=buyer
    )


async def scripted_day(seller: SellerService) -> Day:
    """Six orders of three sellers: paid then shipped and delivered in part, paid, cancelled before payment,
    cancelled after payment (refunded by the saga), refunded by an admin, and one left unpaid."""
    checkout = seller.checkout
    shop = await Shop.open(checkout.order)
    catalog = checkout.order.cart.catalog
    lamp_seller, lamp_seller_id = await catalog.seller()
    lamp = await catalog.create(lamp_seller, title="Desk lamp", price=4500, stock=6)
    admin, _ = await catalog.admin()
    orders: dict[str, order_pb2.Order] = {}

    async def place(name: str, *, sizes: dict[str, int], mugs: int, lamps: int = 0) -> tuple[order_pb2.Order, Metadata]:
        buyer, _ = await shop.buyer()
        if lamps:
            await add_lamps(shop, buyer, lamp, lamps)
        orders[name] = placed = await shop.place(buyer, sizes=sizes, mugs=mugs)
        return placed, buyer

    shipped, shipped_buyer = await place("shipped", sizes={"42": 1, "43": 2}, mugs=1)
    await pay(checkout, shipped, shipped_buyer)
    paid, paid_buyer = await place("paid", sizes={}, mugs=2, lamps=1)
    await pay(checkout, paid, paid_buyer)
    unpaid_cancel, unpaid_buyer = await place("cancelled-unpaid", sizes={"41": 1}, mugs=0, lamps=2)
    paid_cancel, paid_cancel_buyer = await place("cancelled-paid", sizes={"42": 1}, mugs=1)
    await pay(checkout, paid_cancel, paid_cancel_buyer)
    refunded, refunded_buyer = await place("refunded", sizes={}, mugs=0, lamps=1)
    refunded_payment = await pay(checkout, refunded, refunded_buyer)
    await place("unpaid", sizes={"41": 1}, mugs=0)

    orders_stub = checkout.order.stub
    await shop.status_becomes(shipped.id, shipped_buyer, order_pb2.ORDER_STATUS_PAID)
    await orders_stub.ShipOrder(
        order_pb2.ShipOrderRequest(id=shipped.id, carrier="DHL", tracking_number="SHOE-1"), metadata=shop.shoe_seller
    )
    await orders_stub.MarkDelivered(order_pb2.MarkDeliveredRequest(id=shipped.id), metadata=shop.shoe_seller)
    await orders_stub.CancelOrder(order_pb2.CancelOrderRequest(id=unpaid_cancel.id), metadata=unpaid_buyer)
    await shop.status_becomes(paid_cancel.id, paid_cancel_buyer, order_pb2.ORDER_STATUS_PAID)
    await orders_stub.CancelOrder(order_pb2.CancelOrderRequest(id=paid_cancel.id), metadata=paid_cancel_buyer)
    await shop.status_becomes(refunded.id, refunded_buyer, order_pb2.ORDER_STATUS_PAID)
    await checkout.payment.RefundPayment(
        payment_pb2.RefundPaymentRequest(id=refunded_payment, reason="damaged in the warehouse"), metadata=admin
    )
    await shop.status_becomes(paid_cancel.id, paid_cancel_buyer, order_pb2.ORDER_STATUS_REFUNDED)
    await shop.status_becomes(refunded.id, refunded_buyer, order_pb2.ORDER_STATUS_REFUNDED)
    await shop.status_becomes(paid.id, paid_buyer, order_pb2.ORDER_STATUS_PAID)
    return Day(shop, lamp_seller, lamp_seller_id, lamp, admin, orders)


_VOID = "o.status IN ('CANCELLED', 'REFUNDED')"
_SALES = f"""
SELECT
  COALESCE(SUM(l.unit_price * l.quantity) FILTER (WHERE o.paid_at IS NOT NULL), 0),
  COALESCE(SUM(l.unit_price * l.quantity) FILTER (WHERE o.paid_at IS NOT NULL AND {_VOID}), 0),
  COUNT(DISTINCT o.id) FILTER (WHERE o.paid_at IS NOT NULL AND NOT {_VOID}),
  COALESCE(SUM(l.quantity) FILTER (WHERE o.paid_at IS NOT NULL AND NOT {_VOID}), 0)
FROM order_lines l JOIN orders o ON o.id = l.order_id
WHERE l.seller_id = :seller
"""
_TOP = """
SELECT l.product_id, SUM(l.quantity), SUM(l.unit_price * l.quantity)
FROM order_lines l JOIN orders o ON o.id = l.order_id
WHERE l.seller_id = :seller AND o.paid_at IS NOT NULL AND o.status NOT IN ('CANCELLED', 'REFUNDED')
GROUP BY l.product_id
"""
_PARTS = """
SELECT o.id, o.status, f.status, SUM(l.unit_price * l.quantity), SUM(l.quantity)
FROM orders o
JOIN fulfilments f ON f.order_id = o.id
JOIN order_lines l ON l.order_id = o.id AND l.seller_id = f.seller_id
WHERE f.seller_id = :seller
GROUP BY o.id, o.status, f.status
"""
_PART_STATUS = {
    "AWAITING_PAYMENT": seller_pb2.SELLER_ORDER_STATUS_PENDING_PAYMENT,
    "TO_SHIP": seller_pb2.SELLER_ORDER_STATUS_PAID,
    "SHIPPED": seller_pb2.SELLER_ORDER_STATUS_SHIPPED,
    "DELIVERED": seller_pb2.SELLER_ORDER_STATUS_DELIVERED,
}


def _status(order_status: str, part_status: str) -> int:
    if order_status == "REFUNDED":
        return seller_pb2.SELLER_ORDER_STATUS_REFUNDED
    if order_status == "CANCELLED":
        return seller_pb2.SELLER_ORDER_STATUS_CANCELLED
    return _PART_STATUS[part_status]


async def expected(seller: SellerService, seller_id: str) -> dict[str, Any]:
    """The seller's figures, from the order service's orders, order_lines and fulfilments."""
    orders = seller.checkout.order
    ((gross, refunds, count, units),) = await orders.sql(_SALES, seller=seller_id)
    revenue = int(gross) - int(refunds)
    rate = seller.settings.seller_marketplace_fee_rate
    fee = (revenue * rate + FEE_BASIS_POINTS // 2) // FEE_BASIS_POINTS
    ((to_ship,),) = await orders.sql(
        "SELECT COUNT(*) FROM fulfilments WHERE seller_id = :seller AND status = 'TO_SHIP'", seller=seller_id
    )
    top = {str(product): (int(sold), int(amount)) for product, sold, amount in await orders.sql(_TOP, seller=seller_id)}
    parts = {
        str(order_id): (_status(order_status, part_status), int(total), int(quantity))
        for order_id, order_status, part_status, total, quantity in await orders.sql(_PARTS, seller=seller_id)
    }
    return {
        "revenue": revenue,
        "orders": int(count),
        "units": int(units),
        "average": (revenue * 2 + int(count)) // (2 * int(count)) if count else 0,
        "gross": int(gross),
        "refunds": int(refunds),
        "fee": fee,
        "net": revenue - fee,
        "to_ship": int(to_ship),
        "top": top,
        "parts": parts,
    }


async def seen(seller: SellerService, who: Metadata, seller_id: str = "") -> dict[str, Any]:
    """The same figures as the seller service answers them (all time; every page of the seller's orders)."""
    board = await seller.stub.GetDashboard(
        seller_pb2.GetDashboardRequest(
            period=seller_pb2.DASHBOARD_PERIOD_ALL_TIME, top_products_limit=50, seller_id=seller_id
        ),
        metadata=who,
    )
    parts: dict[str, tuple[int, int, int]] = {}
    token = ""
    while True:
        page = await seller.stub.ListSellerOrders(
            seller_pb2.ListSellerOrdersRequest(page_size=2, page_token=token, seller_id=seller_id), metadata=who
        )
        for part in page.orders:
            assert part.order_id not in parts
            parts[part.order_id] = (
                int(part.status),
                part.seller_total.units,
                sum(line.quantity for line in part.lines),
            )
        token = page.next_page_token
        if not token:
            break
    earnings = board.earnings
    return {
        "revenue": board.revenue.units,
        "orders": board.orders,
        "units": board.units_sold,
        "average": board.average_order_value.units,
        "gross": earnings.gross_sales.units,
        "refunds": earnings.refunds.units,
        "fee": earnings.marketplace_fee.units,
        "net": earnings.net_payable.units,
        "to_ship": board.orders_to_ship,
        "top": {top.product_id: (top.units_sold, top.revenue.units) for top in board.top_products},
        "parts": parts,
    }
