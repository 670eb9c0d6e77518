"""Order emails through the five real services and notify on the real streams: paid, shipped, delivered (one
each), a seller's first sale of a product (once), a declined payment and a cancellation; order emails off."""

from __future__ import annotations

import pytest
from google.protobuf import field_mask_pb2

from marketplace.notify.v1 import notify_pb2
from marketplace.order.v1 import order_pb2
from marketplace.payment.v1 import payment_pb2
from tests.checkout.conftest import Checkout, StartCheckout
from tests.checkout.test_saga import pay
from tests.notify.conftest import Notify, StartNotify
from tests.notify.mail import body_text, html_text, mails, one_mail, settled
from tests.order.support import Shop
from tests.support.polling import eventually


@pytest.fixture
async def stack(start_checkout: StartCheckout, start_notify: StartNotify) -> tuple[Checkout, Notify]:
    checkout = await start_checkout()
    # Before any user registers: notify learns every address from UserRegistered.
    notify = await start_notify(checkout.order.cart.catalog.auth.running.address)
    return checkout, notify


async def email_of(checkout: Checkout, user_id: str) -> str:
    ((email,),) = await checkout.order.cart.catalog.auth.sql("SELECT email FROM users WHERE id = :id", id=user_id)
    return str(email)


def usd(units: int) -> str:
    return f"${units // 100}.{units % 100:02d}"


def ref(order_id: str) -> str:
    return "#" + order_id.replace("-", "")[-8:].upper()


async def test_paid_shipped_and_delivered_each_send_one_email(stack: tuple[Checkout, Notify]) -> None:
    checkout, notify = stack
    shop = await Shop.open(checkout.order)
    me, buyer_id = await shop.buyer()
    buyer = await email_of(checkout, buyer_id)
    seller = await email_of(checkout, shop.mug_seller_id)
    await one_mail(notify, buyer, subject=f"Welcome to the marketplace, {buyer.split('@')[0]}")

    placed = await shop.place(me, sizes={}, mugs=2)
    await pay(checkout, placed, me)
    paid = await one_mail(notify, buyer, subject=f"Order {ref(placed.id)} is paid: $39.98")
    assert "2 × Insulated travel mug at $19.99" in body_text(paid)
    assert f"payment of $39.98 for order {placed.id}" in body_text(paid)
    assert "<li>2 × Insulated travel mug at $19.99</li>" in html_text(paid)
    first_sale = await one_mail(notify, seller, subject="First sale: Insulated travel mug")
    assert f"(2 in order {placed.id}, $39.98)" in body_text(first_sale)

    ship = order_pb2.ShipOrderRequest(id=placed.id, carrier="DHL", tracking_number="MUG-1")
    await checkout.order.stub.ShipOrder(ship, metadata=shop.mug_seller)
    shipped = await one_mail(notify, buyer, subject=f"Order {ref(placed.id)}: a parcel is on its way")
    assert "with DHL, tracking number MUG-1" in body_text(shipped)
    assert "Every part of your order has now shipped." in body_text(shipped)

    await checkout.order.stub.MarkDelivered(order_pb2.MarkDeliveredRequest(id=placed.id), metadata=shop.mug_seller)
    delivered = await one_mail(notify, buyer, subject=f"Order {ref(placed.id)}: a parcel was delivered")
    assert "Every part of your order has now arrived." in body_text(delivered)
    assert "2 × Insulated travel mug" in body_text(delivered)

    # Exactly these four, and the list says so.
    assert len(notify.mail.mails_to(buyer)) == 4
    listed = await notify.stub.ListNotifications(notify_pb2.ListNotificationsRequest(), metadata=me)
    assert [item.template for item in listed.notifications] == [
        "order_delivered",
        "order_shipped",
        "order_paid",
        "welcome",
    ]
    assert {item.status for item in listed.notifications} == {notify_pb2.NOTIFICATION_STATUS_SENT}

    # The mug's second sale is no first sale.
    again = await shop.place(me, sizes={}, mugs=1)
    await pay(checkout, again, me)
    await one_mail(notify, buyer, subject=f"Order {ref(again.id)} is paid: $19.99")
    assert len(await mails(notify, seller, "First sale: Insulated travel mug")) == 1


