"""held credentials: holder binding, copies and the hashes that find them

Revision ID: 0009_t11c
Revises: 0008
Create Date: 2026-12-02 07:20:00.000000

Existing rows are backfilled: ``proof_hash`` and ``id_hash`` from their bytes, ``holder_binding =
'subject'`` where the credential names the holder's own ``subject_id``, and ``copy_of_held`` for a row
another account held earlier (same signature or same issuer and id). Identifier matches are not
backfilled (they are claims, re-read on the next import); the parsing here is self-contained so that
later code changes cannot change what this revision does.
"""

import base64
import hashlib
import json

import sqlalchemy as sa
from alembic import op

import wallet.db

revision = "0009_t11c"
down_revision = "0008"
branch_labels = None
depends_on = None


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _claims(raw: bytes) -> tuple[dict, str | None]:
    """(credential JSON, JWS signature or None)."""
    try:
        text = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        return {}, None
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            return {}, None
        return (document if isinstance(document, dict) else {}), None
    parts = text.split(".")
    if len(parts) != 3:
        return {}, None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return {}, parts[2] or None
    if not isinstance(claims, dict):
        return {}, parts[2] or None
    vc = claims.get("vc")
    if isinstance(vc, dict):
        vc = dict(vc)
        subject = vc.get("credentialSubject")
        if isinstance(subject, dict) and "id" not in subject and isinstance(claims.get("sub"), str):
            vc["credentialSubject"] = {**subject, "id": claims["sub"]}
        return vc, parts[2] or None
    return claims, parts[2] or None


def _subject_id(document: dict) -> str | None:
    subject = document.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    value = subject.get("id") if isinstance(subject, dict) else None
    return value if isinstance(value, str) else None


def _proof_hash(document: dict, signature: str | None) -> str | None:
    if signature:
        return _digest("jws:" + signature)
    proofs = document.get("proof")
    proofs = proofs if isinstance(proofs, list) else [proofs]
    values = sorted(p["proofValue"] for p in proofs if isinstance(p, dict) and isinstance(p.get("proofValue"), str)
                    and p["proofValue"])
    return _digest("di:" + "\n".join(values)) if values else None


def upgrade() -> None:
    with op.batch_alter_table("held_credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder_binding", sa.String(length=10), server_default=sa.text("'none'"),
                                      nullable=False))
        batch_op.add_column(sa.Column("holder_bound_at", wallet.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("copy_of_held", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("proof_hash", sa.String(length=71), nullable=True))
        batch_op.add_column(sa.Column("id_hash", sa.String(length=71), nullable=True))
        batch_op.create_index("ix_held_credentials_proof_hash", ["proof_hash"], unique=False)
        batch_op.create_index("ix_held_credentials_id_hash", ["id_hash"], unique=False)

    bind = op.get_bind()
    held = sa.table("held_credentials", sa.column("id", sa.Uuid()), sa.column("account_id", sa.Uuid()),
                    sa.column("raw", sa.LargeBinary()), sa.column("issuer_id", sa.String()),
                    sa.column("credential_id", sa.String()), sa.column("added_at", wallet.db.UTCDateTime()),
                    sa.column("holder_binding", sa.String()), sa.column("copy_of_held", sa.Boolean()),
                    sa.column("proof_hash", sa.String()), sa.column("id_hash", sa.String()))
    accounts = sa.table("accounts", sa.column("id", sa.Uuid()), sa.column("subject_id", sa.String()))
    subjects = dict(bind.execute(sa.select(accounts.c.id, accounts.c.subject_id)).all())
    first_holder: dict[str, object] = {}
    rows = bind.execute(sa.select(held.c.id, held.c.account_id, held.c.raw, held.c.issuer_id, held.c.credential_id)
                        .order_by(held.c.added_at, held.c.id)).all()
    for row_id, account_id, raw, issuer_id, credential_id in rows:
        document, signature = _claims(raw)
        proof = _proof_hash(document, signature)
        ident = _digest(f"{issuer_id or ''}\n{credential_id}") if credential_id else None
        subject = _subject_id(document)
        binding = "subject" if subject is not None and subject == subjects.get(account_id) else "none"
        holders = {first_holder.get(key) for key in (proof, ident) if key is not None} - {None}
        copy = binding != "subject" and any(holder != account_id for holder in holders)
        for key in (proof, ident):
            if key is not None:
                first_holder.setdefault(key, account_id)
        bind.execute(sa.update(held).where(held.c.id == row_id).values(
            proof_hash=proof, id_hash=ident, holder_binding=binding, copy_of_held=copy))


def downgrade() -> None:
    with op.batch_alter_table("held_credentials", schema=None) as batch_op:
        batch_op.drop_index("ix_held_credentials_id_hash")
        batch_op.drop_index("ix_held_credentials_proof_hash")
        batch_op.drop_column("id_hash")
        batch_op.drop_column("proof_hash")
        batch_op.drop_column("copy_of_held")
        batch_op.drop_column("holder_bound_at")
        batch_op.drop_column("holder_binding")
