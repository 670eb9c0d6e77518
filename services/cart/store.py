"""Cart storage: tables on the service's own MetaData and the queries over them (SQLAlchemy Core)."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.cart.domain import Actor, Cart, CartLine
from services.kit.outbox import add_kit_tables

metadata = MetaData()

carts = Table(
    "carts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("buyer_id", String(36), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

cart_lines = Table(
    "cart_lines",
    metadata,
    Column("cart_id", String(36), ForeignKey("carts.id", ondelete="CASCADE"), primary_key=True),
    Column("variant_id", String(36), primary_key=True),
    Column("product_id", String(36), nullable=False),
    Column("seller_id", String(36), nullable=False),
    # What the buyer saw when units were last added.
    Column("title", Text, nullable=False),
    Column("sku", Text, nullable=False),
    Column("option_values", JSONB, nullable=False),
    Column("price_units", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("image_url", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    # Who last added units: the user, and the service that acted for them (empty when none did).
    Column("added_by", String(36), nullable=False),
    Column("added_by_actor", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("quantity BETWEEN 1 AND 999", name="cart_lines_quantity"),
    Index("ix_cart_lines_cart_created", "cart_id", "created_at"),
)

outbox, inbox = add_kit_tables(metadata)


def _line(row: Any) -> CartLine:
    return CartLine(
        variant_id=row.variant_id,
        product_id=row.product_id,
        seller_id=row.seller_id,
        title=row.title,
        sku=row.sku,
        option_values=dict(row.option_values),
        price_units=row.price_units,
        currency=row.currency,
        image_url=row.image_url,
        quantity=row.quantity,
        added_by=Actor(row.added_by, row.added_by_actor),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# The statements of every checkout, built once: SQLAlchemy then finds each one's compiled form from a cache key
# it memoized instead of building and hashing the statement on every call (docs/kit.md, "Data").
_CART = select(carts).where(carts.c.buyer_id == bindparam("buyer_id"))
_CART_FOR_UPDATE = _CART.with_for_update()
_LINES = (
    select(cart_lines)
    .where(cart_lines.c.cart_id == bindparam("cart_id"))
    .order_by(cart_lines.c.created_at, cart_lines.c.variant_id)
)
_CART_WITH_LINES = (
    select(carts, *(column.label(f"line_{column.name}") for column in cart_lines.c if column.name != "cart_id"))
    .outerjoin(cart_lines, cart_lines.c.cart_id == carts.c.id)
    .where(carts.c.buyer_id == bindparam("buyer_id"))
    .order_by(cart_lines.c.created_at, cart_lines.c.variant_id)
)
_CREATE_CART = pg_insert(carts).on_conflict_do_nothing(index_elements=[carts.c.buyer_id])
_DELETE_LINES = delete(cart_lines).where(cart_lines.c.cart_id == bindparam("cart_id"))
_INSERT_LINES = insert(cart_lines)


def _joined_line(row: Any) -> CartLine:
    """The line of a row of `Carts.read`, whose line columns are labelled `line_<name>`."""
    columns = {name.removeprefix("line_"): value for name, value in row._mapping.items() if name.startswith("line_")}
    return _line(SimpleNamespace(**columns))


class Carts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_buyer(self, buyer_id: str, *, for_update: bool = False) -> Cart | None:
        """The buyer's cart with its lines, oldest first (locked when `for_update`); None when never used."""
        statement = _CART_FOR_UPDATE if for_update else _CART
        row = (await self.session.execute(statement, {"buyer_id": buyer_id})).first()
        if row is None:
            return None
        lines = await self.session.execute(_LINES, {"cart_id": row.id})
        return Cart(row.id, row.buyer_id, row.created_at, row.updated_at, [_line(line) for line in lines])

    async def read(self, buyer_id: str) -> Cart | None:
        """`of_buyer` in one statement (the cart's row joined to its lines), for a session outside a transaction:
        the row and its lines are then one snapshot."""
        rows = (await self.session.execute(_CART_WITH_LINES, {"buyer_id": buyer_id})).all()
        if not rows:
            return None
        first = rows[0]
        lines = [_joined_line(row) for row in rows if row.line_variant_id is not None]
        return Cart(first.id, first.buyer_id, first.created_at, first.updated_at, lines)

    async def lock_or_create(self, buyer_id: str, new_id: str, now: datetime) -> Cart:
        """The buyer's cart, locked; made empty on first use (two first uses at once make one cart)."""
        await self.session.execute(
            _CREATE_CART, {"id": new_id, "buyer_id": buyer_id, "created_at": now, "updated_at": now}
        )
        cart = await self.of_buyer(buyer_id, for_update=True)
        assert cart is not None
        return cart

    async def save(self, cart: Cart) -> None:
        """Writes the cart's lines as they are now (the cart's row is locked)."""
        await self.session.execute(_DELETE_LINES, {"cart_id": cart.id})
        if cart.lines:
            await self.session.execute(
                _INSERT_LINES,
                [
                    {
                        "cart_id": cart.id,
                        "variant_id": line.variant_id,
                        "product_id": line.product_id,
                        "seller_id": line.seller_id,
                        "title": line.title,
                        "sku": line.sku,
                        "option_values": line.option_values,
                        "price_units": line.price_units,
                        "currency": line.currency,
                        "image_url": line.image_url,
                        "quantity": line.quantity,
                        "added_by": line.added_by.user_id,
                        "added_by_actor": line.added_by.assistant,
                        "created_at": line.created_at,
                        "updated_at": line.updated_at,
                    }
                    for line in cart.lines
                ],
            )
        await self.session.execute(update(carts).where(carts.c.id == cart.id).values(updated_at=cart.updated_at))
