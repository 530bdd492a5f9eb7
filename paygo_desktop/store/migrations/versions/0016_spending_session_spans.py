"""Each session's spending per 15-minute slot and per UTC day, kept by triggers on ``spending`` for the
Activity page's breakdown (issue 21: it counts distinct sessions, which ``spending_slots`` cannot).

Creates ``spending_session_spans`` and its three triggers exactly as a new database gets them from the
models (``models.SpendingSessionSpanRow``, ``models.SPENDING_SESSION_SPAN_TRIGGERS``; a test compares
both), then fills it from the records already there, in the same transaction: the slots from the records
(one pass, grouped in the table's key order), the days from those slots. The SQL is written out here rather
than imported: a migration is the schema as it was at this revision, whatever the models become later.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

WIDTHS = (900, 86_400)  # a slot, a UTC day
COLUMNS = "asset_key, width, start, session, provider_url, service_id, category, service_name, provider_name"
KEY = "provider_url, service_id, category, service_name, provider_name"


def start_of(at: str, width: int) -> str:
    """The slot's or day's start (whole seconds since 1970) holding the instant in column ``at``; the
    fraction of a second cut off first (SQLite's date functions would round it to the millisecond)."""
    seconds = f"CAST(strftime('%s', substr({at}, 1, 19)) AS INTEGER)"
    return f"(({seconds} / {width}) - ({seconds} % {width} < 0)) * {width}"


def add(row: str, width: int) -> str:
    return f"""INSERT INTO spending_session_spans ({COLUMNS}, amount_giga, amount_rem, records)
    VALUES ({row}.asset_key, {width}, {start_of(f"{row}.at", width)},
        COALESCE({row}.session_id, 0), {row}.provider_url, {row}.service_id, {row}.category,
        {row}.service_name, {row}.provider_name, {row}.amount_giga, {row}.amount_rem, 1)
    ON CONFLICT ({COLUMNS}) DO UPDATE SET amount_giga = amount_giga + excluded.amount_giga,
        amount_rem = amount_rem + excluded.amount_rem, records = records + 1;"""


def take(row: str, width: int) -> str:
    where = (
        f"asset_key = {row}.asset_key AND width = {width} AND start = {start_of(f'{row}.at', width)} "
        f"AND session = COALESCE({row}.session_id, 0) AND provider_url = {row}.provider_url "
        f"AND service_id = {row}.service_id AND category = {row}.category "
        f"AND service_name = {row}.service_name AND provider_name = {row}.provider_name"
    )
    return f"""UPDATE spending_session_spans SET amount_giga = amount_giga - {row}.amount_giga,
        amount_rem = amount_rem - {row}.amount_rem, records = records - 1
    WHERE {where};
    DELETE FROM spending_session_spans WHERE {where} AND records = 0;"""


ADD_NEW = "\n    ".join(add("NEW", width) for width in WIDTHS)
TAKE_OLD = "\n    ".join(take("OLD", width) for width in WIDTHS)
TRIGGERS = (
    f"CREATE TRIGGER spending_session_spans_insert AFTER INSERT ON spending BEGIN\n    {ADD_NEW}\nEND",
    f"CREATE TRIGGER spending_session_spans_delete AFTER DELETE ON spending BEGIN\n    {TAKE_OLD}\nEND",
    "CREATE TRIGGER spending_session_spans_update AFTER UPDATE OF at, asset_key, amount_giga, amount_rem, "
    "session_id, provider_url, service_id, category, service_name, provider_name "
    f"ON spending BEGIN\n    {TAKE_OLD}\n    {ADD_NEW}\nEND",
)


def upgrade() -> None:
    op.create_table(
        "spending_session_spans",
        sa.Column("asset_key", sa.String(120), primary_key=True),
        sa.Column("width", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("start", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("session", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("provider_url", sa.Text, primary_key=True),
        sa.Column("service_id", sa.String(100), primary_key=True),
        sa.Column("category", sa.String(100), primary_key=True),
        sa.Column("service_name", sa.String(200), primary_key=True),
        sa.Column("provider_name", sa.String(200), primary_key=True),
        sa.Column("amount_giga", sa.Integer, nullable=False),
        sa.Column("amount_rem", sa.Integer, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.CheckConstraint(
            "typeof(amount_giga) = 'integer' AND typeof(amount_rem) = 'integer'",
            name="ck_spending_session_spans_exact",
        ),
        sqlite_with_rowid=False,
    )
    for trigger in TRIGGERS:
        op.execute(trigger)
    slot, day = WIDTHS
    # grouped in the table's key order, so the rows go in as one sorted run (SUM of integers fails loudly
    # rather than overflow; the check refuses a float)
    op.execute(
        f"INSERT INTO spending_session_spans ({COLUMNS}, amount_giga, amount_rem, records) "
        f"SELECT asset_key, {slot}, {start_of('at', slot)}, COALESCE(session_id, 0), {KEY}, "
        "SUM(amount_giga), SUM(amount_rem), COUNT(*) FROM spending "
        f"GROUP BY asset_key, 3, 4, {KEY} ORDER BY asset_key, 3, 4, {KEY}"
    )
    day_of_slot = f"((start / {day}) - (start % {day} < 0)) * {day}"
    op.execute(
        f"INSERT INTO spending_session_spans ({COLUMNS}, amount_giga, amount_rem, records) "
        f"SELECT asset_key, {day}, {day_of_slot}, session, {KEY}, "
        "SUM(amount_giga), SUM(amount_rem), SUM(records) FROM spending_session_spans "
        f"WHERE width = {slot} GROUP BY asset_key, 3, session, {KEY} ORDER BY asset_key, 3, session, {KEY}"
    )


def downgrade() -> None:
    for name in ("spending_session_spans_update", "spending_session_spans_delete", "spending_session_spans_insert"):
        op.execute(f"DROP TRIGGER {name}")
    op.drop_table("spending_session_spans")
