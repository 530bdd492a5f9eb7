"""Zcash permissions keep the provider's last answer beside the app's own record (never over it).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("zcash_permissions") as table:
        table.add_column(sa.Column("reported", sa.Text, nullable=True))
        table.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("zcash_permissions") as table:
        table.drop_column("reported_at")
        table.drop_column("reported")
