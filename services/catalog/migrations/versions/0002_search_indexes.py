"""Search indexes: the title's words on their own, and no pending list on the full-text GIN indexes.

A lexical search first gathers the products whose title holds every query word; with the title's tsvector in
its own GIN index that is an index lookup instead of a weight check on every match's full document.
`fastupdate = off` makes each write update the GIN index directly: after a bulk load the pending list (flushed
only by vacuum) otherwise made every full-text query scan it, several times slower.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TITLE_WORDS_SQL = "to_tsvector('english'::regconfig, title)"


def upgrade() -> None:
    op.execute(
        f"CREATE INDEX ix_products_title_words ON products USING gin ({TITLE_WORDS_SQL}) WITH (fastupdate = off)"
    )
    op.execute("ALTER INDEX ix_products_search_document SET (fastupdate = off)")
    op.execute("SELECT gin_clean_pending_list('ix_products_search_document'::regclass)")


def downgrade() -> None:
    op.execute("ALTER INDEX ix_products_search_document RESET (fastupdate)")
    op.execute("DROP INDEX ix_products_title_words")
