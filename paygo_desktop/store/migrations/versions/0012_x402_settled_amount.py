"""x402 ``upto`` (issue 16): what a payment actually settled, beside the maximum the payer authorized.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("x402_payments") as batch:
        batch.add_column(sa.Column("settled_amount", sa.String(80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("x402_payments") as batch:
        batch.drop_column("settled_amount")