async def test_a_declined_payment_and_a_cancellation_are_emailed(stack: tuple[Checkout, Notify]) -> None:
    checkout, notify = stack
    shop = await Shop.open(checkout.order)
    me, buyer_id = await shop.buyer()
    buyer = await email_of(checkout, buyer_id)
    placed = await shop.place(me, sizes={"42": 1}, mugs=0)

    await pay(checkout, placed, me, outcome=payment_pb2.LOCAL_OUTCOME_DECLINE)
    failed = await one_mail(notify, buyer, subject="Your payment of $80.00 did not go through")
    assert f"for order {placed.id} failed: " in body_text(failed)

    await checkout.order.stub.CancelOrder(order_pb2.CancelOrderRequest(id=placed.id), metadata=me)
    cancelled = await one_mail(notify, buyer, subject=f"Order {ref(placed.id)} is cancelled")
    assert "Nothing was charged." in body_text(cancelled)
    assert "1 × Trail running shoe at $80.00" in body_text(cancelled)

    # A paid order cancelled: the cancellation says a refund follows, and the refund is emailed.
    paid = await shop.place(me, sizes={}, mugs=1)
    await pay(checkout, paid, me)
    await shop.status_becomes(paid.id, me, order_pb2.ORDER_STATUS_PAID)
    await checkout.order.stub.CancelOrder(order_pb2.CancelOrderRequest(id=paid.id), metadata=me)
    total = usd(paid.total.units)  # the shoe is still in the cart: the first order was never paid
    cancelled = await one_mail(notify, buyer, subject=f"Order {ref(paid.id)} is cancelled")
    assert f"You paid for it: {total} goes back to you" in body_text(cancelled)
    refunded = await one_mail(notify, buyer, subject=f"{total} refunded for order {ref(paid.id)}", timeout=15)
    assert f"we refunded {total} for order {paid.id}" in body_text(refunded)


async def test_order_emails_turned_off_are_recorded_as_skipped_and_not_sent(stack: tuple[Checkout, Notify]) -> None:
    checkout, notify = stack
    shop = await Shop.open(checkout.order)
    me, buyer_id = await shop.buyer()
    buyer = await email_of(checkout, buyer_id)
    await one_mail(notify, buyer)  # the welcome
    await notify.stub.UpdatePreferences(
        notify_pb2.UpdatePreferencesRequest(
            preferences=notify_pb2.NotificationPreferences(order_updates_email=False),
            update_mask=field_mask_pb2.FieldMask(paths=["order_updates_email"]),
        ),
        metadata=me,
    )
    placed = await shop.place(me, sizes={}, mugs=1)
    await pay(checkout, placed, me)
    await shop.status_becomes(placed.id, me, order_pb2.ORDER_STATUS_PAID)
    await checkout.order.stub.ShipOrder(
        order_pb2.ShipOrderRequest(id=placed.id, carrier="DHL", tracking_number="X-1"), metadata=shop.mug_seller
    )

    async def recorded() -> bool:
        kinds = [row.kind for row in await notify.records(buyer_id)]
        return kinds == ["welcome", "order_paid", "order_shipped"] and await settled(notify)

    await eventually(recorded, timeout=10, message="order notifications not recorded")
    rows = await notify.records(buyer_id)
    assert [(row.status, row.status_reason) for row in rows[1:]] == [
        ("SKIPPED", "the user turned these emails off"),
        ("SKIPPED", "the user turned these emails off"),
    ]
    assert [mail["Subject"] for mail in notify.mail.mails_to(buyer)] == [rows[0].subject]
    listed = await notify.stub.ListNotifications(notify_pb2.ListNotificationsRequest(), metadata=me)
    assert [item.status for item in listed.notifications][:2] == [notify_pb2.NOTIFICATION_STATUS_SKIPPED] * 2
    # The seller's first sale is the seller's preference, not the buyer's.
    seller = await email_of(checkout, shop.mug_seller_id)
    await one_mail(notify, seller, subject="First sale: Insulated travel mug")


async def test_users_registered_before_notify_ran_are_looked_up_in_auth(
    start_checkout: StartCheckout, start_notify: StartNotify
) -> None:
    checkout = await start_checkout()
    shop = await Shop.open(checkout.order)
    me, buyer_id = await shop.buyer()
    # Notify starts after every UserRegistered (its group reads only what comes next): it never heard of them.
    notify = await start_notify(checkout.order.cart.catalog.auth.running.address)
    buyer = await email_of(checkout, buyer_id)
    placed = await shop.place(me, sizes={}, mugs=1)
    await pay(checkout, placed, me)
    paid = await one_mail(notify, buyer, subject=f"Order {ref(placed.id)} is paid: $19.99")
    assert paid["To"] == f"{buyer.split('@')[0]} <{buyer}>"
    seller = await email_of(checkout, shop.mug_seller_id)
    await one_mail(notify, seller, subject="First sale: Insulated travel mug")
    rows = await notify.sql(
        "SELECT user_id FROM recipients WHERE user_id IN (:a, :b)", a=buyer_id, b=shop.mug_seller_id
    )
    assert len(rows) == 2  # remembered
