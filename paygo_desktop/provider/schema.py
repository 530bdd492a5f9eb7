"""The provider database's schema: its own Alembic migrations (``provider/migrations``, apart from the app's),
run on SQLite and PostgreSQL alike when the store opens.

A database at the newest revision is opened without loading Alembic. An older one is upgraded in place;
one the provider never migrated (a SQLite file from before the migrations, made by ``create_all``) is
adopted by the first migration, which keeps what exists and adds what is missing. A database written by a
newer provider is refused, unchanged. On PostgreSQL the upgrade holds an advisory lock, so workers (or hosts)
starting together upgrade it once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, inspect, text

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "provider_alembic_version"
# The newest migration's revision (tests/provider/test_schema.py checks it against the folder).
SCHEMA_HEAD = "0010"
MIGRATION_LOCK = 0x50475930  # pg_advisory_lock key held while a PostgreSQL database is upgraded


def alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def revision(conn: Connection) -> str | None:
    """The database's schema revision; None for a database never migrated (empty, or made by create_all)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


class NewerSchema(Exception):
    """The database was written by a newer provider: nothing was changed (``provider.store`` says so)."""


def upgrade(engine: Engine, *, postgres: bool, shown: str, target: str = "head") -> None:
    """Bring the database behind ``engine`` (``shown`` in messages) to ``target`` (the newest revision by
    default); ``NewerSchema`` if a newer provider wrote it."""
    with engine.begin() as conn:
        if postgres:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        current = revision(conn)
        if target == "head" and current == SCHEMA_HEAD:
            return
        from alembic import command
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(alembic_config())
        known = {rev.revision for rev in script.walk_revisions()}
        if current is not None and current not in known:
            raise NewerSchema(
                f"the provider database {shown} was written by a newer provider (schema {current}); "
                "update this provider to use it. Nothing was changed."
            )
        log.info(
            "upgrading the provider database %s from %s to %s",
            shown,
            current or "(no revision)",
            script.get_current_head() if target == "head" else target,
        )
        command.upgrade(alembic_config(connection=conn), target)
        if not postgres:
            from paygo_desktop.store.sqlite_upgrades import check_foreign_keys

            check_foreign_keys(conn)
