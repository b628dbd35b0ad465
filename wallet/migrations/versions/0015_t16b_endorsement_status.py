"""endorsements get a place in the endorser's revocation list, so withdrawing one revokes it everywhere

Revision ID: 0011_t16b
Revises: 0010_t12a
Create Date: 2026-12-03 14:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_t16b"
down_revision = "0010_t12a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("endorsements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_list_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("status_index", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_endorsements_status_list_id_status_lists"),
            "status_lists",
            ["status_list_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("endorsements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_endorsements_status_list_id_status_lists"), type_="foreignkey")
        batch_op.drop_column("status_index")
        batch_op.drop_column("status_list_id")
