"""The learner's store of credentials: hold, list, read, tag, delete.

Every function takes the learner's ``account_id`` and only ever touches that learner's rows; another
learner's credential is ``credential.not_found`` (404), so ids leak nothing. Reading and verifying
(which may need the network) live in :mod:`wallet.holding.checking`; exports in :mod:`wallet.holding.exporting`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wallet_protocol.sync.state import normalise_tag

from wallet.changelog import edits
from wallet.changelog.changes import record_entry_added, record_entry_removed, record_server_facts
from wallet.credentials.parse import UnsupportedFormat
from wallet.db import add_inserted
from wallet.errors import DomainError
from wallet.holding import binding as binding_rules
from wallet.holding.checking import Checked, Fetcher, check_credential, fetch_credential, require_acceptable
from wallet.holding.summary import CredentialSummary, content_hash, summarise
from wallet.models import Account, HeldCredential

SOURCES = frozenset({"claim", "import", "award", "sync", "record", "request"})
OUTCOMES = frozenset({"valid", "invalid", "indeterminate"})
MAX_TAGS = 30
MAX_TAG_LENGTH = 60


def _same_credential(db: Session, *, account_id: uuid.UUID, summary: CredentialSummary) -> HeldCredential | None:
    """A held credential with the same ``id`` from the same issuer: another encoding of one credential."""
    if summary.credential_id is None:
        return None
    issuer = (
        HeldCredential.issuer_id.is_(None)
        if summary.issuer_id is None
        else HeldCredential.issuer_id == summary.issuer_id
    )
    return db.scalar(
        select(HeldCredential)
        .where(HeldCredential.account_id == account_id, HeldCredential.credential_id == summary.credential_id, issuer)
        .limit(1)
    )


def _held_by_another(
    db: Session, *, account_id: uuid.UUID, digest: str, proof_hash: str | None, id_hash: str | None
) -> bool:
    """Whether another account here already holds this credential: the same signature, or the same issuer and
    id (both indexed; equal bytes imply either), else — for an unsigned credential without id — the same bytes."""
    same = []
    if proof_hash is not None:
        same.append(HeldCredential.proof_hash == proof_hash)
    if id_hash is not None:
        same.append(HeldCredential.id_hash == id_hash)
    if not same:
        same.append(HeldCredential.content_hash == digest)
    found = db.scalar(select(HeldCredential.id).where(HeldCredential.account_id != account_id, or_(*same)).limit(1))
    return found is not None


def _initial_binding(db: Session, *, account_id: uuid.UUID, raw: bytes, copy: bool) -> str:
    account = db.get(Account, account_id)
    if account is None:
        return "none"
    facts = binding_rules.AccountFacts(
        subject_id=account.subject_id, display_name=account.display_name or "", email=account.email
    )
    subject = binding_rules.named_subject(binding_rules.decoded(raw))
    return binding_rules.initial_binding(subject, account=facts, copy=copy)


def record_verification(db: Session, credential: HeldCredential, *, report: dict[str, Any], now: dt.datetime) -> None:
    """Keep ``report`` as the credential's latest verification (the status was checked just now).

    The outcome also goes to every device as a server-written sync fact, so a revocation found by the
    nightly re-check shows on the learner's phone after its next sync.
    """
    credential.verification = report
    credential.outcome = report.get("outcome") if report.get("outcome") in OUTCOMES else None
    credential.verified_at = now
    credential.status_checked_at = now
    record_server_facts(
        db,
        account_id=credential.account_id,
        cred_hash=credential.content_hash,
        facts=verification_facts(report, checked_at=now),
        now=now,
    )


def verification_facts(report: dict[str, Any], *, checked_at: dt.datetime) -> dict[str, Any]:
    """The part of a report a device shows: the outcome, each check's outcome, and when it was checked."""
    checks = {check["name"]: check["outcome"] for check in report.get("checks", []) if "name" in check}
    return {"outcome": report.get("outcome"), "checks": checks, "checked_at": checked_at.isoformat()}


