"""Stock reservations for orders: reserve all or nothing, commit when paid, release on cancel or expiry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import domain
from services.catalog.handlers.deps import Deps
from services.catalog.stock_reservation import HELD, Reservation, ReservationLine
from services.catalog.store import Products, Reservations
from services.kit.errors import FailedPrecondition, NotFound
from services.kit.uow import UnitOfWork


@dataclass(frozen=True)
class ReservedItem:
    product_id: str
    variant_id: str
    option_values: dict[str, str]
    quantity: int
    seller_id: str
    sku: str
    title: str
    price_units: int
    currency: str
    image_url: str


@dataclass(frozen=True)
class ReservationResult:
    reservation_id: str
    items: list[ReservedItem]
    expires_at: datetime


async def _reserved_items(session: AsyncSession, lines: Sequence[ReservationLine]) -> list[ReservedItem]:
    products = await Products(session).many([line.product_id for line in lines])
    items = []
    for line in lines:
        product = products[line.product_id]
        variant = product.variant(line.variant_id)
        items.append(
            ReservedItem(
                product_id=product.id,
                variant_id=variant.id,
                option_values=dict(variant.option_values),
                quantity=line.quantity,
                seller_id=product.seller_id,
                sku=variant.sku,
                title=product.title,
                price_units=product.unit_price(variant),
                currency=product.currency,
                image_url=product.images[0].thumbnail_url if product.images else "",
            )
        )
    return items


async def _existing_reservation(deps: Deps, reservation_id: str, order: Sequence[str]) -> ReservationResult:
    async with deps.sessions() as session:
        reservation = await Reservations(session).get(reservation_id)
        if reservation is None:
            raise NotFound("reservation not found", metadata={"reservation_id": reservation_id})
        rank = {variant_id: index for index, variant_id in enumerate(order)}
        lines = sorted(reservation.lines, key=lambda line: rank.get(line.variant_id, len(rank)))
        return ReservationResult(reservation.id, await _reserved_items(session, lines), reservation.expires_at)


async def reserve_stock(
    deps: Deps,
    *,
    reservation_id: str,
    order_id: str,
    lines: Sequence[ReservationLine],
    ttl: timedelta | None = None,
) -> ReservationResult:
    """All or nothing: every line is held, or nothing changes. A repeat of the same id returns the first result."""
    requested = [line.variant_id for line in lines]
    now = deps.clock()
    expires_at = now + (ttl or timedelta(seconds=deps.settings.catalog_reservation_ttl_seconds))
    async with deps.uow() as uow:
        if not await Reservations(uow.session).claim(reservation_id, order_id, expires_at, now):
            await uow.rollback()
            return await _existing_reservation(deps, reservation_id, requested)
        reservation = uow.track(Reservation(reservation_id, order_id, HELD, expires_at, now, now, list(lines)))
        products = Products(uow.session)
        # Always lock products in id order (and a product before its variants): two reservations sharing
        # products never deadlock.
        for line in sorted(lines, key=lambda line: (line.product_id, line.variant_id)):
            status = await products.lock_status(line.product_id)
            variant = (
                None
                if status != domain.ACTIVE
                else await products.reserve(line.product_id, line.variant_id, line.quantity, now)
            )
            if variant is None:
                raise await _unavailable(products, line, status)
            totals = await products.refresh_totals(line.product_id, now)
            reservation.record_stock_change(
                domain.stock_changed(
                    product_id=line.product_id,
                    seller_id=totals.seller_id,
                    variant_id=line.variant_id,
                    sku=variant.sku,
                    old_stock=variant.stock,
                    new_stock=variant.stock,
                    reserved=variant.reserved,
                    threshold=deps.low_stock_threshold,
                    reason=domain.RESERVED,
                    product_available=totals.stock - totals.reserved,
                )
            )
        await Reservations(uow.session).add_lines(reservation_id, lines)
        items = await _reserved_items(uow.session, lines)
        await uow.commit()
    return ReservationResult(reservation_id, items, expires_at)


async def _unavailable(products: Products, line: ReservationLine, status: str | None) -> FailedPrecondition:
    where = {"product_id": line.product_id, "variant_id": line.variant_id}
    found = None if status != domain.ACTIVE else await products.variant_availability(line.product_id, line.variant_id)
    if found is None or found[0] != domain.ACTIVE:
        return FailedPrecondition("the product cannot be ordered", reason="PRODUCT_UNAVAILABLE", metadata=where)
    return FailedPrecondition(
        "not enough stock", reason="OUT_OF_STOCK", metadata=where | {"available": str(max(found[1], 0))}
    )


SOLD, RELEASED, RETURNED = "sold", "released", "returned"


async def _settle(uow: UnitOfWork, deps: Deps, reservation: Reservation, *, outcome: str) -> None:
    """Moves a reservation's units: out of `reserved` and out of stock (sold), out of `reserved` only (released),
    or back into stock after a sale (returned)."""
    products = Products(uow.session)
    now = deps.clock()
    reasons = {SOLD: domain.SOLD, RELEASED: domain.RELEASED_STOCK, RETURNED: domain.RETURNED_STOCK}
    for line in reservation.lines:  # in product id order, and a product's row before its variants'
        await products.lock_status(line.product_id)
        if outcome == SOLD:
            variant = await products.sell_reserved(line.variant_id, line.quantity, now)
            old_stock = variant.stock + line.quantity
        elif outcome == RETURNED:
            variant = await products.restock_sold(line.variant_id, line.quantity, now)
            old_stock = variant.stock - line.quantity
        else:
            variant = await products.unreserve(line.variant_id, line.quantity, now)
            old_stock = variant.stock
        totals = await products.refresh_totals(line.product_id, now)
        reservation.record_stock_change(
            domain.stock_changed(
                product_id=line.product_id,
                seller_id=totals.seller_id,
                variant_id=line.variant_id,
                sku=variant.sku,
                old_stock=old_stock,
                new_stock=variant.stock,
                reserved=variant.reserved,
                threshold=deps.low_stock_threshold,
                reason=reasons[outcome],
                product_available=totals.stock - totals.reserved,
            )
        )
    await Reservations(uow.session).save_status(reservation)


async def commit_in(uow: UnitOfWork, deps: Deps, reservation_id: str) -> None:
    reservation = await Reservations(uow.session).get(reservation_id, for_update=True)
    if reservation is None:
        raise NotFound("reservation not found", metadata={"reservation_id": reservation_id})
    if uow.track(reservation).commit(deps.clock()):
        await _settle(uow, deps, reservation, outcome=SOLD)


async def release_in(uow: UnitOfWork, deps: Deps, reservation_id: str, *, expired: bool = False) -> None:
    reservation = await Reservations(uow.session).get(reservation_id, for_update=True)
    if reservation is None:
        return  # releasing an unknown reservation succeeds: nothing is held
    if uow.track(reservation).release(deps.clock(), expired=expired):
        await _settle(uow, deps, reservation, outcome=RELEASED)


async def cancel_in(uow: UnitOfWork, deps: Deps, reservation_id: str) -> None:
    """The order is cancelled: held units are released, sold ones (a paid order) go back to stock."""
    reservation = await Reservations(uow.session).get(reservation_id, for_update=True)
    if reservation is None:
        return
    tracked = uow.track(reservation)
    now = deps.clock()
    if tracked.give_back(now):
        await _settle(uow, deps, reservation, outcome=RETURNED)
    elif tracked.release(now):
        await _settle(uow, deps, reservation, outcome=RELEASED)


async def commit_reservation(deps: Deps, reservation_id: str) -> None:
    async with deps.uow() as uow:
        await commit_in(uow, deps, reservation_id)
        await uow.commit()


async def release_reservation(deps: Deps, reservation_id: str) -> None:
    async with deps.uow() as uow:
        await release_in(uow, deps, reservation_id)
        await uow.commit()


async def release_expired(deps: Deps) -> int:
    """Releases one batch of HELD reservations past their expiry; returns how many."""
    async with deps.uow() as uow:
        expired = await Reservations(uow.session).lock_expired(
            deps.clock(), deps.settings.catalog_reservation_sweep_batch
        )
        for reservation_id in expired:
            await release_in(uow, deps, reservation_id, expired=True)
        await uow.commit()
    return len(expired)
