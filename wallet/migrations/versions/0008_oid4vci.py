"""OpenID4VCI pre-authorized codes, access tokens, nonces and holder claims

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 12:00:05.254655
"""
from alembic import op
import sqlalchemy as sa
import wallet.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('oid4vci_nonces',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('nonce_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', wallet.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oid4vci_nonces')),
    sa.UniqueConstraint('nonce_hash', name=op.f('uq_oid4vci_nonces_nonce_hash'))
    )
    with op.batch_alter_table('oid4vci_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oid4vci_nonces_expires_at'), ['expires_at'], unique=False)

    op.create_table('oid4vci_claims',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('holder_did', sa.String(length=512), nullable=False),
    sa.Column('code_id', sa.Integer(), nullable=True),
    sa.Column('issued_credential_id', sa.Uuid(), nullable=True),
    sa.Column('credential_jwt', sa.Text(), nullable=True),
    sa.Column('created_at', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['code_id'], ['claim_codes.id'], name=op.f('fk_oid4vci_claims_code_id_claim_codes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['issued_credential_id'], ['issued_credentials.id'], name=op.f('fk_oid4vci_claims_issued_credential_id_issued_credentials'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['claim_sessions.id'], name=op.f('fk_oid4vci_claims_session_id_claim_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oid4vci_claims')),
    sa.UniqueConstraint('session_id', 'holder_did', name=op.f('uq_oid4vci_claims_session_id_holder_did'))
    )
    with op.batch_alter_table('oid4vci_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oid4vci_claims_issued_credential_id'), ['issued_credential_id'], unique=False)

    op.create_table('oid4vci_codes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('claim_code_id', sa.Integer(), nullable=True),
    sa.Column('created_at', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', wallet.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['claim_code_id'], ['claim_codes.id'], name=op.f('fk_oid4vci_codes_claim_code_id_claim_codes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['claim_sessions.id'], name=op.f('fk_oid4vci_codes_session_id_claim_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oid4vci_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_oid4vci_codes_code_hash'))
    )
    with op.batch_alter_table('oid4vci_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oid4vci_codes_claim_code_id'), ['claim_code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oid4vci_codes_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_oid4vci_codes_session_id'), ['session_id'], unique=False)

    op.create_table('oid4vci_access_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('claim_code_id', sa.Integer(), nullable=True),
    sa.Column('code_id', sa.Integer(), nullable=False),
    sa.Column('holder_did', sa.String(length=512), nullable=True),
    sa.Column('created_at', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', wallet.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_code_id'], ['claim_codes.id'], name=op.f('fk_oid4vci_access_tokens_claim_code_id_claim_codes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['code_id'], ['oid4vci_codes.id'], name=op.f('fk_oid4vci_access_tokens_code_id_oid4vci_codes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['claim_sessions.id'], name=op.f('fk_oid4vci_access_tokens_session_id_claim_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oid4vci_access_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_oid4vci_access_tokens_token_hash'))
    )
    with op.batch_alter_table('oid4vci_access_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oid4vci_access_tokens_claim_code_id'), ['claim_code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oid4vci_access_tokens_code_id'), ['code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oid4vci_access_tokens_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_oid4vci_access_tokens_session_id'), ['session_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('oid4vci_access_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oid4vci_access_tokens_session_id'))
        batch_op.drop_index(batch_op.f('ix_oid4vci_access_tokens_expires_at'))
        batch_op.drop_index(batch_op.f('ix_oid4vci_access_tokens_code_id'))
        batch_op.drop_index(batch_op.f('ix_oid4vci_access_tokens_claim_code_id'))

    op.drop_table('oid4vci_access_tokens')
    with op.batch_alter_table('oid4vci_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oid4vci_codes_session_id'))
        batch_op.drop_index(batch_op.f('ix_oid4vci_codes_expires_at'))
        batch_op.drop_index(batch_op.f('ix_oid4vci_codes_claim_code_id'))

    op.drop_table('oid4vci_codes')
    with op.batch_alter_table('oid4vci_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oid4vci_claims_issued_credential_id'))

    op.drop_table('oid4vci_claims')
    with op.batch_alter_table('oid4vci_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oid4vci_nonces_expires_at'))

    op.drop_table('oid4vci_nonces')
