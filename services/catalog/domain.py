"""The catalog's domain: products, their variants' stock, and reservations of stock for orders. Standard
library only.

A product is sold in one or more variants (services/catalog/variants.py). A variant's `stock` is what is on
hand; `reserved` is what open reservations hold; buyers can order `available = stock - reserved`. The
product's own stock figures are the sums over its ACTIVE variants. Aggregates record the events of what
happened in `events`; the unit of work writes them to the outbox in the same commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.catalog import variants
from services.catalog.variants import ProductOption, Variant, VariantSpec
from services.kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, PermissionDenied

ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
ARCHIVED = "ARCHIVED"
LISTABLE_STATUSES = (ACTIVE, INACTIVE)

# Why a product's stock changed (StockChanged.reason).
ADJUSTMENT = "ADJUSTMENT"
RESERVED = "RESERVED"
RELEASED_STOCK = "RELEASED"
SOLD = "SOLD"
RETURNED_STOCK = "RETURNED"

# The fields UpdateProduct may change, and those that feed the search document and embedding.
EDITABLE_FIELDS = ("sku", "title", "description", "price", "category", "brand", "attributes", "status", "options")
VARIANT_FIELDS = ("sku", "option_values", "price", "status")
# Option values are searchable: a change of them (or of the variants taking them) changes the search text.
TEXT_FIELDS = frozenset({"title", "description", "brand", "category", "attributes", "options"})


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
    """A variant's stock changed; `product_available` is the product's total after the change."""

    product_id: str
    seller_id: str
    variant_id: str
    sku: str
    old_stock: int
    new_stock: int
    available: int
    low_stock: bool
    reason: str
    product_available: int


def stock_changed(
    *,
    product_id: str,
    seller_id: str,
    variant_id: str,
    sku: str,
    old_stock: int,
    new_stock: int,
    reserved: int,
    threshold: int,
    reason: str,
    product_available: int,
) -> StockChanged:
    available = new_stock - reserved
    return StockChanged(
        product_id=product_id,
        seller_id=seller_id,
        variant_id=variant_id,
        sku=sku,
        old_stock=old_stock,
        new_stock=new_stock,
        available=available,
        low_stock=available <= threshold,
        reason=reason,
        product_available=product_available,
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
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    options: list[ProductOption] = field(default_factory=list)
    # Every variant, retired ones included (their SKUs stay taken); `live_variants` are the others.
    variants: list[Variant] = field(default_factory=list)
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
        new_id: Callable[[], str],
        options: Sequence[ProductOption] = (),
        variant_specs: Sequence[VariantSpec] = (),
    ) -> Product:
        """A new ACTIVE product with `variant_specs`, or the variants `variants.specs_for` makes."""
        if price_units <= 0:
            raise FailedPrecondition("the price must be more than zero", reason="INVALID_PRICE")
        if stock < 0:
            raise FailedPrecondition("stock cannot be negative", reason="INSUFFICIENT_STOCK")
        variants.ensure_valid_options(options)
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
            status=ACTIVE,
            version=1,
            created_at=now,
            updated_at=now,
            options=list(options),
        )
        for spec in variants.specs_for(sku, options, stock, variant_specs):
            product.variants.append(product._new_variant(spec, new_id(), now))
        variants.ensure_distinct(product.options, product.variants)
        variants.ensure_unique_skus(product.variants)
        product.events.append(ProductCreated(product))
        return product

    # --- stock over the variants ---

    @property
    def live_variants(self) -> list[Variant]:
        return [variant for variant in self.variants if variant.live]

    @property
    def stock(self) -> int:
        """Units on hand over the ACTIVE variants."""
        return sum(variant.stock for variant in self.variants if variant.status == ACTIVE)

    @property
    def reserved(self) -> int:
        return sum(variant.reserved for variant in self.variants if variant.status == ACTIVE)

    @property
    def available(self) -> int:
        return self.stock - self.reserved

    def unit_price(self, variant: Variant) -> int:
        return self.price_units if variant.own_price_units is None else variant.own_price_units

    def variant(self, variant_id: str) -> Variant:
        for variant in self.variants:
            if variant.id == variant_id:
                return variant
        raise NotFound("variant not found", metadata={"product_id": self.id, "variant_id": variant_id})

    def stock_variant(self, variant_id: str) -> Variant:
        """The variant AdjustStock changes: the one named, or the product's only live one."""
        if variant_id:
            return self.variant(variant_id)
        live = self.live_variants
        if len(live) != 1:
            raise InvalidArgument(
                "the product has several variants: name the one whose stock changes",
                violations=[
                    FieldViolation(
                        "variant_id", "required for a product with several variants", reason="VARIANT_REQUIRED"
                    )
                ],
            )
        return live[0]

    def _new_variant(self, spec: VariantSpec, variant_id: str, now: datetime) -> Variant:
        variants.ensure_declared(self.options, spec.option_values)
        if spec.own_price_units is not None and spec.own_price_units <= 0:
            raise FailedPrecondition("a variant's price must be more than zero", reason="INVALID_PRICE")
        if spec.stock < 0:
            raise FailedPrecondition("stock cannot be negative", reason="INSUFFICIENT_STOCK")
        return Variant(
            id=variant_id,
            sku=spec.sku,
            option_values={option.name: spec.option_values[option.name] for option in self.options},
            own_price_units=spec.own_price_units,
            stock=spec.stock,
            reserved=0,
            status=ACTIVE,
            created_at=now,
            updated_at=now,
        )

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
            if name == "options":
                if self._replace_options(list(value), now):
                    changed.append(name)
                continue
            if name == "attributes":
                value = dict(value)
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed.append(name)
        if "sku" in changed and not self.options and len(self.live_variants) == 1:
            # A product sold in one form: its only variant's SKU is the product's.
            self.live_variants[0].sku = self.sku
        if changed:
            self._touch(now)
            self.events.append(ProductUpdated(self, changed))
        return changed

    def _replace_options(self, options: list[ProductOption], now: datetime) -> bool:
        """The new option list: a new option gives every variant its first value, a removed one leaves them."""
        variants.ensure_valid_options(options)
        if options == self.options:
            return False
        for variant in self.variants:
            values = {option.name: variant.option_values.get(option.name, option.values[0]) for option in options}
            if variant.live:
                variants.ensure_declared(options, values)
            if values != variant.option_values:
                variant.option_values, variant.updated_at = values, now
        variants.ensure_distinct(options, self.variants)
        self.options = options
        return True

    # --- variants: the seller's writes ---

    def add_variant(self, spec: VariantSpec, variant_id: str, now: datetime) -> Variant:
        self._ensure_not_archived()
        variant = self._new_variant(spec, variant_id, now)
        variants.ensure_distinct(self.options, [*self.variants, variant])
        self.variants.append(variant)
        self._changed(["variants"], now)
        return variant

    def update_variant(self, variant_id: str, changes: Mapping[str, Any], now: datetime) -> list[str]:
        """Applies `changes` (sku, option_values, price as units or None, status) to a live variant."""
        self._ensure_not_archived()
        variant = self._live_variant(variant_id)
        changed: list[str] = []
        for name, value in changes.items():
            if name not in VARIANT_FIELDS:
                raise ValueError(f"{name} cannot be updated")
            if name == "option_values":
                variants.ensure_declared(self.options, value)
                value = {option.name: value[option.name] for option in self.options}
            elif name == "price":
                if value is not None and value <= 0:
                    raise FailedPrecondition("a variant's price must be more than zero", reason="INVALID_PRICE")
                name = "own_price_units"
            elif name == "status" and value not in LISTABLE_STATUSES:
                raise FailedPrecondition("status can only be ACTIVE or INACTIVE", reason="INVALID_STATUS")
            if getattr(variant, name) != value:
                setattr(variant, name, value)
                changed.append("price" if name == "own_price_units" else name)
        if changed:
            variants.ensure_distinct(self.options, self.variants)
            variant.updated_at = now
            self._changed(["variants"], now)
        return changed

    def retire_variant(self, variant_id: str, now: datetime) -> bool:
        """DeleteProductVariant: final; the product keeps at least one live variant. False when already retired."""
        self._ensure_not_archived()
        variant = self.variant(variant_id)
        if not variant.live:
            return False
        variant.status, variant.updated_at = ARCHIVED, now
        variants.ensure_distinct(self.options, self.variants)
        self._changed(["variants"], now)
        return True

    def _live_variant(self, variant_id: str) -> Variant:
        variant = self.variant(variant_id)
        if not variant.live:
            raise FailedPrecondition(
                "the variant is retired",
                reason="VARIANT_ARCHIVED",
                metadata={"product_id": self.id, "variant_id": variant_id},
            )
        return variant

    def _changed(self, fields: list[str], now: datetime) -> None:
        self._touch(now)
        self.events.append(ProductUpdated(self, fields))

    def archive(self, now: datetime) -> bool:
        """DeleteProduct: final. Archiving an archived product changes nothing (returns False)."""
        if self.status == ARCHIVED:
            return False
        self.status = ARCHIVED
        self._touch(now)
        self.events.append(ProductDeleted(product_id=self.id, seller_id=self.seller_id, sku=self.sku))
        return True

    def adjust_stock(self, delta: int, now: datetime, *, low_stock_threshold: int, variant_id: str = "") -> Variant:
        """Adds `delta` on-hand units to a variant; the units held by reservations can never be taken away."""
        self._ensure_not_archived()
        variant = self._live_variant(self.stock_variant(variant_id).id)
        new_stock = variant.stock + delta
        if new_stock < variant.reserved:
            raise FailedPrecondition(
                "stock cannot drop below the units already reserved or sold out",
                reason="INSUFFICIENT_STOCK",
                metadata={"product_id": self.id, "variant_id": variant.id, "available": str(variant.available)},
            )
        old_stock, variant.stock = variant.stock, new_stock
        variant.updated_at = now
        self._touch(now)
        self.events.append(
            stock_changed(
                product_id=self.id,
                seller_id=self.seller_id,
                variant_id=variant.id,
                sku=variant.sku,
                old_stock=old_stock,
                new_stock=new_stock,
                reserved=variant.reserved,
                threshold=low_stock_threshold,
                reason=ADJUSTMENT,
                product_available=self.available,
            )
        )
        return variant

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
