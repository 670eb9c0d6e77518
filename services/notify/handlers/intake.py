"""Events -> notification records, in the consumer's transaction (the same one as its inbox row): a record is
made once per event, kind, user and subject matter, and a PENDING record is the relay's to hand to the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from services.kit.ids import new_id
from services.kit.uow import UnitOfWork
from services.notify import domain, store, templates
from services.notify.domain import Kind, Line, Notification, Recipient, describe_lines, format_money
from services.notify.handlers.deps import Deps


@dataclass(frozen=True)
class Event:
    """The event a notification answers."""

    id: str
    occurred_at: datetime


@dataclass(frozen=True)
class Amount:
    units: int
    currency: str

    def __str__(self) -> str:
        return format_money(self.units, self.currency)


def short_ref(order_id: str) -> str:
    """A short order reference for subject lines (the end of the id: UUIDv7s begin with the time)."""
    return f"#{order_id.replace('-', '')[-8:].upper()}"


async def notify(
    uow: UnitOfWork, deps: Deps, event: Event, kind: Kind, user_id: str, data: dict[str, str], *, about: str = ""
) -> Notification | None:
    """Records one notification of `kind` to `user_id`: PENDING to be sent, or SKIPPED with the reason.
    None when this event already made it."""
    session = uow.session
    now = deps.clock()
    recipient = await store.recipient(session, user_id)
    if recipient is None and deps.directory is not None:
        # Registered before notify first ran, or its UserRegistered is gone from the stream.
        recipient = await deps.directory.lookup(user_id)
        if recipient is not None:
            await store.remember_recipient(session, recipient, now)
    preferences = await store.load_preferences(session, user_id)
    name = recipient.greeting_name if recipient is not None else "there"
    values = {"name": name, **data}
    notification = Notification(
        id=new_id(),
        user_id=user_id,
        kind=kind.name,
        subject=templates.subject(kind.name, values),
        to_address=recipient.email if recipient is not None else "",
        to_name=recipient.display_name if recipient is not None else "",
        data=values,
        created_at=now,
    )
    if recipient is None or not recipient.email:
        notification.skip(domain.NO_ADDRESS)
    elif not preferences.wants(kind):
        notification.skip(domain.TURNED_OFF)
    elif now - event.occurred_at > deps.policy.max_event_age:
        notification.skip(domain.TOO_LATE)
    if not await store.add_notification(session, notification, event_id=event.id, about=about):
        return None
    return notification


async def user_registered(uow: UnitOfWork, deps: Deps, event: Event, recipient: Recipient) -> None:
    await store.remember_recipient(uow.session, recipient, deps.clock())
    await notify(uow, deps, event, domain.WELCOME, recipient.user_id, {"email": recipient.email})


async def profile_changed(uow: UnitOfWork, deps: Deps, *, user_id: str, display_name: str) -> None:
    """Emails from now on greet the user by their new name; the change itself sends nothing."""
    await store.rename_recipient(uow.session, user_id, display_name, deps.clock())


async def password_reset_requested(
    uow: UnitOfWork, deps: Deps, event: Event, *, user_id: str, email: str, token: str, expires_at: datetime | None
) -> None:
    if email:
        await store.remember_address(uow.session, user_id, email, deps.clock())
    data = {
        "reset_link": deps.policy.password_reset_url + quote(token, safe=""),
        "expires": f"{expires_at:%Y-%m-%d %H:%M} UTC" if expires_at is not None else "it expires",
    }
    notification = await notify(uow, deps, event, domain.PASSWORD_RESET, user_id, data)
    if notification is not None and not notification.final and expires_at is not None and expires_at <= deps.clock():
        notification.skip(domain.LINK_EXPIRED)
        await store.save_notification(uow.session, notification)


async def order_paid(
    uow: UnitOfWork,
    deps: Deps,
    event: Event,
    *,
    order_id: str,
    buyer_id: str,
    total: Amount,
    lines: list[tuple[str, str, Line]],
) -> None:
    """The buyer's receipt, and each seller's first sale of a product (`lines`: product id, seller id, line)."""
    data = {"order_id": order_id, "order_ref": short_ref(order_id), "total": str(total)}
    await notify(uow, deps, event, domain.ORDER_PAID, buyer_id, data | {"lines": _lines(lines)})
    sales = domain.sales_by_product(lines)
    sellers = {product_id: sale.seller_id for product_id, sale in sales.items()}
    first = await store.first_sales(uow.session, order_id, sellers, deps.clock())
    for product_id, sale in sales.items():
        if product_id not in first:
            continue
        values = {
            "order_id": order_id,
            "product_title": sale.title or "your product",
            "quantity": str(sale.quantity),
            "amount": format_money(sale.amount_units, sale.currency),
        }
        await notify(uow, deps, event, domain.FIRST_SALE, sale.seller_id, values, about=product_id)


async def order_shipped(
    uow: UnitOfWork,
    deps: Deps,
    event: Event,
    *,
    order_id: str,
    buyer_id: str,
    seller_id: str,
    carrier: str,
    tracking_number: str,
    lines: list[Line],
    all_shipped: bool,
) -> None:
    data = {
        "order_id": order_id,
        "order_ref": short_ref(order_id),
        "carrier": carrier or "the carrier",
        "tracking_number": tracking_number or "(none given)",
        "lines": describe_lines(lines),
        "progress": "Every part of your order has now shipped."
        if all_shipped
        else "Other parts follow from their sellers.",
    }
    await notify(uow, deps, event, domain.ORDER_SHIPPED, buyer_id, data, about=seller_id)


async def order_delivered(
    uow: UnitOfWork,
    deps: Deps,
    event: Event,
    *,
    order_id: str,
    buyer_id: str,
    seller_id: str,
    lines: list[Line],
    all_delivered: bool,
) -> None:
    data = {
        "order_id": order_id,
        "order_ref": short_ref(order_id),
        "lines": describe_lines(lines),
        "progress": "Every part of your order has now arrived. Enjoy!"
        if all_delivered
        else "Other parts are still on their way.",
    }
    await notify(uow, deps, event, domain.ORDER_DELIVERED, buyer_id, data, about=seller_id)


async def order_cancelled(
    uow: UnitOfWork,
    deps: Deps,
    event: Event,
    *,
    order_id: str,
    buyer_id: str,
    total: Amount,
    lines: list[Line],
    reason: str,
    was_paid: bool,
) -> None:
    data = {
        "order_id": order_id,
        "order_ref": short_ref(order_id),
        "total": str(total),
        "reason": reason or "cancelled",
        "lines": describe_lines(lines),
        "refund": f"You paid for it: {total} goes back to you, and we email you once it is refunded."
        if was_paid
        else "Nothing was charged.",
    }
    await notify(uow, deps, event, domain.ORDER_CANCELLED, buyer_id, data)


async def payment_failed(
    uow: UnitOfWork, deps: Deps, event: Event, *, order_id: str, buyer_id: str, amount: Amount, reason: str
) -> None:
    data = {
        "order_id": order_id,
        "order_ref": short_ref(order_id),
        "amount": str(amount),
        "reason": reason or "declined",
    }
    await notify(uow, deps, event, domain.PAYMENT_FAILED, buyer_id, data)


async def payment_refunded(
    uow: UnitOfWork, deps: Deps, event: Event, *, order_id: str, buyer_id: str, amount: Amount
) -> None:
    data = {"order_id": order_id, "order_ref": short_ref(order_id), "amount": str(amount)}
    await notify(uow, deps, event, domain.PAYMENT_REFUNDED, buyer_id, data)


def _lines(lines: list[tuple[str, str, Line]]) -> str:
    return describe_lines([line for _product, _seller, line in lines])
