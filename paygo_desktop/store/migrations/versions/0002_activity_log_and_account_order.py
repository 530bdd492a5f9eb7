"""The activity log; accounts keep the order the user sees; a custom network may name its vault.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("account", sa.String(42), nullable=True),
        sa.Column("network", sa.String(60), nullable=True),
        sa.Column("is_error", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_activity_at", "activity", ["at"])
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("position", sa.Integer, nullable=False, server_default="0"))
    # Existing accounts keep the order in which they were added.
    op.execute("UPDATE accounts SET position = id")
    with op.batch_alter_table("networks") as batch:
        batch.add_column(sa.Column("vault_address", sa.String(42), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("networks") as batch:
        batch.drop_column("vault_address")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("position")
    op.drop_index("ix_activity_at", "activity")
    op.drop_table("activity")