def add_credential(
    db: Session,
    *,
    account_id: uuid.UUID,
    raw: bytes,
    media_type: str,
    source: str,
    now: dt.datetime,
    verification: dict[str, Any] | None = None,
    summary: CredentialSummary | None = None,
    minted: bool = False,
    record_id: uuid.UUID | None = None,
) -> HeldCredential:
    """Hold ``raw`` (kept byte-exact) for the learner; the same bytes twice return the existing row.

    The same credential in a different encoding (same ``id`` and issuer, other bytes) is refused with
    ``credential.duplicate`` carrying ``existing_id``. ``verification`` is a report's ``to_dict()``,
    stored as the latest one. ``summary`` overrides what is read from ``raw`` (an OB 2.0 importer knows
    the fetched BadgeClass; the bytes only name its URL). Bytes that are no credential format raise
    ``credential.unsupported_format``. ``minted`` says the credential was signed here in this transaction
    (a fresh ``id`` and proof): no wallet can hold it yet, so the three look-ups for copies are skipped.
    ``record_id`` is the new row's id when a row written before it already names it (a claim).
    """
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    digest = content_hash(raw)
    existing = (
        None
        if minted
        else db.scalar(
            select(HeldCredential).where(HeldCredential.account_id == account_id, HeldCredential.content_hash == digest)
        )
    )
    if existing is not None:
        return existing
    if summary is None:
        try:
            summary = summarise(raw, media_type=media_type)
        except UnsupportedFormat as exc:
            raise DomainError("credential.unsupported_format", f"Not a credential we can hold: {exc}") from exc
    duplicate = None if minted else _same_credential(db, account_id=account_id, summary=summary)
    if duplicate is not None:
        raise DomainError(
            "credential.duplicate",
            "This credential is already in your wallet (another copy of it).",
            existing_id=str(duplicate.id),
        )
    proof_hash = binding_rules.proof_hash(raw)
    id_hash = binding_rules.id_hash(issuer_id=summary.issuer_id, credential_id=summary.credential_id)
    copy = not minted and _held_by_another(
        db, account_id=account_id, digest=digest, proof_hash=proof_hash, id_hash=id_hash
    )
    holder_binding = _initial_binding(db, account_id=account_id, raw=raw, copy=copy)
    values = {
        "account_id": account_id,
        "content_hash": digest,
        "raw": raw,
        "media_type": media_type[:100],
        "format": summary.format,
        "credential_id": summary.credential_id,
        "issuer_id": summary.issuer_id,
        "issuer_name": summary.issuer_name,
        "achievement_name": summary.achievement_name,
        "achievement_id": summary.achievement_id,
        "image_url": summary.image_url,
        "issued_at": summary.issued_at,
        "expires_at": summary.expires_at,
        "tags": [],
        "source": source,
        "added_at": now,
        "holder_binding": holder_binding,
        "holder_bound_at": now if holder_binding != "none" else None,
        "copy_of_held": copy,
        "proof_hash": proof_hash,
        "id_hash": id_hash,
    }
    if record_id is not None:
        values["id"] = record_id
    if minted:  # new bytes: no other transaction can be holding them, so no savepoint guards the insert
        credential = add_inserted(db, HeldCredential, values)
        assert credential is not None  # no ON CONFLICT: a clash raises
    else:
        credential = HeldCredential(**values)
        db.add(credential)
        try:
            with db.begin_nested():
                db.flush()
        except IntegrityError:
            db.expunge(credential)
            raced = db.scalar(
                select(HeldCredential).where(
                    HeldCredential.account_id == account_id, HeldCredential.content_hash == digest
                )
            )
            if raced is None:
                raise
            return raced
    if source != "sync":  # a device's own entry.add already carries the entry (I11)
        record_entry_added(db, account_id=account_id, cred_hash=digest, now=now, minted=minted)
    if verification is not None:
        record_verification(db, credential, report=verification, now=now)
    return credential


def get_credential(db: Session, *, account_id: uuid.UUID, credential_id: uuid.UUID) -> HeldCredential:
    credential = db.scalar(
        select(HeldCredential).where(HeldCredential.id == credential_id, HeldCredential.account_id == account_id)
    )
    if credential is None:
        raise DomainError("credential.not_found")
    return credential


