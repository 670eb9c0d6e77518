"""Seller settings from the environment (see `.env.example`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from services.kit.settings import ServiceSettings


class SellerSettings(ServiceSettings):
    """The kit's service settings, and these."""

    service: ClassVar[str] = "seller"

    # The marketplace's fee on a seller's sales less refunds, in basis points (250 = 2.5 %).
    seller_marketplace_fee_rate: int = Field(default=1000, ge=0, le=10_000)
    # The marketplace currency: the one the figures are summed in (lines in another currency are left out).
    seller_currency: str = "USD"
    # The streams the read model is built from, and the consumer group the seller reads them as.
    seller_order_events_stream: str = "events.order"
    seller_catalog_events_stream: str = "events.catalog"
    seller_payment_events_stream: str = "events.payment"
    seller_events_group: str = "seller"
    # How many variants running low the dashboard lists at most.
    seller_low_stock_limit: int = Field(default=20, ge=1, le=200)
