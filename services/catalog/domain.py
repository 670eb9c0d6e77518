"""The catalog's domain: products, their stock, and reservations of stock for orders. Standard library only.

A product's `stock` is what is on hand; `reserved` is what open reservations hold; buyers can order
`available = stock - reserved`. Aggregates record the events of what happened in `events`; the unit of work
writes them to the outbox in the same commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.kit.errors import FailedPrecondition, NotFound, PermissionDenied

ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
ARCHIVED = "ARCHIVED"
LISTABLE_STATUSES = (ACTIVE, INACTIVE)

HELD = "HELD"
COMMITTED = "COMMITTED"
RELEASED = "RELEASED"
EXPIRED = "EXPIRED"

# Why a product's stock changed (StockChanged.reason).
ADJUSTMENT = "ADJUSTMENT"
RESERVED = "RESERVED"
RELEASED_STOCK = "RELEASED"
SOLD = "SOLD"

# The fields UpdateProduct may change, and those that feed the search document and embedding.
EDITABLE_FIELDS = ("sku", "title", "description", "price", "category", "brand", "attributes", "status")
TEXT_FIELDS = frozenset({"title", "description", "brand", "category", "attributes"})


@dataclass(frozen=True)
class Caller:
    """Who asks, as far as the catalog cares: a user id (or None when anonymous) and whether they may see and
    change everything (admins; services read everything)."""

    user_id: str | None
    is_admin: bool = False
    is_service: bool = False


@dataclass(frozen=True)
class ProductImage:
    id: str
    position: int
    url: str
    thumbnail_url: str
    content_key: str
    content_file_id: str
    thumbnail_key: str
    thumbnail_file_id: str
    content_type: str
    created_at: datetime


# --- events -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductCreated:
    product: Product


@dataclass(frozen=True)
class ProductUpdated:
    product: Product
    changed_fields: list[str]


@dataclass(frozen=True)
class ProductDeleted:
    product_id: str
    seller_id: str
    sku: str


@dataclass(frozen=True)
class StockChanged:
    product_id: str
    seller_id: str
    old_stock: int
    new_stock: int
    available: int
    low_stock: bool
    reason: str


def stock_changed(
    *, product_id: str, seller_id: str, old_stock: int, new_stock: int, reserved: int, threshold: int, reason: str
) -> StockChanged:
    available = new_stock - reserved
    return StockChanged(
        product_id=product_id,
        seller_id=seller_id,
        old_stock=old_stock,
        new_stock=new_stock,
        available=available,
        low_stock=available <= threshold,
        reason=reason,
    )


# --- products -----------------------------------------------------------------------------------------------


@dataclass
class Product:
    id: str
    seller_id: str
    sku: str
    title: str
    description: str
    category: str
    brand: str
    attributes: dict[str, str]
    price_units: int
    currency: str
    stock: int
    reserved: int
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    images: list[ProductImage] = field(default_factory=list)
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def create(
        cls,
        *,
        id: str,
        seller_id: str,
        sku: str,
        title: str,
        description: str,
        category: str,
        brand: str,
        attributes: Mapping[str, str],
        price_units: int,
        currency: str,
        stock: int,
        now: datetime,
    ) -> Product:
        if price_units <= 0:
            raise FailedPrecondition("the price must be more than zero", reason="INVALID_PRICE")
        if stock < 0:
            raise FailedPrecondition("stock cannot be negative", reason="INSUFFICIENT_STOCK")
        product = cls(
            id=id,
            seller_id=seller_id,
            sku=sku,
            title=title,
            description=description,
            category=category,
            brand=brand,
            attributes=dict(attributes),
            price_units=price_units,
            currency=currency,
            stock=stock,
            reserved=0,
            status=ACTIVE,
            version=1,
            created_at=now,
            updated_at=now,
        )
        product.events.append(ProductCreated(product))
        return product

    @property
    def available(self) -> int:
        return self.stock - self.reserved

    def can_be_edited_by(self, caller: Caller) -> bool:
        return caller.is_admin or (caller.user_id is not None and caller.user_id == self.seller_id)

    def ensure_can_edit(self, caller: Caller) -> None:
        """Only the product's seller or an admin writes."""
        if not self.can_be_edited_by(caller):
            raise PermissionDenied("only the product's seller may change it", reason="NOT_PRODUCT_OWNER")

    def ensure_visible_to(self, caller: Caller) -> None:
        """Active products are public; others only to their seller, admins and services (as if absent)."""
        if self.status != ACTIVE and not (caller.is_service or self.can_be_edited_by(caller)):
            raise NotFound("product not found", metadata={"product_id": self.id})

    def _ensure_not_archived(self) -> None:
        if self.status == ARCHIVED:
            raise FailedPrecondition(
                "the product is archived", reason="PRODUCT_ARCHIVED", metadata={"product_id": self.id}
            )

    def update(self, changes: Mapping[str, Any], now: datetime) -> list[str]:
        """Applies `changes` (field -> new value; price as (units, currency)); returns the fields that changed."""
        self._ensure_not_archived()
        changed: list[str] = []
        for name, value in changes.items():
            if name not in EDITABLE_FIELDS:
                raise ValueError(f"{name} cannot be updated")
            if name == "price":
                units, currency = value
                if units <= 0:
                    raise FailedPrecondition("the price must be more than zero", reason="INVALID_PRICE")
                if (units, currency) != (self.price_units, self.currency):
                    self.price_units, self.currency = units, currency
                    changed.append(name)
                continue
            if name == "status" and value not in LISTABLE_STATUSES:
                raise FailedPrecondition("status can only be ACTIVE or INACTIVE", reason="INVALID_STATUS")
            if name == "attributes":
                value = dict(value)
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed.append(name)
        if changed:
            self._touch(now)
            self.events.append(ProductUpdated(self, changed))
        return changed

    def archive(self, now: datetime) -> bool:
        """DeleteProduct: final. Archiving an archived product changes nothing (returns False)."""
        if self.status == ARCHIVED:
            return False
        self.status = ARCHIVED
        self._touch(now)
        self.events.append(ProductDeleted(product_id=self.id, seller_id=self.seller_id, sku=self.sku))
        return True

    def adjust_stock(self, delta: int, now: datetime, *, low_stock_threshold: int) -> None:
        """Adds `delta` on-hand units; the units held by reservations can never be taken away."""
        self._ensure_not_archived()
        new_stock = self.stock + delta
        if new_stock < self.reserved:
            raise FailedPrecondition(
                "stock cannot drop below the units already reserved or sold out",
                reason="INSUFFICIENT_STOCK",
                metadata={"product_id": self.id, "available": str(self.available)},
            )
        old_stock, self.stock = self.stock, new_stock
        self._touch(now)
        self.events.append(
            stock_changed(
                product_id=self.id,
                seller_id=self.seller_id,
                old_stock=old_stock,
                new_stock=new_stock,
                reserved=self.reserved,
                threshold=low_stock_threshold,
                reason=ADJUSTMENT,
            )
        )

    def ensure_can_add_image(self, max_images: int) -> None:
        self._ensure_not_archived()
        if len(self.images) >= max_images:
            raise FailedPrecondition(
                f"a product has at most {max_images} images",
                reason="TOO_MANY_IMAGES",
                metadata={"product_id": self.id, "max_images": str(max_images)},
            )

    def image(self, image_id: str) -> ProductImage:
        for image in self.images:
            if image.id == image_id:
                return image
        raise NotFound("image not found", metadata={"product_id": self.id, "image_id": image_id})

    def touch(self, now: datetime) -> None:
        """An image was added or removed: the product changed."""
        self._touch(now)

    def _touch(self, now: datetime) -> None:
        self.updated_at = now
        self.version += 1


# --- reservations -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReservationLine:
    product_id: str
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
        if self.status in (RELEASED, EXPIRED):
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
        if self.status in (RELEASED, EXPIRED):
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

    def record_stock_change(self, change: StockChanged) -> None:
        self.events.append(change)
