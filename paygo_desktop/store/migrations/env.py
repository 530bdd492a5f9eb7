"""Alembic environment: runs migrations on the connection the store hands over."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the store always passes its connection
    raise RuntimeError("migrations are run through paygo_desktop.store.Store")

context.configure(connection=connection, render_as_batch=True, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
