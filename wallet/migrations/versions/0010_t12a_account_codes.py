"""account codes: recovery codes and in-person reset codes (sign-in without e-mail)

Revision ID: 0010_t12a
Revises: 0009_t11c
Create Date: 2026-12-02 15:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

import wallet.db

revision = "0010_t12a"
down_revision = "0009_t11c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", wallet.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", wallet.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_at", wallet.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_codes_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["accounts.id"], name=op.f("fk_account_codes_issued_by_accounts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_codes")),
    )
    with op.batch_alter_table("account_codes", schema=None) as batch_op:
        batch_op.create_index("ix_account_codes_account_kind", ["account_id", "kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("account_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_account_codes_account_kind")
    op.drop_table("account_codes")
