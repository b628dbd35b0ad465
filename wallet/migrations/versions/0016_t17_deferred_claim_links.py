"""a claim's links to the credential it delivered are checked at COMMIT, so the claim row can be written
with them before the credential is (one UPDATE fewer per claim)

Revision ID: 0012_t17
Revises: 0011_t16b
Create Date: 2026-12-04 19:00:00.000000
"""

from alembic import op

revision = "0012_t17"
down_revision = "0011_t16b"
branch_labels = None
depends_on = None

_LINKS = [
    ("claims", "issued_credential_id", "issued_credentials"),
    ("claims", "held_credential_id", "held_credentials"),
    ("oid4vci_claims", "issued_credential_id", "issued_credentials"),
]


def _relink(deferred: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        # ALTER CONSTRAINT changes only the timing: no table rewrite, no re-check of every claim.
        timing = "DEFERRABLE INITIALLY DEFERRED" if deferred else "NOT DEFERRABLE"
        for table, column, referred in _LINKS:
            op.execute(f"ALTER TABLE {table} ALTER CONSTRAINT fk_{table}_{column}_{referred} {timing}")
        return
    for table, column, referred in _LINKS:  # SQLite: the table is rebuilt with the new constraint
        with op.batch_alter_table(table, schema=None) as batch_op:
            name = batch_op.f(f"fk_{table}_{column}_{referred}")
            batch_op.drop_constraint(name, type_="foreignkey")
            batch_op.create_foreign_key(
                name,
                referred,
                [column],
                ["id"],
                ondelete="SET NULL",
                **({"deferrable": True, "initially": "DEFERRED"} if deferred else {}),
            )


def upgrade() -> None:
    _relink(deferred=True)


def downgrade() -> None:
    _relink(deferred=False)
