"""Cart settings from the environment (see `.env.example`)."""

from __future__ import annotations

from typing import ClassVar

from services.kit.settings import ServiceSettings


class CartSettings(ServiceSettings):
    """The kit's service settings, and these."""

    service: ClassVar[str] = "cart"

    # Where the cart reaches the catalog (the launcher sets it from CATALOG_PORT).
    catalog_target: str = "127.0.0.1:50052"
    # The deadline of each call to the catalog.
    cart_catalog_timeout_seconds: float = 5.0
