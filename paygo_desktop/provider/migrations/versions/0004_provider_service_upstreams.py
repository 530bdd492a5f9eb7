"""Vendor-managed upstreams (issue 22): a catalog service's upstream and delivery, set through the vendor's
service routes (``provider.service_upstreams``); the config's ``[services.<id>]`` still wins.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_services") as batch:
        batch.add_column(sa.Column("upstream_url", sa.String(2048), nullable=True))
        batch.add_column(sa.Column("upstream_delivery", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provider_services") as batch:
        batch.drop_column("upstream_delivery")
        batch.drop_column("upstream_url")
