"""A record to hand over: a signed CLR 2.0 ``ClrCredential`` of the learner's chosen badges and pathways.

The learner picks badges they hold (kept byte-exact inside ``credentialSubject.verifiableCredential``, so
each goes on verifying under its own issuer's signature) and pathways (as OB 3.0 ``Achievement`` objects,
with their progress in words, and the CLR 2.0 ``association`` entries between them). The record is
signed by this wallet service with ``eddsa-rdfc-2022`` under a ``did:key`` derived from the instance's
secret key — the record attests what was assembled, the badges inside attest themselves — so it verifies
offline anywhere (``wallet verify``), and is held in the learner's wallet (``source = "record"``) so it is
shared by link like any badge (:mod:`wallet.sharing`).

Shape: VC Data Model 2.0, contexts ``[credentials/v2, clr/v2p0/context-2.0.1.json, ob/v3p0/context-3.0.3.json]``
(all bundled; nothing fetched). docs/pathways.md has an example and says how it meets 1EdTech's CLR 2.0
JSON schema.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session
from wallet_protocol.pathways import credential_document

from wallet.accounts.tokens import derive_key
from wallet.credentials import dataintegrity, jsonld
from wallet.credentials.multikey import did_key_for, verification_method_id
from wallet.errors import DomainError
from wallet.holding.services import add_credential
from wallet.issuing.profiles import OB_CONTEXT, VC_CONTEXT
from wallet.issuing.status import isoformat
from wallet.models import Account, HeldCredential
from wallet.pathways.services import learner_badges, learner_pathways, pathway_associations, pathway_document

CLR_CONTEXT = jsonld.CLR_V2P0_CONTEXT_2_0_1
RECORD_MEDIA_TYPE = "application/vc+ld+json"
MAX_BADGES = 200
MAX_PATHWAYS = 50


def records_key(secret_key: bytes) -> Ed25519PrivateKey:
    """The service's record-signing key (the same on every worker; a new secret key starts a new did:key)."""
    return Ed25519PrivateKey.from_private_bytes(derive_key(secret_key, "clr-record-signing"))


def records_issuer(secret_key: bytes) -> dict[str, Any]:
    key = records_key(secret_key)
    return {"id": did_key_for(key), "type": ["Profile"], "name": "Learner Wallet (learner records)"}


def service_dids(secret_keys: Sequence[bytes]) -> list[str]:
    """The ``did:key`` of every records key this service signs or signed with (current secret key first):
    a record signed by one of them was put together here."""
    return [_records_did(key) for key in secret_keys]


@functools.lru_cache(maxsize=8)
def _records_did(secret_key: bytes) -> str:
    return did_key_for(records_key(secret_key))


MAX_NAME_LENGTH = 200


def record_name(text: str) -> str | None:
    """The name a learner typed for their record (``None``: the default), or ``request.validation_failed``."""
    name = " ".join(text.split())
    if "\x00" in text or any(ord(char) < 32 and char not in "\t\n\r" for char in text):
        raise DomainError(
            "request.validation_failed", "The name has a character we cannot keep.", errors={"name": ["control"]}
        )
    if len(name) > MAX_NAME_LENGTH:
        raise DomainError(
            "request.validation_failed",
            f"A record's name has at most {MAX_NAME_LENGTH} characters.",
            errors={"name": [f"at most {MAX_NAME_LENGTH} characters"]},
        )
    return name or None


@dataclass(frozen=True)
class BadgeChoice:
    id: uuid.UUID
    name: str
    issuer: str
    issued_at: dt.datetime | None
    embeddable: bool
    """Only Open Badges 3.0 JSON credentials can go inside a record (their signatures travel with them)."""
    in_started_pathway: bool


@dataclass(frozen=True)
class PathwayChoice:
    id: uuid.UUID
    name: str
    steps_done: int
    total_steps: int
    complete: bool


@dataclass(frozen=True)
class RecordChoices:
    """What the learner can put in a record: their badges (records left out) and the pathways they started."""

    badges: list[BadgeChoice]
    pathways: list[PathwayChoice]
    default_name: str


