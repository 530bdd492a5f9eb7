"""x402 payments keep what their proof file needs (issue 19): the EIP-3009 authorization's ``valid_after``
and the payer's ``signature`` over it, and the payment requirements the server quoted (JSON, bounded; its
``extra`` names the EIP-712 domain the authorization was signed under). Payments recorded before this
revision have none of them, and their proof cannot be made.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("x402_payments") as table:
        table.add_column(sa.Column("valid_after", sa.String(80), nullable=True))
        table.add_column(sa.Column("signature", sa.Text, nullable=True))
        table.add_column(sa.Column("requirements", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("x402_payments") as table:
        table.drop_column("requirements")
        table.drop_column("signature")
        table.drop_column("valid_after")
