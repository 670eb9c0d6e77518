"""Catalog domain events as the event payloads of the contract (marketplace.events.v1)."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from marketplace.common.v1 import money_pb2
from marketplace.events.v1 import events_pb2
from services.catalog import domain
from services.catalog.domain import Product
from services.kit.protos import timestamp

_EVENT_STATUS = {
    domain.ACTIVE: events_pb2.PRODUCT_STATUS_ACTIVE,
    # Events know a product not visible to buyers as DRAFT.
    domain.INACTIVE: events_pb2.PRODUCT_STATUS_DRAFT,
    domain.ARCHIVED: events_pb2.PRODUCT_STATUS_ARCHIVED,
}
_STOCK_REASONS = {
    domain.ADJUSTMENT: events_pb2.STOCK_CHANGE_REASON_ADJUSTMENT,
    domain.RESERVED: events_pb2.STOCK_CHANGE_REASON_RESERVED,
    domain.RELEASED_STOCK: events_pb2.STOCK_CHANGE_REASON_RELEASED,
    domain.SOLD: events_pb2.STOCK_CHANGE_REASON_SOLD,
    domain.RETURNED_STOCK: events_pb2.STOCK_CHANGE_REASON_RETURNED,
}


def _snapshot(product: Product) -> events_pb2.ProductSnapshot:
    return events_pb2.ProductSnapshot(
        id=product.id,
        seller_id=product.seller_id,
        sku=product.sku,
        title=product.title,
        category=product.category,
        brand=product.brand,
        price=money_pb2.Money(currency_code=product.currency, units=product.price_units),
        stock=product.stock,
        status=_EVENT_STATUS[product.status],
        created_at=timestamp(product.created_at),
        updated_at=timestamp(product.updated_at),
        options=[events_pb2.VariantOption(name=option.name, values=option.values) for option in product.options],
        variants=[
            events_pb2.VariantSnapshot(
                id=variant.id,
                sku=variant.sku,
                option_values=variant.option_values,
                price=money_pb2.Money(currency_code=product.currency, units=product.unit_price(variant)),
                stock=variant.stock,
                status=_EVENT_STATUS[variant.status],
            )
            for variant in product.live_variants
        ],
    )


def event_payload(event: Any) -> tuple[str, Message]:
    """Domain event -> (subject, payload message) for the outbox."""
    if isinstance(event, domain.ProductCreated):
        return event.product.id, events_pb2.ProductCreated(product=_snapshot(event.product))
    if isinstance(event, domain.ProductUpdated):
        return event.product.id, events_pb2.ProductUpdated(
            product=_snapshot(event.product), changed_fields=event.changed_fields
        )
    if isinstance(event, domain.ProductDeleted):
        return event.product_id, events_pb2.ProductDeleted(
            product_id=event.product_id, seller_id=event.seller_id, sku=event.sku
        )
    if isinstance(event, domain.StockChanged):
        return event.product_id, events_pb2.StockChanged(
            product_id=event.product_id,
            seller_id=event.seller_id,
            old_stock=event.old_stock,
            new_stock=event.new_stock,
            available=event.available,
            low_stock=event.low_stock,
            reason=_STOCK_REASONS[event.reason],
            variant_id=event.variant_id,
            sku=event.sku,
            product_available=event.product_available,
        )
    raise TypeError(f"no payload for {type(event).__name__}")
