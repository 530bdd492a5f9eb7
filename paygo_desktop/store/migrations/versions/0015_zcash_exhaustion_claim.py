"""Zcash permissions remember a provider's claim that one ran out while the app's meter said otherwise
(``exhaustion_claim_left_zat``: what the meter had left then), so the Zcash page keeps flagging it.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("zcash_permissions") as table:
        table.add_column(sa.Column("exhaustion_claim_left_zat", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("zcash_permissions") as table:
        table.drop_column("exhaustion_claim_left_zat")