def find_credential(db: Session, *, account_id: uuid.UUID, reference: str) -> HeldCredential:
    """One of the learner's credentials by any name it goes by (docs/api.md, "Naming a held credential").

    ``reference`` is the wallet's ``id`` (a UUID), the ``content_hash`` (``sha256:…``, the name sync and the
    SDK's offline replica use) or the credential's own ``credential_id`` (e.g. ``urn:uuid:…``). Another
    learner's credential is ``credential.not_found``, like one that does not exist; a ``credential_id``
    two held credentials share (two issuers reusing an id) is ``request.conflict``: name it by ``id``.
    """
    reference = reference.strip()
    mine = HeldCredential.account_id == account_id
    if reference.startswith("sha256:"):
        found = db.scalar(select(HeldCredential).where(mine, HeldCredential.content_hash == reference.lower()))
    else:
        row_id = _plain_uuid(reference)
        found = db.scalar(select(HeldCredential).where(mine, HeldCredential.id == row_id)) if row_id else None
        if found is not None:
            return found
        candidates = list(
            db.scalars(select(HeldCredential).where(mine, HeldCredential.credential_id == reference).limit(2))
        )
        if len(candidates) > 1:
            raise DomainError(
                "request.conflict", "More than one of your credentials has this credential_id; use its id instead."
            )
        found = candidates[0] if candidates else None
    if found is None:
        raise DomainError("credential.not_found")
    return found


def _plain_uuid(text: str) -> uuid.UUID | None:
    """``text`` as a UUID when it is written as one (not ``urn:uuid:…``, which is a credential's own id)."""
    if ":" in text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class CredentialFilter:
    """What the learner is looking for; every field narrows the list (``None`` = no restriction)."""

    issuer: str | None = None
    q: str | None = None
    tag: str | None = None
    issued_after: dt.datetime | None = None
    issued_before: dt.datetime | None = None
    expired: bool | None = None
    status: str | None = None


def _filtered(account_id: uuid.UUID, where: CredentialFilter, now: dt.datetime) -> Select[tuple[HeldCredential]]:
    query = select(HeldCredential).where(HeldCredential.account_id == account_id)
    if where.issuer:
        query = query.where(
            or_(
                HeldCredential.issuer_id == where.issuer,
                func.lower(HeldCredential.issuer_name).contains(where.issuer.lower(), autoescape=True),
            )
        )
    if where.q:
        query = query.where(func.lower(HeldCredential.achievement_name).contains(where.q.lower(), autoescape=True))
    if where.issued_after:
        query = query.where(HeldCredential.issued_at >= where.issued_after)
    if where.issued_before:
        query = query.where(HeldCredential.issued_at < where.issued_before)
    if where.expired is True:
        query = query.where(HeldCredential.expires_at <= now)
    elif where.expired is False:
        query = query.where(or_(HeldCredential.expires_at.is_(None), HeldCredential.expires_at > now))
    if where.status:
        query = query.where(HeldCredential.outcome == where.status)
    return query


def list_credentials(
    db: Session,
    *,
    account_id: uuid.UUID,
    where: CredentialFilter,
    now: dt.datetime,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[HeldCredential], int]:
    """One page of the learner's credentials, newest first, and how many match in all.

    Tags live in the synced wallet (``tag`` rows, what every device shows); a learner holds hundreds of
    credentials, not millions, so the tag filter runs over the account's matching rows in Python.
    """
    query = _filtered(account_id, where, now).order_by(
        HeldCredential.issued_at.desc().nulls_last(), HeldCredential.added_at.desc(), HeldCredential.id
    )
    if where.tag:
        wanted, tags = normalise_tag(where.tag), edits.tags_of(db, account_id=account_id)
        rows = [row for row in db.scalars(query) if wanted in tags.get(row.content_hash, [])]
        end = None if limit is None else offset + limit
        return rows[offset:end], len(rows)
    total = db.scalar(select(func.count()).select_from(_filtered(account_id, where, now).subquery())) or 0
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(db.scalars(query)), total


def all_credentials(db: Session, *, account_id: uuid.UUID) -> Sequence[HeldCredential]:
    """Every credential the learner holds, oldest first (exports list them in the order they arrived)."""
    return db.scalars(
        select(HeldCredential)
        .where(HeldCredential.account_id == account_id)
        .order_by(HeldCredential.added_at, HeldCredential.id)
    ).all()


def normalise_tags(tags: Sequence[str]) -> list[str]:
    """Trimmed, de-duplicated (first spelling kept), empty tags dropped; too many or too long is an error."""
    seen: dict[str, str] = {}
    for tag in tags:
        cleaned = " ".join(tag.split())
        if cleaned and cleaned.casefold() not in seen:
            seen[cleaned.casefold()] = cleaned
    result = list(seen.values())
    if len(result) > MAX_TAGS or any(len(tag) > MAX_TAG_LENGTH for tag in result):
        raise DomainError(
            "request.validation_failed",
            f"At most {MAX_TAGS} tags of {MAX_TAG_LENGTH} characters.",
            errors={"json": {"tags": [f"at most {MAX_TAGS} tags of {MAX_TAG_LENGTH} characters"]}},
        )
    return result


