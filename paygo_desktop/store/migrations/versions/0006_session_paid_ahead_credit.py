"""Sessions keep the paid-ahead credit their channel held when they ended (the chain paid the provider
more than the sessions settled at: a claim took a voucher one tick ahead before the session settled lower).

Revision ID: 0006
Revises: 0004
(numbered 0006 because another branch adds 0005; when both meet, this one follows 0005)
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as table:
        table.add_column(sa.Column("paid_ahead_credit", sa.String(80), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as table:
        table.drop_column("paid_ahead_credit")
