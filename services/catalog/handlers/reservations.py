"""Stock reservations for orders: reserve all or nothing, commit when paid, release on cancel or expiry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import domain
from services.catalog.handlers.deps import Deps
from services.catalog.held_stock import RELEASED, RETURNED, SOLD, HeldStock
from services.catalog.stock_reservation import HELD, Reservation, ReservationLine
from services.catalog.store.products import Products
from services.catalog.store.reservations import Reservations
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
    details = {
        row.variant_id: row for row in await Products(session).variant_details([line.variant_id for line in lines])
    }
    items = []
    for line in lines:
        row = details[line.variant_id]
        items.append(
            ReservedItem(
                product_id=row.product_id,
                variant_id=row.variant_id,
                option_values=dict(row.option_values),
                quantity=line.quantity,
                seller_id=row.seller_id,
                sku=row.sku,
                title=row.title,
                price_units=int(row.price_units),
                currency=row.currency,
                image_url=row.thumbnail_url or "",
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
        held = HeldStock(uow.session)
        in_order = sorted(lines, key=lambda line: (line.product_id, line.variant_id))
        statuses = await held.lock_products([line.product_id for line in in_order])
        for line in in_order:
            if statuses.get(line.product_id) != domain.ACTIVE:
                raise await _unavailable(held, line, statuses.get(line.product_id))
        variants = await held.hold(in_order, now)
        for line in in_order:
            if line.variant_id not in variants:
                raise await _unavailable(held, line, domain.ACTIVE)  # the transaction's holds are rolled back
        totals = await held.refresh_totals([line.product_id for line in in_order], now)
        for line in in_order:
            variant, product = variants[line.variant_id], totals[line.product_id]
            reservation.record_stock_change(
                domain.stock_changed(
                    product_id=line.product_id,
                    seller_id=product.seller_id,
                    variant_id=line.variant_id,
                    sku=variant.sku,
                    old_stock=variant.stock,
                    new_stock=variant.stock,
                    reserved=variant.reserved,
                    threshold=deps.low_stock_threshold,
                    reason=domain.RESERVED,
                    product_available=product.stock - product.reserved,
                )
            )
        await Reservations(uow.session).add_lines(reservation_id, lines)
        items = await _reserved_items(uow.session, lines)
        await uow.commit()
    return ReservationResult(reservation_id, items, expires_at)


async def _unavailable(held: HeldStock, line: ReservationLine, status: str | None) -> FailedPrecondition:
    where = {"product_id": line.product_id, "variant_id": line.variant_id}
    found = None if status != domain.ACTIVE else await held.availability(line)
    if found is None or found[0] != domain.ACTIVE:
        return FailedPrecondition("the product cannot be ordered", reason="PRODUCT_UNAVAILABLE", metadata=where)
    return FailedPrecondition(
        "not enough stock", reason="OUT_OF_STOCK", metadata=where | {"available": str(max(found[1], 0))}
    )


async def _settle(uow: UnitOfWork, deps: Deps, reservation: Reservation, *, outcome: str) -> None:
    """Moves a reservation's units: out of `reserved` and out of stock (sold), out of `reserved` only (released),
    or back into stock after a sale (returned)."""
    held = HeldStock(uow.session)
    now = deps.clock()
    lines = reservation.lines  # in product id order
    await held.lock_products([line.product_id for line in lines])
    variants = await held.settle(outcome, lines, now)
    totals = await held.refresh_totals([line.product_id for line in lines], now)
    reasons = {SOLD: domain.SOLD, RELEASED: domain.RELEASED_STOCK, RETURNED: domain.RETURNED_STOCK}
    before = {SOLD: 1, RELEASED: 0, RETURNED: -1}[outcome]  # how the stock moved: units back to the old stock
    for line in lines:
        variant, product = variants[line.variant_id], totals[line.product_id]
        reservation.record_stock_change(
            domain.stock_changed(
                product_id=line.product_id,
                seller_id=product.seller_id,
                variant_id=line.variant_id,
                sku=variant.sku,
                old_stock=variant.stock + before * line.quantity,
                new_stock=variant.stock,
                reserved=variant.reserved,
                threshold=deps.low_stock_threshold,
                reason=reasons[outcome],
                product_available=product.stock - product.reserved,
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