def set_tags(
    db: Session, *, account_id: uuid.UUID, credential_id: uuid.UUID, tags: Sequence[str], now: dt.datetime
) -> HeldCredential:
    """Make a credential's tags exactly ``tags``, in the synced wallet (:func:`wallet.changelog.edits.set_tags`),
    so every device shows them after its next sync; the stored form is ``normalise_tag``'s."""
    credential = get_credential(db, account_id=account_id, credential_id=credential_id)
    edits.set_tags(db, account_id=account_id, cred_hash=credential.content_hash, tags=normalise_tags(tags), now=now)
    return credential


def delete_credential(db: Session, *, account_id: uuid.UUID, credential_id: uuid.UUID, now: dt.datetime) -> None:
    """Delete a held credential and remove it from every device at their next sync."""
    credential = get_credential(db, account_id=account_id, credential_id=credential_id)
    record_entry_removed(db, account_id=account_id, cred_hash=credential.content_hash, now=now)
    db.delete(credential)
    db.flush()


def forget_credential(db: Session, *, account_id: uuid.UUID, cred_hash: str) -> None:
    """Drop the bytes of a credential that sync removed from the wallet (no change to publish: the
    removal is the change). A later concurrent add brings it back through ``missing_blobs``."""
    db.execute(
        delete(HeldCredential).where(HeldCredential.account_id == account_id, HeldCredential.content_hash == cred_hash)
    )


def stale_credentials(db: Session, *, now: dt.datetime, max_age: dt.timedelta, limit: int) -> Sequence[HeldCredential]:
    """Credentials whose status was last checked before ``now - max_age`` (never checked first)."""
    cutoff = now - max_age
    return db.scalars(
        select(HeldCredential)
        .where(or_(HeldCredential.status_checked_at.is_(None), HeldCredential.status_checked_at < cutoff))
        .order_by(HeldCredential.status_checked_at.asc().nulls_first(), HeldCredential.id)
        .limit(limit)
    ).all()


def _hold_checked(
    db: Session, *, account_id: uuid.UUID, checked: Checked, source: str, now: dt.datetime
) -> HeldCredential:
    digest = content_hash(checked.raw)
    existing = db.scalar(
        select(HeldCredential.id).where(HeldCredential.account_id == account_id, HeldCredential.content_hash == digest)
    )
    if existing is not None:
        raise DomainError(
            "credential.duplicate", "This credential is already in your wallet.", existing_id=str(existing)
        )
    return add_credential(
        db,
        account_id=account_id,
        raw=checked.raw,
        media_type=checked.media_type,
        source=source,
        now=now,
        verification=checked.report,
        summary=checked.summary,
    )


def import_credential(
    db: Session,
    *,
    account_id: uuid.UUID,
    data: bytes,
    content_type: str | None,
    fetcher: Fetcher | None,
    now: dt.datetime,
    source: str = "import",
) -> HeldCredential:
    """Verify and hold a credential file (JSON, VC-JWT, OB 2.0 JWS or hosted JSON, baked PNG/SVG).

    Refused, with nothing stored: an invalid credential (``credential.invalid`` naming the failed checks),
    one already held (``credential.duplicate`` with ``existing_id``), an unknown format or context.
    Expired and indeterminate credentials are held with their report.
    """
    checked = check_credential(data, content_type=content_type, fetcher=fetcher, now=now)
    require_acceptable(checked)
    return _hold_checked(db, account_id=account_id, checked=checked, source=source, now=now)


def import_from_url(
    db: Session, *, account_id: uuid.UUID, url: str, fetcher: Fetcher, now: dt.datetime
) -> HeldCredential:
    """Fetch a credential (or hosted OB 2.0 assertion) from ``url`` and import it like a file."""
    result = fetch_credential(url, fetcher=fetcher)
    return import_credential(
        db, account_id=account_id, data=result.body, content_type=result.content_type, fetcher=fetcher, now=now
    )


