"""The cart's domain: one cart per buyer, a line per product variant, and how a cart is priced from what the
catalog says now. Standard library only.

A line keeps what the buyer saw when units were last added (title, SKU, values, unit price): GetCart compares
the catalog's current price with it, and shows it when the catalog no longer sells the variant. The cart
records the events of what happened in `events`; the unit of work writes them to the outbox in the same commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound

ACTIVE = "ACTIVE"
MAX_LINES = 100
MAX_QUANTITY = 999

BUYER = "BUYER"
ASSISTANT = "ASSISTANT"


@dataclass(frozen=True)
class Actor:
    """Who changes a cart: the buyer, or a service acting for the buyer with a delegated token."""

    user_id: str
    assistant: str = ""

    @property
    def kind(self) -> str:
        return ASSISTANT if self.assistant else BUYER


# --- what the catalog says --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantOffer:
    """A variant as the catalog offers it now."""

    variant_id: str
    product_id: str
    seller_id: str
    title: str
    sku: str
    option_values: Mapping[str, str]
    price_units: int
    currency: str
    available: int
    status: str
    product_status: str
    image_url: str

    @property
    def purchasable(self) -> bool:
        return self.status == ACTIVE and self.product_status == ACTIVE


@dataclass(frozen=True)
class ProductOffer:
    """A product as the catalog offers it now: its options (name, values) in order and its live variants."""

    product_id: str
    status: str
    options: Sequence[tuple[str, Sequence[str]]]
    variants: Sequence[VariantOffer]

    def choose(self, variant_id: str) -> VariantOffer:
        """The variant named, or the product's only one when none is named."""
        if variant_id:
            for variant in self.variants:
                if variant.variant_id == variant_id:
                    return variant
            raise NotFound(
                "the variant is not one of the product's",
                metadata={"product_id": self.product_id, "variant_id": variant_id},
            )
        if len(self.variants) == 1:
            return self.variants[0]
        if not self.variants:
            raise _unavailable(self.product_id, "")
        choices = "; ".join(f"{name} ({', '.join(values)})" for name, values in self.options) or "a variant"
        error = InvalidArgument(
            f"the product comes in several variants: choose {choices}",
            violations=[
                FieldViolation("variant_id", f"required for this product: choose {choices}", reason="VARIANT_REQUIRED")
            ],
        )
        error.metadata = {"product_id": self.product_id, "options": ",".join(name for name, _ in self.options)}
        raise error


def _unavailable(product_id: str, variant_id: str) -> FailedPrecondition:
    return FailedPrecondition(
        "the product cannot be bought",
        reason="PRODUCT_UNAVAILABLE",
        metadata={"product_id": product_id, "variant_id": variant_id},
    )


def _ensure_units(offer: VariantOffer, quantity: int) -> None:
    if not offer.purchasable:
        raise _unavailable(offer.product_id, offer.variant_id)
    if offer.available < quantity:
        raise FailedPrecondition(
            "not enough stock",
            reason="OUT_OF_STOCK",
            metadata={
                "product_id": offer.product_id,
                "variant_id": offer.variant_id,
                "available": str(offer.available),
            },
        )


# --- events -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemAdded:
    cart_id: str
    buyer_id: str
    product_id: str
    variant_id: str
    quantity: int
    line_quantity: int
    by: Actor


@dataclass(frozen=True)
class QuantityChanged:
    cart_id: str
    buyer_id: str
    product_id: str
    variant_id: str
    old_quantity: int
    new_quantity: int
    by: Actor


@dataclass(frozen=True)
class ItemRemoved:
    cart_id: str
    buyer_id: str
    product_id: str
    variant_id: str
    quantity: int
    by: Actor


@dataclass(frozen=True)
class Cleared:
    cart_id: str
    buyer_id: str
    line_count: int
    by: Actor


# --- the cart -----------------------------------------------------------------------------------------------------


@dataclass
class CartLine:
    variant_id: str
    product_id: str
    seller_id: str
    title: str
    sku: str
    option_values: dict[str, str]
    # The unit price when units were last added.
    price_units: int
    currency: str
    image_url: str
    quantity: int
    added_by: Actor
    created_at: datetime
    updated_at: datetime

    def take_offer(self, offer: VariantOffer) -> None:
        """What the buyer sees now becomes what the line remembers."""
        self.seller_id, self.title, self.sku = offer.seller_id, offer.title, offer.sku
        self.option_values = dict(offer.option_values)
        self.price_units, self.currency, self.image_url = offer.price_units, offer.currency, offer.image_url


