"""widgets and the kit tables

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from services.kit.migrate import create_kit_tables, drop_kit_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "widgets",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
    )
    create_kit_tables()


def downgrade() -> None:
    drop_kit_tables()
    op.drop_table("widgets")
