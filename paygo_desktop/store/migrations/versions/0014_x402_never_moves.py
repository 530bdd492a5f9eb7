"""x402: a payment whose authorization the chain showed unspent after it lapsed (``never_moves``), so it
counts no more and is not looked up again. Payments already marked failed that way (by ``x402.lapsed``
before this column, its note "lapsed unused") get it set; any other lapsed one is looked up once.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("x402_payments", sa.Column("never_moves", sa.Boolean, nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE x402_payments SET never_moves = 1 "
        "WHERE status = 'failed' AND error = 'never settled: its authorization lapsed unused'"
    )


def downgrade() -> None:
    with op.batch_alter_table("x402_payments") as batch:
        batch.drop_column("never_moves")
