"""Recipients, preferences, notifications, products sold, and the kit's outbox/inbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from services.kit.migrate import create_kit_tables, drop_kit_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "recipients",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "preferences",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("order_updates_email", sa.Boolean, nullable=False),
        sa.Column("marketing_email", sa.Boolean, nullable=False),
        sa.Column("security_email", sa.Boolean, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("about", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("to_address", sa.Text, nullable=False),
        sa.Column("to_name", sa.Text, nullable=False),
        sa.Column("data", postgresql.JSONB, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("enqueued_at", TS),
        sa.Column("lease_until", TS),
        sa.Column("sent_at", TS),
        sa.UniqueConstraint("event_id", "kind", "user_id", "about", name="notifications_once"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'QUEUED', 'SENDING', 'SENT', 'FAILED', 'SKIPPED')", name="notifications_status"
        ),
    )
    op.create_index("ix_notifications_user", "notifications", ["user_id", "created_at", "id"])
    op.create_index(
        "ix_notifications_pending", "notifications", ["created_at"], postgresql_where=sa.text("status = 'PENDING'")
    )
    op.create_index(
        "ix_notifications_in_flight",
        "notifications",
        ["enqueued_at"],
        postgresql_where=sa.text("status IN ('QUEUED', 'SENDING')"),
    )
    op.create_table(
        "sold_products",
        sa.Column("product_id", sa.String(36), primary_key=True),
        sa.Column("seller_id", sa.String(36), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=False),
        sa.Column("first_sold_at", TS, nullable=False),
    )
    create_kit_tables()


def downgrade() -> None:
    drop_kit_tables()
    op.drop_table("sold_products")
    op.drop_index("ix_notifications_in_flight", table_name="notifications")
    op.drop_index("ix_notifications_pending", table_name="notifications")
    op.drop_index("ix_notifications_user", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("preferences")
    op.drop_table("recipients")
