"""Notify storage: tables on the service's own MetaData and the queries over them (SQLAlchemy Core)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.outbox import OUTBOX_CHANNEL, add_kit_tables
from services.notify.domain import PENDING, QUEUED, SENDING, Notification, Preferences, Recipient

metadata = MetaData()

# Where each user's emails go: from auth's UserRegistered (and the address a password reset was asked for).
recipients = Table(
    "recipients",
    metadata,
    Column("user_id", String(36), primary_key=True),
    Column("email", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A row only once a user changed their preferences; no row means every kind on.
preferences = Table(
    "preferences",
    metadata,
    Column("user_id", String(36), primary_key=True),
    Column("order_updates_email", Boolean, nullable=False),
    Column("marketing_email", Boolean, nullable=False),
    Column("security_email", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=False),
    Column("kind", String(32), nullable=False),
    # What it answers: the event's id and what within it (a product for a first sale), unique per kind and user.
    Column("event_id", String(36), nullable=False),
    Column("about", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("to_address", Text, nullable=False),
    Column("to_name", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("enqueued_at", DateTime(timezone=True)),
    Column("lease_until", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("event_id", "kind", "user_id", "about", name="notifications_once"),
    CheckConstraint(
        "status IN ('PENDING', 'QUEUED', 'SENDING', 'SENT', 'FAILED', 'SKIPPED')", name="notifications_status"
    ),
    Index("ix_notifications_user", "user_id", "created_at", "id"),
    # What the relay hands to the queue, and what it hands over again when its job was lost.
    Index("ix_notifications_pending", "created_at", postgresql_where=text("status = 'PENDING'")),
    Index("ix_notifications_in_flight", "enqueued_at", postgresql_where=text("status IN ('QUEUED', 'SENDING')")),
)

# Every product sold at least once (from OrderPaid): a product's first sale is the insert that adds its row.
sold_products = Table(
    "sold_products",
    metadata,
    Column("product_id", String(36), primary_key=True),
    Column("seller_id", String(36), nullable=False),
    Column("order_id", String(36), nullable=False),
    Column("first_sold_at", DateTime(timezone=True), nullable=False),
)

outbox, inbox = add_kit_tables(metadata)


# --- recipients and preferences -------------------------------------------------------------------------------


async def remember_recipient(session: AsyncSession, recipient: Recipient, now: datetime) -> None:
    """Adds or updates where a user's emails go."""
    values = {"email": recipient.email, "display_name": recipient.display_name, "updated_at": now}
    statement = pg_insert(recipients).values(user_id=recipient.user_id, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=[recipients.c.user_id], set_=values))


async def rename_recipient(session: AsyncSession, user_id: str, display_name: str, now: datetime) -> None:
    """A known user's new display name (a user notify never heard of is asked of auth when an email is due)."""
    await session.execute(
        update(recipients).where(recipients.c.user_id == user_id).values(display_name=display_name, updated_at=now)
    )


async def remember_address(session: AsyncSession, user_id: str, email: str, now: datetime) -> None:
    """Records the address a user gave (a password reset), keeping a known display name."""
    statement = pg_insert(recipients).values(user_id=user_id, email=email, display_name="", updated_at=now)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[recipients.c.user_id], set_={"email": email, "updated_at": now})
    )


async def recipient(session: AsyncSession, user_id: str) -> Recipient | None:
    row = (await session.execute(select(recipients).where(recipients.c.user_id == user_id))).first()
    return Recipient(row.user_id, row.email, row.display_name) if row is not None else None


async def load_preferences(session: AsyncSession, user_id: str, *, for_update: bool = False) -> Preferences:
    statement = select(preferences).where(preferences.c.user_id == user_id)
    if for_update:
        statement = statement.with_for_update()
    row = (await session.execute(statement)).first()
    if row is None:
        return Preferences(user_id)
    return Preferences(
        user_id,
        order_updates_email=row.order_updates_email,
        marketing_email=row.marketing_email,
        security_email=row.security_email,
        updated_at=row.updated_at,
    )


