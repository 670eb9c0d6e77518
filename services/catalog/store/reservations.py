"""The reservations repository: a reservation's claim, lines, status and expiry (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.stock_reservation import Reservation, ReservationLine
from services.catalog.store.tables import reservation_items, reservations

# Built once with bound parameters: SQLAlchemy then reuses each one's memoized cache key (docs/kit.md, "Data").
_CLAIM = (
    pg_insert(reservations)
    .values(status="HELD")
    .on_conflict_do_nothing(index_elements=["id"])
    .returning(reservations.c.id)
)
_ADD_LINES = insert(reservation_items)
_RESERVATION = select(reservations).where(reservations.c.id == bindparam("reservation_id"))
_RESERVATION_FOR_UPDATE = _RESERVATION.with_for_update()
_LINES = (
    select(reservation_items.c.product_id, reservation_items.c.variant_id, reservation_items.c.quantity)
    .where(reservation_items.c.reservation_id == bindparam("reservation_id"))
    .order_by(reservation_items.c.product_id, reservation_items.c.variant_id)
)
_SAVE_STATUS = update(reservations).where(reservations.c.id == bindparam("reservation_key"))


class Reservations:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, reservation_id: str, order_id: str, expires_at: datetime, now: datetime) -> bool:
        """Inserts a HELD reservation; False when one with this id exists (a concurrent twin waits for ours)."""
        result = await self.session.execute(
            _CLAIM,
            {
                "id": reservation_id,
                "order_id": order_id,
                "expires_at": expires_at,
                "created_at": now,
                "updated_at": now,
            },
        )
        return result.first() is not None

    async def add_lines(self, reservation_id: str, lines: Sequence[ReservationLine]) -> None:
        await self.session.execute(
            _ADD_LINES,
            [
                {
                    "reservation_id": reservation_id,
                    "variant_id": line.variant_id,
                    "product_id": line.product_id,
                    "quantity": line.quantity,
                }
                for line in lines
            ],
        )

    async def get(self, reservation_id: str, *, for_update: bool = False) -> Reservation | None:
        statement = _RESERVATION_FOR_UPDATE if for_update else _RESERVATION
        row = (await self.session.execute(statement, {"reservation_id": reservation_id})).first()
        if row is None:
            return None
        lines = await self.session.execute(_LINES, {"reservation_id": reservation_id})
        return Reservation(
            id=row.id,
            order_id=row.order_id,
            status=row.status,
            expires_at=row.expires_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            lines=[ReservationLine(line.product_id, line.variant_id, line.quantity) for line in lines],
        )

    async def save_status(self, reservation: Reservation) -> None:
        await self.session.execute(
            _SAVE_STATUS,
            {"reservation_key": reservation.id, "status": reservation.status, "updated_at": reservation.updated_at},
        )

    async def lock_expired(self, now: datetime, limit: int) -> list[str]:
        """Ids of HELD reservations past their expiry, locked; rows another sweeper holds are skipped."""
        rows = await self.session.execute(
            select(reservations.c.id)
            .where(reservations.c.status == "HELD", reservations.c.expires_at <= now)
            .order_by(reservations.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [row[0] for row in rows]
