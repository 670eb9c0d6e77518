"""Catalog settings from the environment (see `.env.example`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from services.catalog.search import FUSION_LEXICAL_WEIGHT
from services.catalog.storage import ImageStorageSettings
from services.kit.settings import ServiceSettings


class CatalogSettings(ServiceSettings, ImageStorageSettings):
    """The kit's service settings, the image storage variables (IMAGEKIT_*, CATALOG_IMAGE_*), and these."""

    service: ClassVar[str] = "catalog"

    # How long a reservation holds when ReserveStock names no ttl.
    catalog_reservation_ttl_seconds: int = 15 * 60
    # How often expired reservations are looked for, and how many are released per transaction.
    catalog_reservation_sweep_seconds: float = 5.0
    catalog_reservation_sweep_batch: int = 50
    # A product is low on stock when its available units are at or below this (StockChanged.low_stock).
    catalog_low_stock_threshold: int = 5
    # Threads the embedding model may use per inference.
    catalog_embed_threads: int = 1
    # The stream of order events the catalog consumes (OrderPaid, OrderCancelled) and its consumer group.
    catalog_order_events_stream: str = "events.order"
    catalog_order_events_group: str = "catalog"
    # Changes a WatchProduct stream may have waiting before the watcher is dropped as too slow.
    catalog_watch_queue_size: int = 64
    # GetProduct's in-process cache of ACTIVE products: at most this many, each kept at most this long (a safety
    # net; changes reach it through the catalog event stream at once). 0 entries turns it off.
    catalog_product_cache_size: int = 50_000
    catalog_product_cache_ttl_seconds: float = 30.0
    # Hybrid search: the weight of the lexical coverage against the cosine (0 to 1; services/catalog/search.py).
    # The default was chosen on the relevance benchmarks (bench/README.md); change it only with them at hand.
    catalog_search_lexical_weight: float = Field(default=FUSION_LEXICAL_WEIGHT, ge=0.0, le=1.0)
