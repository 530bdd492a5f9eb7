"""Spending per asset per 15-minute slot, kept by triggers on ``spending`` for the Activity chart (issue 21).

Creates ``spending_slots`` and its three triggers exactly as a new database gets them from the models
(``models.SpendingSlotRow``, ``models.SPENDING_SLOT_TRIGGERS``; a test compares both), then fills it from
the records already there, in the same transaction. The SQL is written out here rather than imported: a
migration is the schema as it was at this revision, whatever the models become later.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# the UTC slot (whole seconds since 1970, a multiple of 900) holding the instant in column {at}; the
# fraction of a second is cut off first (SQLite's date functions would round it to the millisecond)
SECONDS = "CAST(strftime('%s', substr({at}, 1, 19)) AS INTEGER)"
SLOT = f"(({SECONDS} / 900) - ({SECONDS} % 900 < 0)) * 900"

ADD_NEW = f"""INSERT INTO spending_slots (asset_key, slot, amount_giga, amount_rem, records)
    VALUES (NEW.asset_key, {SLOT.format(at="NEW.at")}, NEW.amount_giga, NEW.amount_rem, 1)
    ON CONFLICT (asset_key, slot) DO UPDATE SET amount_giga = amount_giga + excluded.amount_giga,
        amount_rem = amount_rem + excluded.amount_rem, records = records + 1;"""
TAKE_OLD = f"""UPDATE spending_slots SET amount_giga = amount_giga - OLD.amount_giga,
        amount_rem = amount_rem - OLD.amount_rem, records = records - 1
    WHERE asset_key = OLD.asset_key AND slot = {SLOT.format(at="OLD.at")};
    DELETE FROM spending_slots WHERE asset_key = OLD.asset_key AND slot = {SLOT.format(at="OLD.at")}
        AND records = 0;"""
TRIGGERS = (
    f"CREATE TRIGGER spending_slots_insert AFTER INSERT ON spending BEGIN\n    {ADD_NEW}\nEND",
    f"CREATE TRIGGER spending_slots_delete AFTER DELETE ON spending BEGIN\n    {TAKE_OLD}\nEND",
    "CREATE TRIGGER spending_slots_update AFTER UPDATE OF at, asset_key, amount_giga, amount_rem "
    f"ON spending BEGIN\n    {TAKE_OLD}\n    {ADD_NEW}\nEND",
)


def upgrade() -> None:
    op.create_table(
        "spending_slots",
        sa.Column("asset_key", sa.String(120), primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("amount_giga", sa.Integer, nullable=False),
        sa.Column("amount_rem", sa.Integer, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.CheckConstraint(
            "typeof(amount_giga) = 'integer' AND typeof(amount_rem) = 'integer'",
            name="ck_spending_slots_exact",
        ),
        sqlite_with_rowid=False,
    )
    for trigger in TRIGGERS:
        op.execute(trigger)
    op.execute(
        "INSERT INTO spending_slots (asset_key, slot, amount_giga, amount_rem, records) "
        f"SELECT asset_key, {SLOT.format(at='at')}, SUM(amount_giga), SUM(amount_rem), COUNT(*) "
        "FROM spending GROUP BY 1, 2"
    )


def downgrade() -> None:
    for name in ("spending_slots_update", "spending_slots_delete", "spending_slots_insert"):
        op.execute(f"DROP TRIGGER {name}")
    op.drop_table("spending_slots")
