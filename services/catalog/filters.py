"""ProductFilter: what ListProducts, ListMyProducts and SearchProducts filter by, in one shape for every mode.

Stdlib only. The database side of a filter is `store.listing.filter_conditions` (the one place it becomes SQL,
for listing and for every search query); the in-process vector index applies the same conditions to its arrays
(`VectorIndex`), so a product is in a search's results exactly when a listing with the same filter shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.catalog.domain import ACTIVE


@dataclass(frozen=True)
class ProductFilter:
    """Every condition is optional; a product meets the filter when it meets all that are set."""

    category: str | None = None
    brand: str | None = None  # case-insensitive
    seller_id: str | None = None
    min_price_units: int | None = None  # minor units of `currency`
    max_price_units: int | None = None
    currency: str | None = None
    in_stock_only: bool = False  # at least one unit not held by a reservation
    attributes: Mapping[str, str] = field(default_factory=dict)  # every pair, exact
    # An ACTIVE variant takes every one of these option values (case-insensitive); with `in_stock_only`, that
    # variant is in stock.
    options: Mapping[str, str] = field(default_factory=dict)
    statuses: tuple[str, ...] = (ACTIVE,)  # buyers see ACTIVE products; sellers list their INACTIVE ones too

    def __post_init__(self) -> None:
        # Sorted: equal filters have equal reprs (page tokens are bound to a filter's repr).
        object.__setattr__(self, "attributes", dict(sorted(self.attributes.items())))
        object.__setattr__(self, "options", dict(sorted(self.options.items())))

    def __hash__(self) -> int:  # the maps are not hashable; their sorted reprs are
        return hash(repr(self))