def record_choices(db: Session, *, account_id: uuid.UUID) -> RecordChoices:
    """The record form's read model. Pathways the learner has not started are left out (nothing to show)."""
    account = db.get(Account, account_id)
    if account is None:
        raise DomainError("account.not_found")
    badges = learner_badges(db, account_id=account_id)
    entries = learner_pathways(db, account_id=account_id, badges=badges)
    started = [entry for entry in entries if entry.progress.started or entry.awarded is not None]
    counting = {key for entry in started for step in entry.progress.steps for key in step.by}
    keys = {entry.held.id: entry.badge.key for entry in badges}
    rows = db.execute(
        select(
            HeldCredential.id,
            HeldCredential.achievement_name,
            HeldCredential.issuer_name,
            HeldCredential.issuer_id,
            HeldCredential.issued_at,
            HeldCredential.format,
            HeldCredential.source,
        )
        .where(HeldCredential.account_id == account_id, HeldCredential.source != "record")
        .order_by(HeldCredential.issued_at.desc().nulls_last(), HeldCredential.added_at.desc(), HeldCredential.id)
    ).all()
    choices = [
        BadgeChoice(
            id=row.id,
            name=row.achievement_name or "Untitled badge",
            issuer=row.issuer_name or row.issuer_id or "an unnamed issuer",
            issued_at=row.issued_at,
            embeddable=row.format == "vc-json",
            in_started_pathway=keys.get(row.id) in counting,
        )
        for row in rows
    ]
    return RecordChoices(
        badges=choices,
        pathways=[
            PathwayChoice(
                entry.pathway.id,
                entry.pathway.name,
                entry.progress.steps_done,
                entry.progress.total_steps,
                entry.progress.complete,
            )
            for entry in started
        ],
        default_name=f"Learning record of {account.display_name or account.username}",
    )


