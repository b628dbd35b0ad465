"""console: organisations' time zone, one-time passwords that work once, web operators

Revision ID: 0010_t13
Revises: 0010_invitations
Create Date: 2026-12-02 15:10:00.000000

``organisations.time_zone`` (IANA name, default ``UTC``) is what the console shows and reads session
times in. ``accounts.must_change_password`` marks an account whose password was handed over (an invite,
``wallet org create``): it signs in once, then must choose its own. ``accounts.is_operator`` lets an
account do on the web what ``wallet org create`` does (``wallet operator grant``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_t13"
down_revision = "0010_invitations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite supports it with a default): no table rebuild, nothing copied or dropped.
    op.add_column(
        "organisations", sa.Column("time_zone", sa.String(length=60), server_default=sa.text("'UTC'"), nullable=False)
    )
    op.add_column("accounts", sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("accounts", sa.Column("is_operator", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("is_operator")
        batch_op.drop_column("must_change_password")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("time_zone")
