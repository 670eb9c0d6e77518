"""A reservation of stock for an order: HELD, then COMMITTED (paid), RELEASED (cancelled) or EXPIRED (never
paid); a COMMITTED one becomes RETURNED when its paid order is cancelled before shipping. Standard library only;
the units it holds are counted on the variants (domain.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.catalog.domain import StockChanged
from services.kit.errors import FailedPrecondition

HELD = "HELD"
COMMITTED = "COMMITTED"
RELEASED = "RELEASED"
EXPIRED = "EXPIRED"
RETURNED = "RETURNED"


@dataclass(frozen=True)
class ReservationLine:
    product_id: str
    variant_id: str
    quantity: int


@dataclass
class Reservation:
    """Stock held for an order: HELD, then COMMITTED (paid), RELEASED (cancelled) or EXPIRED (never paid)."""

    id: str
    order_id: str
    status: str
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    lines: list[ReservationLine]
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    def commit(self, now: datetime) -> bool:
        """True when the units must now be sold; False when it was committed already (a repeat)."""
        if self.status == COMMITTED:
            return False
        if self.status in (RELEASED, EXPIRED, RETURNED):
            raise FailedPrecondition(
                f"the reservation was {self.status.lower()}",
                reason="RESERVATION_RELEASED",
                metadata={"reservation_id": self.id, "status": self.status},
            )
        self.status = COMMITTED
        self.updated_at = now
        return True

    def release(self, now: datetime, *, expired: bool = False) -> bool:
        """True when the units must now be returned; False when it was released or expired already."""
        if self.status in (RELEASED, EXPIRED, RETURNED):
            return False
        if self.status == COMMITTED:
            raise FailedPrecondition(
                "the reservation was committed: its units are sold",
                reason="RESERVATION_COMMITTED",
                metadata={"reservation_id": self.id},
            )
        self.status = EXPIRED if expired else RELEASED
        self.updated_at = now
        return True

    def give_back(self, now: datetime) -> bool:
        """The order is cancelled: True when sold units must go back to stock (COMMITTED), False when nothing is
        owed or it was done already. Held units are released instead (`release`)."""
        if self.status != COMMITTED:
            return False
        self.status = RETURNED
        self.updated_at = now
        return True

    def record_stock_change(self, change: StockChanged) -> None:
        self.events.append(change)
