"""Alembic environment of the provider's database: runs on the connection ``provider.schema`` hands over."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the provider's store always passes its connection
    raise RuntimeError("provider migrations are run through paygo_desktop.provider.schema.upgrade")

context.configure(
    connection=connection,
    render_as_batch=connection.dialect.name == "sqlite",
    target_metadata=None,
    version_table="provider_alembic_version",
)
with context.begin_transaction():
    context.run_migrations()
