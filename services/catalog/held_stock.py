"""The stock statements of reservations: a reservation's lines are held, sold, released or returned in one
statement per table, whatever their number (a checkout does each once, so a statement per line added up).

Every writer of stock locks the product rows before their variants' rows, products in id order (AdjustStock and
the seller's edits load the product FOR UPDATE too), so two writers never wait on each other in opposite orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, column, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.domain import ACTIVE
from services.catalog.stock_reservation import ReservationLine
from services.catalog.store.tables import product_variants, products

SOLD, RELEASED, RETURNED = "sold", "released", "returned"


# The lines as a table from three arrays, so each statement is built once (with bound parameters: SQLAlchemy then
# reuses its memoized cache key instead of building and hashing a statement per call; docs/kit.md, "Data").
_line = (
    func.unnest(
        bindparam("variant_ids", type_=ARRAY(String)),
        bindparam("product_ids", type_=ARRAY(String)),
        bindparam("quantities", type_=ARRAY(Integer)),
    )
    .table_valued(column("variant_id", String), column("product_id", String), column("quantity", Integer))
    .render_derived(name="line")
)
_v, _p = product_variants.c, products.c
_RETURNED_VARIANT = (_v.id, _v.sku, _v.stock, _v.reserved)

_LOCK_PRODUCTS = (
    select(_p.id, _p.status)
    .where(_p.id.in_(bindparam("product_ids", expanding=True)))
    .order_by(_p.id)
    .with_for_update()
)
_HOLD = (
    update(product_variants)
    .where(
        _v.id == _line.c.variant_id,
        _v.product_id == _line.c.product_id,
        _v.status == ACTIVE,
        _v.stock - _v.reserved >= _line.c.quantity,
    )
    .values(reserved=_v.reserved + _line.c.quantity, updated_at=bindparam("now"))
    .returning(*_RETURNED_VARIANT)
)
_SETTLE = {
    outcome: update(product_variants)
    .where(_v.id == _line.c.variant_id)
    .values(**changes, updated_at=bindparam("now"))
    .returning(*_RETURNED_VARIANT)
    for outcome, changes in {
        SOLD: {"stock": _v.stock - _line.c.quantity, "reserved": _v.reserved - _line.c.quantity},
        RELEASED: {"reserved": _v.reserved - _line.c.quantity},
        RETURNED: {"stock": _v.stock + _line.c.quantity},
    }.items()
}
_active = and_(_v.product_id == _p.id, _v.status == ACTIVE)
_REFRESH_TOTALS = (
    update(products)
    .where(_p.id.in_(bindparam("product_ids", expanding=True)))
    .values(
        stock=select(func.coalesce(func.sum(_v.stock), 0)).where(_active).scalar_subquery(),
        reserved=select(func.coalesce(func.sum(_v.reserved), 0)).where(_active).scalar_subquery(),
        updated_at=bindparam("now"),
    )
    .returning(_p.id, _p.seller_id, _p.stock, _p.reserved)
)


def _lines_parameters(lines: Sequence[ReservationLine], now: datetime) -> dict[str, Any]:
    return {
        "variant_ids": [line.variant_id for line in lines],
        "product_ids": [line.product_id for line in lines],
        "quantities": [line.quantity for line in lines],
        "now": now,
    }


class HeldStock:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_products(self, product_ids: Sequence[str]) -> dict[str, str]:
        """Locks the products' rows (in id order); their status by id (an unknown product is missing)."""
        rows = await self.session.execute(_LOCK_PRODUCTS, {"product_ids": sorted(set(product_ids))})
        return {row.id: row.status for row in rows}

    async def hold(self, lines: Sequence[ReservationLine], now: datetime) -> dict[str, Any]:
        """Holds each line's units where its variant is ACTIVE and has them; the changed variants' (sku, stock,
        reserved) by variant id: a line missing from it changed nothing (and the caller gives up the whole)."""
        result = await self.session.execute(_HOLD, _lines_parameters(lines, now))
        return {row.id: row for row in result}

    async def settle(self, outcome: str, lines: Sequence[ReservationLine], now: datetime) -> dict[str, Any]:
        """Moves held or sold units: out of `reserved` and out of stock (SOLD), out of `reserved` only (RELEASED),
        or back into stock after a sale (RETURNED). The variants' (sku, stock, reserved) after it, by id."""
        result = await self.session.execute(_SETTLE[outcome], _lines_parameters(lines, now))
        return {row.id: row for row in result}

    async def refresh_totals(self, product_ids: Sequence[str], now: datetime) -> dict[str, Any]:
        """Recomputes each product's stock and reserved from its ACTIVE variants; the products' (seller_id, stock,
        reserved) by id."""
        result = await self.session.execute(_REFRESH_TOTALS, {"product_ids": sorted(set(product_ids)), "now": now})
        return {row.id: row for row in result}

    async def availability(self, line: ReservationLine) -> tuple[str, int] | None:
        """The variant's status and units available (to say why a line could not be held)."""
        v = product_variants.c
        row = (
            await self.session.execute(
                select(v.status, v.stock - v.reserved).where(v.id == line.variant_id, v.product_id == line.product_id)
            )
        ).first()
        return None if row is None else (row[0], int(row[1]))
