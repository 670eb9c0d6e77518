"""Order settings from the environment (see `.env.example`)."""

from __future__ import annotations

from typing import ClassVar

from services.kit.settings import ServiceSettings


class OrderSettings(ServiceSettings):
    """The kit's service settings, and these."""

    service: ClassVar[str] = "order"

    # Where the order service reaches the catalog and the cart (the launcher sets them from their ports).
    catalog_target: str = "127.0.0.1:50052"
    cart_target: str = "127.0.0.1:50053"
    # The deadline of each call to the catalog or the cart.
    order_call_timeout_seconds: float = 5.0
    # How long a new order can be paid (ORDER_PAYMENT_TIMEOUT, seconds); after that it is cancelled.
    order_payment_timeout: int = 15 * 60
    # The catalog holds the stock this much longer than the payment deadline, so the order's own expiry (which
    # releases it) always comes first and a payment just before the deadline finds its units still held.
    order_reservation_margin_seconds: int = 10 * 60
    # How often unpaid orders past their deadline are looked for, and how many are cancelled per transaction.
    order_expiry_sweep_seconds: float = 2.0
    order_expiry_sweep_batch: int = 50
    # Each WatchOrder stream's queue of changes; a watcher that falls this far behind is dropped.
    order_watch_queue_size: int = 16
