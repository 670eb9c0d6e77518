"""The stock statements of reservations: a reservation's lines are held, sold, released or returned in one
statement per table, whatever their number (a checkout does each once, so a statement per line added up).

Every writer of stock locks the product rows before their variants' rows, products in id order (AdjustStock and
the seller's edits load the product FOR UPDATE too), so two writers never wait on each other in opposite orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, and_, column, func, select, update, values
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.domain import ACTIVE
from services.catalog.stock_reservation import ReservationLine
from services.catalog.store.tables import product_variants, products

SOLD, RELEASED, RETURNED = "sold", "released", "returned"


def _lines_table(lines: Sequence[ReservationLine]) -> Any:
    return values(
        column("variant_id", String), column("product_id", String), column("quantity", Integer), name="line"
    ).data([(line.variant_id, line.product_id, line.quantity) for line in lines])


class HeldStock:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_products(self, product_ids: Sequence[str]) -> dict[str, str]:
        """Locks the products' rows (in id order); their status by id (an unknown product is missing)."""
        rows = await self.session.execute(
            select(products.c.id, products.c.status)
            .where(products.c.id.in_(sorted(set(product_ids))))
            .order_by(products.c.id)
            .with_for_update()
        )
        return {row.id: row.status for row in rows}

    async def hold(self, lines: Sequence[ReservationLine], now: datetime) -> dict[str, Any]:
        """Holds each line's units where its variant is ACTIVE and has them; the changed variants' (sku, stock,
        reserved) by variant id: a line missing from it changed nothing (and the caller gives up the whole)."""
        v = product_variants.c
        line = _lines_table(lines)
        result = await self.session.execute(
            update(product_variants)
            .where(
                v.id == line.c.variant_id,
                v.product_id == line.c.product_id,
                v.status == ACTIVE,
                v.stock - v.reserved >= line.c.quantity,
            )
            .values(reserved=v.reserved + line.c.quantity, updated_at=now)
            .returning(v.id, v.sku, v.stock, v.reserved)
        )
        return {row.id: row for row in result}

    async def settle(self, outcome: str, lines: Sequence[ReservationLine], now: datetime) -> dict[str, Any]:
        """Moves held or sold units: out of `reserved` and out of stock (SOLD), out of `reserved` only (RELEASED),
        or back into stock after a sale (RETURNED). The variants' (sku, stock, reserved) after it, by id."""
        v = product_variants.c
        line = _lines_table(lines)
        changes: dict[str, Any] = {
            SOLD: {"stock": v.stock - line.c.quantity, "reserved": v.reserved - line.c.quantity},
            RELEASED: {"reserved": v.reserved - line.c.quantity},
            RETURNED: {"stock": v.stock + line.c.quantity},
        }[outcome]
        result = await self.session.execute(
            update(product_variants)
            .where(v.id == line.c.variant_id)
            .values(**changes, updated_at=now)
            .returning(v.id, v.sku, v.stock, v.reserved)
        )
        return {row.id: row for row in result}

    async def refresh_totals(self, product_ids: Sequence[str], now: datetime) -> dict[str, Any]:
        """Recomputes each product's stock and reserved from its ACTIVE variants; the products' (seller_id, stock,
        reserved) by id."""
        v, c = product_variants.c, products.c
        active = and_(v.product_id == c.id, v.status == ACTIVE)
        result = await self.session.execute(
            update(products)
            .where(c.id.in_(sorted(set(product_ids))))
            .values(
                stock=select(func.coalesce(func.sum(v.stock), 0)).where(active).scalar_subquery(),
                reserved=select(func.coalesce(func.sum(v.reserved), 0)).where(active).scalar_subquery(),
                updated_at=now,
            )
            .returning(c.id, c.seller_id, c.stock, c.reserved)
        )
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
