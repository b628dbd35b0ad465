"""sync: wallets, clients and rows

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 11:37:54.395802
"""

import sqlalchemy as sa
from alembic import op

import wallet.db

revision = "0004"
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_rows",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("row_id", sa.String(length=200), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("tombstone", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_sync_rows_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "kind", "row_id", name=op.f("pk_sync_rows")),
    )
    with op.batch_alter_table("sync_rows", schema=None) as batch_op:
        batch_op.create_index("ix_sync_rows_account_seq", ["account_id", "seq"], unique=False)

    op.create_table(
        "sync_wallets",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("epoch", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("gc_floor", sa.BigInteger(), nullable=False),
        sa.Column("hlc", sa.String(length=100), nullable=True),
        sa.Column("server_op_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", wallet.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_sync_wallets_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_sync_wallets")),
    )
    op.create_table(
        "sync_clients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("last_op_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_cursor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", wallet.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", wallet.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_sync_clients_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], name=op.f("fk_sync_clients_device_id_devices"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_clients")),
    )
    with op.batch_alter_table("sync_clients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_clients_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sync_clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_clients_account_id"))
    op.drop_table("sync_clients")
    op.drop_table("sync_wallets")
    with op.batch_alter_table("sync_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_rows_account_seq")
    op.drop_table("sync_rows")
