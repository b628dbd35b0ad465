"""membership invitations: an admin offers a role, the account holder accepts

Revision ID: 0010_invitations
Revises: 0009_t11c
Create Date: 2026-12-02 15:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import wallet.db

revision = "0010_invitations"
down_revision = "0009_t11c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "membership_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("admin", "youth_worker", name="invitation_role", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", wallet.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invited_by"], ["accounts.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organisation_id", "account_id"),
    )
    op.create_index("ix_membership_invitations_account_id", "membership_invitations", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_membership_invitations_account_id", table_name="membership_invitations")
    op.drop_table("membership_invitations")
