"""What each session's final voucher was forgiven (``session_ending._settle``): the settle tolerance is an
allowance per channel over a window, not per session.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_sessions") as batch:
        batch.add_column(sa.Column("forgiven_ms", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("provider_sessions") as batch:
        batch.drop_column("forgiven_ms")
