"""Order storage: tables on the service's own MetaData and the queries over them (SQLAlchemy Core)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.outbox import add_kit_tables
from services.order.domain import PENDING_PAYMENT, Address, Fulfilment, Order, OrderLine, Shipment

metadata = MetaData()

orders = Table(
    "orders",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("buyer_id", String(36), nullable=False),
    Column("request_id", String(36), nullable=False),
    # A hash of the CreateOrder request: a retry with the same id and another body is refused.
    Column("request_fingerprint", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_units", BigInteger, nullable=False),
    Column("address", JSONB, nullable=False),
    Column("reservation_id", String(36), nullable=False),
    Column("payment_id", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("payment_due_at", DateTime(timezone=True), nullable=False),
    Column("paid_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("cancellation_reason", String(20), nullable=False),
    Column("cancellation_note", Text, nullable=False),
    Index("uq_orders_buyer_request", "buyer_id", "request_id", unique=True),
    Index("ix_orders_buyer_created", "buyer_id", "created_at", "id"),
    Index("ix_orders_pending_due", "payment_due_at", postgresql_where=text("status = 'PENDING_PAYMENT'")),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", String(36), ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("product_id", String(36), nullable=False),
    Column("variant_id", String(36), nullable=False),
    Column("seller_id", String(36), nullable=False),
    Column("sku", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("option_values", JSONB, nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("image_url", Text, nullable=False),
)

fulfilments = Table(
    "fulfilments",
    metadata,
    Column("order_id", String(36), ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("seller_id", String(36), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("carrier", Text, nullable=False),
    Column("tracking_number", Text, nullable=False),
    Column("shipped_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Index("ix_fulfilments_seller", "seller_id", "order_id"),
)

outbox, inbox = add_kit_tables(metadata)


def _order_values(order: Order) -> dict[str, Any]:
    return {
        "status": order.status,
        "total_units": order.total,
        "address": asdict(order.address),
        "payment_id": order.payment_id,
        "updated_at": order.updated_at,
        "paid_at": order.paid_at,
        "cancelled_at": order.cancelled_at,
        "cancellation_reason": order.cancellation_reason,
        "cancellation_note": order.cancellation_note,
    }


def _fulfilment_values(part: Fulfilment) -> dict[str, Any]:
    shipment = part.shipment
    return {
        "status": part.status,
        "carrier": shipment.carrier if shipment else "",
        "tracking_number": shipment.tracking_number if shipment else "",
        "shipped_at": shipment.shipped_at if shipment else None,
        "delivered_at": shipment.delivered_at if shipment else None,
    }


class Orders:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, order: Order, fingerprint: str) -> bool:
        """Inserts a new order; False (nothing written) when the buyer already has an order with its request id."""
        inserted = await self.session.execute(
            _ADD_ORDER,
            {
                "id": order.id,
                "buyer_id": order.buyer_id,
                "request_id": order.request_id,
                "request_fingerprint": fingerprint,
                "currency": order.currency,
                "reservation_id": order.reservation_id,
                "created_at": order.created_at,
                "payment_due_at": order.payment_due_at,
                **_order_values(order),
            },
        )
        if inserted.first() is None:
            return False
        await self.session.execute(
            _ADD_LINES,
            [
                {
                    "order_id": order.id,
                    "position": position,
                    "product_id": line.product_id,
                    "variant_id": line.variant_id,
                    "seller_id": line.seller_id,
                    "sku": line.sku,
                    "title": line.title,
                    "option_values": line.option_values,
                    "unit_price": line.unit_price,
                    "currency": line.currency,
                    "quantity": line.quantity,
                    "image_url": line.image_url,
                }
                for position, line in enumerate(order.lines)
            ],
        )
        await self.session.execute(
            _ADD_PARTS,
            [
                {"order_id": order.id, "seller_id": part.seller_id, "position": position} | _fulfilment_values(part)
                for position, part in enumerate(order.fulfilments)
            ],
        )
        return True

    async def save(self, order: Order) -> None:
        """Writes what may change after creation: the order's state and each fulfilment's (lines never change)."""
        await self.session.execute(_SAVE_ORDER, {"order_key": order.id, **_order_values(order)})
        if order.fulfilments:
            await self.session.execute(
                _SAVE_PART,
                [
                    {"part_order": order.id, "part_seller": part.seller_id, **_fulfilment_values(part)}
                    for part in order.fulfilments
                ],
            )

    async def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        statement = _ORDER_FOR_UPDATE if for_update else _ORDER
        row = (await self.session.execute(statement, {"order_id": order_id})).first()
        return None if row is None else _whole(row)

    async def by_request(self, buyer_id: str, request_id: str) -> tuple[Order, str] | None:
        """(the order a CreateOrder request made, the request's fingerprint), if any."""
        row = (await self.session.execute(_ORDER_OF_REQUEST, {"buyer_id": buyer_id, "request_id": request_id})).first()
        if row is None:
            return None
        return _whole(row), row.request_fingerprint

    async def of_buyer(
        self, buyer_id: str, status: str | None, limit: int, after: tuple[datetime, str] | None
    ) -> list[Order]:
        """The buyer's orders, newest first (keyset pages: strictly after `after`, the previous page's last)."""
        c = orders.c
        statement = select(orders).where(c.buyer_id == buyer_id)
        if status is not None:
            statement = statement.where(c.status == status)
        if after is not None:
            created, order_id = after
            statement = statement.where(or_(c.created_at < created, and_(c.created_at == created, c.id < order_id)))
        rows = (await self.session.execute(statement.order_by(c.created_at.desc(), c.id.desc()).limit(limit))).all()
        return await self._assemble(rows)

    async def lock_overdue(self, now: datetime, limit: int) -> list[str]:
        """Ids of unpaid orders past their deadline, locked; rows another sweeper holds are skipped."""
        rows = await self.session.execute(
            select(orders.c.id)
            .where(orders.c.status == PENDING_PAYMENT, orders.c.payment_due_at <= now)
            .order_by(orders.c.payment_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [row.id for row in rows]

    async def _assemble(self, rows: Sequence[Any]) -> list[Order]:
        ids = [row.id for row in rows]
        if not ids:
            return []
        lines: dict[str, list[OrderLine]] = {order_id: [] for order_id in ids}
        for line in await self.session.execute(
            select(order_lines).where(order_lines.c.order_id.in_(ids)).order_by(order_lines.c.position)
        ):
            lines[line.order_id].append(
                OrderLine(
                    product_id=line.product_id,
                    variant_id=line.variant_id,
                    seller_id=line.seller_id,
                    sku=line.sku,
                    title=line.title,
                    option_values=dict(line.option_values),
                    unit_price=line.unit_price,
                    currency=line.currency,
                    quantity=line.quantity,
                    image_url=line.image_url,
                )
            )
        parts: dict[str, list[Fulfilment]] = {order_id: [] for order_id in ids}
        for part in await self.session.execute(
            select(fulfilments).where(fulfilments.c.order_id.in_(ids)).order_by(fulfilments.c.position)
        ):
            shipment = (
                Shipment(part.carrier, part.tracking_number, part.shipped_at, part.delivered_at)
                if part.shipped_at is not None
                else None
            )
            parts[part.order_id].append(Fulfilment(part.seller_id, part.status, shipment))
        return [_order(row, lines[row.id], parts[row.id]) for row in rows]


def _order(row: Any, lines: list[OrderLine], parts: list[Fulfilment]) -> Order:
    return Order(
        id=row.id,
        buyer_id=row.buyer_id,
        request_id=row.request_id,
        status=row.status,
        currency=row.currency,
        lines=lines,
        fulfilments=parts,
        address=Address(**row.address),
        reservation_id=row.reservation_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        payment_due_at=row.payment_due_at,
        payment_id=row.payment_id,
        paid_at=row.paid_at,
        cancelled_at=row.cancelled_at,
        cancellation_reason=row.cancellation_reason,
        cancellation_note=row.cancellation_note,
    )


# One order with its lines and parts in one statement (an order is loaded several times per checkout: placing,
# paying, watching): the lines and parts come as JSON arrays beside the order's row, in position order.
def _utc_text(column: Any) -> Any:
    return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US')


def _json_array(*columns: Any, order_by: Any, where: Any) -> Any:
    return (
        select(
            func.coalesce(
                func.jsonb_agg(aggregate_order_by(func.jsonb_build_array(*columns), order_by)),
                literal_column("'[]'::jsonb"),
            )
        )
        .where(where)
        .scalar_subquery()
    )


_l, _f = order_lines.c, fulfilments.c
_LINES = _json_array(
    _l.product_id,
    _l.variant_id,
    _l.seller_id,
    _l.sku,
    _l.title,
    _l.option_values,
    _l.unit_price,
    _l.currency,
    _l.quantity,
    _l.image_url,
    order_by=_l.position,
    where=_l.order_id == orders.c.id,
).label("lines_json")
_PARTS = _json_array(
    _f.seller_id,
    _f.status,
    _f.carrier,
    _f.tracking_number,
    _utc_text(_f.shipped_at),
    _utc_text(_f.delivered_at),
    order_by=_f.position,
    where=_f.order_id == orders.c.id,
).label("parts_json")

# The statements of every checkout, built once: SQLAlchemy then finds each one's compiled form from a cache key
# it memoized instead of building and hashing the statement on every call (docs/kit.md, "Data").
_ORDER = select(orders, _LINES, _PARTS).where(orders.c.id == bindparam("order_id"))
_ORDER_FOR_UPDATE = _ORDER.with_for_update(of=orders)
_ORDER_OF_REQUEST = select(orders, _LINES, _PARTS).where(
    orders.c.buyer_id == bindparam("buyer_id"), orders.c.request_id == bindparam("request_id")
)
_ADD_ORDER = (
    pg_insert(orders)
    .on_conflict_do_nothing(index_elements=[orders.c.buyer_id, orders.c.request_id])
    .returning(orders.c.id)
)
_ADD_LINES = insert(order_lines)
_ADD_PARTS = insert(fulfilments)
# SET takes the columns the parameters name; the key's parameters have names no column has.
_SAVE_ORDER = update(orders).where(orders.c.id == bindparam("order_key"))
_SAVE_PART = update(fulfilments).where(
    fulfilments.c.order_id == bindparam("part_order"), fulfilments.c.seller_id == bindparam("part_seller")
)


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _whole(row: Any) -> Order:
    lines = [
        OrderLine(
            product_id=product_id,
            variant_id=variant_id,
            seller_id=seller_id,
            sku=sku,
            title=title,
            option_values=dict(option_values),
            unit_price=int(unit_price),
            currency=currency,
            quantity=int(quantity),
            image_url=image_url,
        )
        for product_id, variant_id, seller_id, sku, title, option_values, unit_price, currency, quantity, image_url in (
            _decoded(row.lines_json)
        )
    ]
    parts = []
    for seller_id, status, carrier, tracking_number, shipped_at, delivered_at in _decoded(row.parts_json):
        shipped = _moment(shipped_at)
        shipment = Shipment(carrier, tracking_number, shipped, _moment(delivered_at)) if shipped is not None else None
        parts.append(Fulfilment(seller_id, status, shipment))
    return _order(row, lines, parts)


def _decoded(value: Any) -> list[Any]:
    return list(json.loads(value) if isinstance(value, str) else value)