async def save_preferences(session: AsyncSession, prefs: Preferences) -> None:
    values = {
        "order_updates_email": prefs.order_updates_email,
        "marketing_email": prefs.marketing_email,
        "security_email": prefs.security_email,
        "updated_at": prefs.updated_at,
    }
    statement = pg_insert(preferences).values(user_id=prefs.user_id, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=[preferences.c.user_id], set_=values))


async def first_sales(session: AsyncSession, order_id: str, products: dict[str, str], now: datetime) -> set[str]:
    """Records `products` ({product id: seller id}) as sold; returns the ones never sold before."""
    if not products:
        return set()
    rows = [
        {"product_id": product_id, "seller_id": seller_id, "order_id": order_id, "first_sold_at": now}
        for product_id, seller_id in products.items()
    ]
    result = await session.execute(
        pg_insert(sold_products).values(rows).on_conflict_do_nothing().returning(sold_products.c.product_id)
    )
    return {row.product_id for row in result}


# --- notifications --------------------------------------------------------------------------------------------


def _notification(row: Any) -> Notification:
    return Notification(
        id=row.id,
        user_id=row.user_id,
        kind=row.kind,
        subject=row.subject,
        to_address=row.to_address,
        to_name=row.to_name,
        data=dict(row.data),
        created_at=row.created_at,
        status=row.status,
        status_reason=row.status_reason,
        attempts=row.attempts,
        enqueued_at=row.enqueued_at,
        lease_until=row.lease_until,
        sent_at=row.sent_at,
    )


def _state(notification: Notification) -> dict[str, Any]:
    return {
        "status": notification.status,
        "status_reason": notification.status_reason,
        "attempts": notification.attempts,
        "enqueued_at": notification.enqueued_at,
        "lease_until": notification.lease_until,
        "sent_at": notification.sent_at,
    }


async def add_notification(session: AsyncSession, notification: Notification, *, event_id: str, about: str) -> bool:
    """Inserts the record (False when this event already made it). A PENDING one wakes the relay at commit."""
    result = await session.execute(
        pg_insert(notifications)
        .values(
            id=notification.id,
            user_id=notification.user_id,
            kind=notification.kind,
            event_id=event_id,
            about=about,
            subject=notification.subject,
            to_address=notification.to_address,
            to_name=notification.to_name,
            data=notification.data,
            created_at=notification.created_at,
            **_state(notification),
        )
        .on_conflict_do_nothing()
        .returning(notifications.c.id)
    )
    added = result.first() is not None
    if added and notification.status == PENDING:
        # No notify event goes out through the outbox, so the kit's commit channel is the relay's alone here.
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": OUTBOX_CHANNEL})
    return added


async def get_notification(
    session: AsyncSession, notification_id: str, *, for_update: bool = False
) -> Notification | None:
    statement = select(notifications).where(notifications.c.id == notification_id)
    if for_update:
        statement = statement.with_for_update()
    row = (await session.execute(statement)).first()
    return _notification(row) if row is not None else None


async def save_notification(session: AsyncSession, notification: Notification) -> None:
    await session.execute(
        update(notifications).where(notifications.c.id == notification.id).values(**_state(notification))
    )


async def due_for_queue(session: AsyncSession, *, lost_before: datetime, limit: int) -> list[Notification]:
    """PENDING records, and records handed to the queue before `lost_before` and still not done, locked (SKIP
    LOCKED: several relays may run)."""
    statement = (
        select(notifications)
        .where(
            or_(
                notifications.c.status == PENDING,
                (notifications.c.status.in_([QUEUED, SENDING])) & (notifications.c.enqueued_at < lost_before),
            )
        )
        .order_by(notifications.c.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [_notification(row) for row in await session.execute(statement)]


async def notifications_of(
    session: AsyncSession, user_id: str, *, after: tuple[datetime, str] | None, limit: int
) -> list[Notification]:
    """The user's notifications, newest first, starting below `after` (created_at, id)."""
    statement = select(notifications).where(notifications.c.user_id == user_id)
    if after is not None:
        statement = statement.where(tuple_(notifications.c.created_at, notifications.c.id) < tuple_(*after))
    statement = statement.order_by(notifications.c.created_at.desc(), notifications.c.id.desc()).limit(limit)
    return [_notification(row) for row in await session.execute(statement)]
