"""rate limit buckets

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 14:10:00.000000
"""
from alembic import op
import sqlalchemy as sa
import wallet.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_limit_buckets',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('window_start', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('window_end', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_buckets'))
    )
    with op.batch_alter_table('rate_limit_buckets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_buckets_window_end'), ['window_end'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rate_limit_buckets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_limit_buckets_window_end'))

    op.drop_table('rate_limit_buckets')