def build_record(
    db: Session,
    *,
    account_id: uuid.UUID,
    credential_ids: Sequence[uuid.UUID],
    pathway_ids: Sequence[uuid.UUID],
    base_url: str,
    secret_key: bytes,
    now: dt.datetime,
    name: str | None = None,
) -> dict[str, Any]:
    """The signed ``ClrCredential`` (the learner's own badges and pathways only)."""
    name = record_name(name) if name is not None else None
    if not credential_ids and not pathway_ids:
        raise DomainError(
            "request.validation_failed", "Choose at least one badge or pathway.", errors={"credentials": ["choose"]}
        )
    if len(credential_ids) > MAX_BADGES or len(pathway_ids) > MAX_PATHWAYS:
        raise DomainError("request.validation_failed", f"At most {MAX_BADGES} badges and {MAX_PATHWAYS} pathways.")
    account = db.get(Account, account_id)
    if account is None:
        raise DomainError("account.not_found")
    held = {
        row.id: row
        for row in db.scalars(
            select(HeldCredential).where(
                HeldCredential.account_id == account_id, HeldCredential.id.in_(list(credential_ids))
            )
        )
    }
    missing = [str(value) for value in credential_ids if value not in held]
    if missing:
        raise DomainError("credential.not_found", f"{len(missing)} of those badges are not in your wallet.")
    embedded = []
    for value in dict.fromkeys(credential_ids):
        row = held[value]
        if row.format != "vc-json" or row.source == "record":
            raise DomainError(
                "request.validation_failed",
                f"{row.achievement_name or 'That credential'} cannot go in a record: only Open Badges 3.0 JSON "
                "credentials can be embedded.",
                errors={"credentials": [str(value)]},
            )
        embedded.append(json.loads(row.raw))
    chosen = {entry.pathway.id: entry for entry in learner_pathways(db, account_id=account_id)}
    achievements: list[dict[str, Any]] = []
    associations: list[dict[str, Any]] = []
    for pathway_id in dict.fromkeys(pathway_ids):
        entry = chosen.get(pathway_id)
        if entry is None:
            raise DomainError("pathway.not_found")
        document = pathway_document(db, entry.pathway, base_url=base_url)
        achievement = dict(document["achievement"])
        done = entry.progress
        achievement["description"] = (
            f"{achievement['description']} — progress: {done.steps_done} of {done.total_steps} steps done"
            + (" (complete)" if done.complete else "")
        )
        achievements.append(achievement)
        associations.extend(pathway_associations(entry.pathway, base_url=base_url))
    if not embedded:
        raise DomainError(
            "request.validation_failed",
            "A record needs at least one badge (a CLR carries the credentials it speaks for).",
            errors={"credentials": ["choose at least one badge"]},
        )
    subject: dict[str, Any] = {"id": account.subject_id, "type": ["ClrSubject"], "verifiableCredential": embedded}
    if achievements:
        subject["achievement"] = achievements
    if associations:
        subject["association"] = associations
    who = account.display_name or account.username
    key = records_key(secret_key)
    record = {
        "@context": [VC_CONTEXT, CLR_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": records_issuer(secret_key),
        "validFrom": isoformat(now.replace(microsecond=0)),
        "name": name or f"Learning record of {who}",
        "description": f"{len(embedded)} badge(s) and {len(achievements)} pathway(s) chosen by {who}",
        "credentialSubject": subject,
    }
    jsonld.assert_portable(record)
    return dataintegrity.sign(
        record,
        private_key=key,
        verification_method=verification_method_id(key),
        created=isoformat(now),
        cryptosuite="eddsa-rdfc-2022",
    )


def export_record(
    db: Session,
    *,
    account_id: uuid.UUID,
    credential_ids: Sequence[uuid.UUID],
    pathway_ids: Sequence[uuid.UUID],
    base_url: str,
    secret_key: bytes,
    now: dt.datetime,
    name: str | None = None,
) -> HeldCredential:
    """Build the record and hold it in the learner's wallet, ready to download or share by link."""
    record = build_record(
        db,
        account_id=account_id,
        credential_ids=credential_ids,
        pathway_ids=pathway_ids,
        base_url=base_url,
        secret_key=secret_key,
        now=now,
        name=name,
    )
    return add_credential(
        db,
        account_id=account_id,
        raw=json.dumps(record, ensure_ascii=False).encode("utf-8"),
        media_type=RECORD_MEDIA_TYPE,
        source="record",
        now=now,
    )


def skills_summary(db: Session, *, account_id: uuid.UUID, base_url: str) -> list[dict[str, Any]]:
    """The learner's skills across all their badges: each framework item, with the badges that show it.

    Alignments to items of our frameworks are named from the framework; alignments elsewhere by the
    alignment's own ``targetName``.
    """
    from wallet.skills.frameworks import items_for_urls

    by_skill: dict[str, dict[str, Any]] = {}
    entries = [entry for entry in learner_badges(db, account_id=account_id) if entry.held.source != "record"]
    wanted = [entry.held.id for entry in entries if entry.badge.skills]
    raws: dict[uuid.UUID, bytes] = {}
    for held_id, raw in db.execute(select(HeldCredential.id, HeldCredential.raw).where(HeldCredential.id.in_(wanted))):
        raws[held_id] = raw
    for entry in entries:
        document = credential_document(raws[entry.held.id]) if entry.held.id in raws else None
        if document is None:
            continue
        subject = document.get("credentialSubject")
        subjects = subject if isinstance(subject, list) else [subject]
        for item in subjects:
            achievement = item.get("achievement") if isinstance(item, dict) else None
            alignments = achievement.get("alignment") if isinstance(achievement, dict) else None
            for alignment in alignments if isinstance(alignments, list) else []:
                if not isinstance(alignment, dict) or not isinstance(alignment.get("targetUrl"), str):
                    continue
                skill = by_skill.setdefault(
                    alignment["targetUrl"],
                    {
                        "target_url": alignment["targetUrl"],
                        "name": str(alignment.get("targetName") or alignment["targetUrl"])[:500],
                        "code": str(alignment.get("targetCode") or ""),
                        "framework": str(alignment.get("targetFramework") or ""),
                        "framework_slug": None,
                        "version": None,
                        "badges": [],
                    },
                )
                if not any(badge["id"] == str(entry.held.id) for badge in skill["badges"]):
                    skill["badges"].append(
                        {
                            "id": str(entry.held.id),
                            "name": entry.held.achievement_name or "A badge",
                            "issuer": entry.held.issuer_name or "",
                        }
                    )
    ours = items_for_urls(db, base_url=base_url, urls=by_skill)
    for url, (framework, number, item) in ours.items():
        by_skill[url].update(
            name=item.statement[:500],
            code=item.code,
            framework=framework.title,
            framework_slug=framework.slug,
            version=number,
        )
    return sorted(by_skill.values(), key=lambda skill: (skill["framework"], skill["code"], skill["name"]))