def verify_held(credential: HeldCredential, *, fetcher: Fetcher | None, now: dt.datetime) -> dict[str, Any]:
    """A fresh report for a held credential; never raises (what cannot be checked is indeterminate)."""
    try:
        return check_credential(credential.raw, content_type=credential.media_type, fetcher=fetcher, now=now).report
    except DomainError as error:
        checks = [
            {"name": name, "outcome": "indeterminate", "detail": error.detail}
            for name in ("proof", "issuer_key", "validity", "status", "shape")
        ]
        return {
            "outcome": "indeterminate",
            "format": credential.format,
            "issuer": credential.issuer_id,
            "checks": checks,
        }


def verify_document(raw: bytes, *, fetcher: Fetcher | None, now: dt.datetime) -> dict[str, Any]:
    """A fresh report for any credential's bytes (an endorsement, say); never raises, never stores."""
    try:
        return check_credential(raw, content_type="application/ld+json", fetcher=fetcher, now=now).report
    except DomainError as error:
        checks = [
            {"name": name, "outcome": "indeterminate", "detail": error.detail}
            for name in ("proof", "issuer_key", "validity", "status", "shape")
        ]
        return {"outcome": "indeterminate", "checks": checks}


def reverify_credential(
    db: Session, *, account_id: uuid.UUID, credential_id: uuid.UUID, fetcher: Fetcher | None, now: dt.datetime
) -> HeldCredential:
    """Verify a held credential again now (its status may have changed) and keep the new report."""
    credential = get_credential(db, account_id=account_id, credential_id=credential_id)
    record_verification(db, credential, report=verify_held(credential, fetcher=fetcher, now=now), now=now)
    db.flush()
    return credential


def refresh_stale_verifications(
    db: Session,
    *,
    now: dt.datetime,
    max_age: dt.timedelta,
    fetcher: Fetcher | None,
    limit: int,
    recognise: Callable[[Session, uuid.UUID, dt.datetime], object] | None = None,
) -> int:
    """Re-verify up to ``limit`` credentials whose status was checked before ``now - max_age``.

    For the scheduler: idempotent, bounded per run, oldest checks first. Returns how many were checked.
    ``recognise`` (the app's :func:`wallet.pathways.services.recogniser`) then judges the automatic
    pathways of every learner with a credential found valid: one that could not be checked when it was
    imported, or that completes a pathway made since, earns its outcome here, as an import would have.
    """
    credentials = stale_credentials(db, now=now, max_age=max_age, limit=limit)
    for credential in credentials:
        record_verification(db, credential, report=verify_held(credential, fetcher=fetcher, now=now), now=now)
    db.flush()
    if recognise is not None:
        for account_id in sorted({c.account_id for c in credentials if c.outcome == "valid"}):
            recognise(db, account_id, now)  # in account order, so two runs would lock wallets alike
    return len(credentials)


def binding_of(credential: HeldCredential) -> binding_rules.HolderBinding:
    """Whom the credential names and what ties it to its holder."""
    return binding_rules.holder_binding(
        by=credential.holder_binding,
        copy=credential.copy_of_held,
        bound_at=credential.holder_bound_at,
        raw=credential.raw,
    )


def _provable_did(credential: HeldCredential) -> str:
    did = binding_of(credential).subject.provable_did
    if did is None:
        raise DomainError(
            "credential.binding_failed",
            "This credential names no did:key or did:jwk subject, so there is no key to prove control of.",
        )
    return did


def binding_challenge(
    db: Session, *, account_id: uuid.UUID, credential_id: uuid.UUID, key: bytes, audience: str, now: dt.datetime
) -> binding_rules.Challenge:
    """A challenge for the learner to sign with the key of the DID their credential names."""
    credential = get_credential(db, account_id=account_id, credential_id=credential_id)
    return binding_rules.binding_challenge(
        key=key,
        account_id=account_id,
        credential_id=credential.id,
        did=_provable_did(credential),
        audience=audience,
        now=now,
    )


def prove_binding(
    db: Session,
    *,
    account_id: uuid.UUID,
    credential_id: uuid.UUID,
    proof: str,
    key: bytes,
    audience: str,
    now: dt.datetime,
) -> HeldCredential:
    """Bind the credential to the learner by their signature over a challenge (``credential.binding_failed``)."""
    credential = get_credential(db, account_id=account_id, credential_id=credential_id)
    did = _provable_did(credential)
    binding_rules.check_binding_proof(
        proof, key=key, account_id=account_id, credential_id=credential.id, did=did, audience=audience, now=now
    )
    if credential.holder_binding != "subject":
        credential.holder_binding = "did"
        credential.holder_bound_at = now
    db.flush()
    return credential