@dataclass
class Cart:
    id: str
    buyer_id: str
    created_at: datetime
    updated_at: datetime | None
    lines: list[CartLine] = field(default_factory=list)
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    def line(self, variant_id: str) -> CartLine | None:
        for line in self.lines:
            if line.variant_id == variant_id:
                return line
        return None

    def _line_or_absent(self, variant_id: str) -> CartLine:
        line = self.line(variant_id)
        if line is None:
            raise NotFound("the variant is not in the cart", metadata={"variant_id": variant_id})
        return line

    def add(self, offer: VariantOffer, quantity: int, by: Actor, now: datetime) -> CartLine:
        """More units of a variant: a new line, or the variant's line grown. The catalog must have them all."""
        line = self.line(offer.variant_id)
        total = quantity + (line.quantity if line is not None else 0)
        if total > MAX_QUANTITY:
            raise FailedPrecondition(
                f"a line holds at most {MAX_QUANTITY} units",
                reason="QUANTITY_LIMIT",
                metadata={"variant_id": offer.variant_id, "max_quantity": str(MAX_QUANTITY)},
            )
        if line is None and len(self.lines) >= MAX_LINES:
            raise FailedPrecondition(
                f"a cart holds at most {MAX_LINES} lines", reason="CART_FULL", metadata={"max_lines": str(MAX_LINES)}
            )
        _ensure_units(offer, total)
        if line is None:
            line = CartLine(
                variant_id=offer.variant_id,
                product_id=offer.product_id,
                seller_id=offer.seller_id,
                title=offer.title,
                sku=offer.sku,
                option_values=dict(offer.option_values),
                price_units=offer.price_units,
                currency=offer.currency,
                image_url=offer.image_url,
                quantity=total,
                added_by=by,
                created_at=now,
                updated_at=now,
            )
            self.lines.append(line)
        else:
            line.take_offer(offer)
            line.quantity, line.added_by, line.updated_at = total, by, now
        self.updated_at = now
        self.events.append(ItemAdded(self.id, self.buyer_id, offer.product_id, offer.variant_id, quantity, total, by))
        return line

    def set_quantity(
        self, variant_id: str, quantity: int, offer: VariantOffer | None, by: Actor, now: datetime
    ) -> CartLine:
        """A line's new quantity; raising it needs the units (`offer`: the catalog's answer, None if unknown)."""
        line = self._line_or_absent(variant_id)
        if quantity == line.quantity:
            return line
        old = line.quantity
        if quantity > old:
            if offer is None:
                raise _unavailable(line.product_id, variant_id)
            _ensure_units(offer, quantity)
            line.take_offer(offer)
            line.added_by = by
        line.quantity, line.updated_at = quantity, now
        self.updated_at = now
        self.events.append(QuantityChanged(self.id, self.buyer_id, line.product_id, variant_id, old, quantity, by))
        return line

    def remove(self, variant_id: str, by: Actor, now: datetime) -> bool:
        line = self.line(variant_id)
        if line is None:
            return False
        self.lines.remove(line)
        self.updated_at = now
        self.events.append(ItemRemoved(self.id, self.buyer_id, line.product_id, variant_id, line.quantity, by))
        return True

    def drop_purchased(self, variant_id: str, quantity: int, by: Actor, now: datetime) -> None:
        """Units of a paid order leave the cart: the line shrinks by them, or goes when nothing is left. Units the
        buyer removed meanwhile are not taken twice (a line never goes below zero; a missing line is left alone)."""
        line = self.line(variant_id)
        if line is None:
            return
        if quantity >= line.quantity:
            self.remove(variant_id, by, now)
        else:
            self.set_quantity(variant_id, line.quantity - quantity, None, by, now)

    def clear(self, by: Actor, now: datetime) -> int:
        count = len(self.lines)
        if count:
            self.lines.clear()
            self.updated_at = now
            self.events.append(Cleared(self.id, self.buyer_id, count, by))
        return count


# --- pricing ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedLine:
    line: CartLine
    seller_id: str
    title: str
    sku: str
    option_values: Mapping[str, str]
    price_units: int
    currency: str
    image_url: str
    available: bool
    available_quantity: int
    price_changed: bool

    @property
    def total_units(self) -> int:
        return self.price_units * self.line.quantity


@dataclass(frozen=True)
class PricedCart:
    buyer_id: str
    lines: list[PricedLine]
    updated_at: datetime | None
    currency: str
    subtotal_units: int
    mixed_currencies: bool

    @property
    def item_count(self) -> int:
        return sum(priced.line.quantity for priced in self.lines)


def price_line(line: CartLine, offer: VariantOffer | None) -> PricedLine:
    """A line priced by the catalog's offer; a variant no longer sold shows what the line remembers."""
    if offer is None or not offer.purchasable:
        return PricedLine(
            line=line,
            seller_id=line.seller_id,
            title=line.title,
            sku=line.sku,
            option_values=line.option_values,
            price_units=line.price_units,
            currency=line.currency,
            image_url=line.image_url,
            available=False,
            available_quantity=0,
            price_changed=False,
        )
    return PricedLine(
        line=line,
        seller_id=offer.seller_id,
        title=offer.title,
        sku=offer.sku,
        option_values=offer.option_values,
        price_units=offer.price_units,
        currency=offer.currency,
        image_url=offer.image_url,
        available=offer.available >= line.quantity,
        available_quantity=offer.available,
        price_changed=(offer.price_units, offer.currency) != (line.price_units, line.currency),
    )


def price_cart(cart: Cart | None, buyer_id: str, offers: Mapping[str, VariantOffer]) -> PricedCart:
    """The cart as of now: each line priced, the available lines summed in the first line's currency."""
    lines = [price_line(line, offers.get(line.variant_id)) for line in (cart.lines if cart else [])]
    currency = lines[0].currency if lines else ""
    subtotal = sum(priced.total_units for priced in lines if priced.available and priced.currency == currency)
    return PricedCart(
        buyer_id=buyer_id,
        lines=lines,
        updated_at=cart.updated_at if cart else None,
        currency=currency,
        subtotal_units=subtotal,
        mixed_currencies=len({priced.currency for priced in lines}) > 1,
    )
