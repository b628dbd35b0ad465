"""A learning record (a CLR 2.0 ``ClrCredential``) as a person reads it: what it is, who made it, and what is in it.

A record's signature proves one thing: the signer put these badges and these pathway descriptions
together, for this person, on this date, and nothing was changed since. It proves nothing about the
badges inside — each keeps its own issuer's signature — so each embedded badge is checked on its own,
from the bytes the record carries, with the same panel a shared badge has
(:func:`wallet.sharing.pages.badge_panel`). The record's own panel names its signer as this service only
when the record is signed with this service's records key (``service_dids``: the ``did:key`` of the current
secret key and of any previous one, :func:`wallet.records.clr.records_issuer`); any other signer is "a
signer we don't know", never the name it gives itself.

Pathways in a record are the service's words about the learner's progress when the record was made
("… progress: 2 of 3 steps done"); they are shown as that — counted by the signer, at that date — not as
achievements the learner was awarded.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.credentials.parse import UnsupportedFormat
from wallet.holding import binding as binding_rules
from wallet.holding.binding import HolderBinding
from wallet.holding.services import binding_of
from wallet.holding.summary import content_hash, is_record, summarise
from wallet.holding.trust import IssuerDirectory
from wallet.models import Account, HeldCredential
from wallet.sharing.badge import decoded_credential, safe_url
from wallet.sharing.pages import BadgePanel, Verify, badge_panel
from wallet.sharing.verdict import PanelRow, Verdict, VerificationCache, cached_report, recipient_words

EMBEDDED_MEDIA_TYPE = "application/vc+ld+json"
MAX_SHOWN = 200


@dataclass(frozen=True)
class RecordPathway:
    """A pathway as the record describes it (name, and the description with the progress in words)."""

    name: str
    description: str | None
    url: str | None


@dataclass(frozen=True)
class RecordView:
    """One record, for the learner's own page and the public share page."""

    name: str
    description: str | None
    made_at: dt.datetime | None
    signer: str
    """Who signed the record, as far as we can vouch: "Learner Wallet (this service)" or an unknown signer."""
    by_this_service: bool
    recipient: str
    holder: HolderBinding
    verdict: Verdict
    badges: list[BadgePanel]
    pathways: list[RecordPathway]
    unreadable: int
    """Entries of ``verifiableCredential`` that are not JSON credentials (shown as a count, never trusted)."""


def held_is_record(held: HeldCredential) -> bool:
    """Whether a held credential is a record (made here, or a ``ClrCredential`` imported from elsewhere)."""
    return held.source == "record" or (held.format == "vc-json" and is_record(decoded_credential(held.raw)))


def _text(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("en") or next(iter(value.values()), None)
    return value.strip()[:2000] if isinstance(value, str) and value.strip() else None


def _subject(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    subject = credential.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    return subject if isinstance(subject, Mapping) else {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _embedded(
    db: Session, *, entry: Mapping[str, Any], sharer_id: uuid.UUID, account: Account | None
) -> HeldCredential:
    """A badge inside the record as a transient held credential (never added to the session).

    Its binding is what this service knows of the same signed badge in the sharer's wallet (same proof
    value), else what the badge itself names (their account's subject id binds it; nothing else does)."""
    raw = json.dumps(entry, ensure_ascii=False, sort_keys=True).encode("utf-8")
    summary = summarise(raw, media_type=EMBEDDED_MEDIA_TYPE)
    proof = binding_rules.proof_hash(raw)
    same = (
        db.scalar(
            select(HeldCredential).where(HeldCredential.account_id == sharer_id, HeldCredential.proof_hash == proof)
        )
        if proof
        else None
    )
    if same is not None:
        by, copy, bound_at = same.holder_binding, same.copy_of_held, same.holder_bound_at
    else:
        named = binding_rules.named_subject(entry)
        bound = account is not None and named.id is not None and named.id == account.subject_id
        by, copy, bound_at = ("subject" if bound else "none"), False, None
    return HeldCredential(
        account_id=sharer_id,
        content_hash=content_hash(raw),
        raw=raw,
        media_type=EMBEDDED_MEDIA_TYPE,
        format=summary.format,
        credential_id=summary.credential_id,
        issuer_id=summary.issuer_id,
        issuer_name=summary.issuer_name,
        achievement_name=summary.achievement_name,
        achievement_id=summary.achievement_id,
        image_url=summary.image_url,
        issued_at=summary.issued_at,
        expires_at=summary.expires_at,
        tags=[],
        source="record",
        holder_binding=by,
        holder_bound_at=bound_at,
        copy_of_held=copy,
    )


def _date(moment: dt.datetime | None) -> str:
    return f"{moment.day} {moment:%B %Y}" if moment else "an unknown date"


def _outcomes(report: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(check.get("name")): str(check.get("outcome"))
        for check in report.get("checks", [])
        if isinstance(check, Mapping)
    }


def _signed(report: Mapping[str, Any]) -> bool:
    outcome = _outcomes(report)
    return outcome.get("proof") == "passed" and outcome.get("issuer_key") == "passed"


def signer_words(report: Mapping[str, Any], *, ours: bool, claimed_signer: str | None) -> str:
    """Who made the record, as far as we can vouch: this service only when its records key signed it."""
    if _signed(report) and ours:
        return "Learner Wallet (this service)"
    claimed = f"calling itself {claimed_signer}" if claimed_signer else "giving no name"
    return f"a signer we don't know, {claimed}" if _signed(report) else f"a signer we could not confirm, {claimed}"


def record_verdict(
    report: Mapping[str, Any],
    *,
    checked_at: dt.datetime,
    ours: bool,
    claimed_signer: str | None,
    holder: HolderBinding,
    sharer: str,
    made_at: dt.datetime | None,
    badges: int,
) -> Verdict:
    """The record's own panel: its signature, its signer, whom it is for and its date — nothing about the
    badges inside, which the sentence says are checked one by one."""
    outcome = _outcomes(report)
    proof, key, validity = (outcome.get(name, "indeterminate") for name in ("proof", "issuer_key", "validity"))
    shape = outcome.get("shape", "passed")
    signed_ok = _signed(report)
    signer = signer_words(report, ours=ours, claimed_signer=claimed_signer)
    rows = [
        PanelRow(
            "Signature",
            *{
                "passed": ("good", "Valid: the record has not been changed since it was made"),
                "failed": ("bad", "Not valid: the record was changed after it was made, or badly signed"),
            }.get(proof, ("unknown", "Could not check the signature")),
            "",
        ),
        PanelRow(
            "Made by",
            *(
                ("good", "Learner Wallet, this service, with its key for learner records")
                if signed_ok and ours
                else ("unknown", f"Not known: {signer}")
                if signed_ok
                else ("unknown", "Could not confirm who signed it")
            ),
            f"issuer {claimed_signer or 'unnamed'}",
        ),
    ]
    named = holder.subject.describe()
    if holder.proven:
        rows.append(
            PanelRow("Made for", "good", f"{sharer}, who is sharing it: it names their wallet account here", "")
        )
    else:
        rows.append(PanelRow("Made for", "unknown", f"{named}. Not bound to {sharer}, who is sharing it", ""))
    if validity == "passed":
        rows.append(PanelRow("Date", "good", f"Made on {_date(made_at)}", ""))
    elif validity == "failed":
        rows.append(PanelRow("Date", "bad", "Its dates are not valid", ""))
    else:
        rows.append(PanelRow("Date", "unknown", "Could not check its dates", ""))
    inside = (
        "it holds no badge we could read"
        if badges == 0
        else "the badge in it is checked on its own below"
        if badges == 1
        else f"each of the {badges} badges in it is checked on its own below"
    )
    if proof == "failed" or key == "failed" or shape == "failed":
        return Verdict(
            "not_genuine",
            f"Not genuine: this record was changed after it was made, or was not signed by the signer it names. "
            f"Do not rely on it as a whole; {inside}.",
            rows,
            checked_at,
        )
    whom = sharer if holder.proven else named
    if validity == "failed":
        return Verdict(
            "not_genuine", f"Not valid: the record's dates are not valid. {inside.capitalize()}.", rows, checked_at
        )
    if not signed_ok or validity != "passed":
        return Verdict(
            "unchecked",
            f"Could not fully check this record, which says it was made for {whom} on {_date(made_at)}; {inside}.",
            rows,
            checked_at,
        )
    if not ours:
        return Verdict(
            "unknown_issuer",
            f"Unknown signer: this record is validly signed, but by {signer}, and nothing shows who holds that "
            f"key. It says it was made for {whom} on {_date(made_at)}; {inside}.",
            rows,
            checked_at,
        )
    bound = "" if holder.proven else f" It is not bound to {sharer}, who is sharing it."
    return Verdict(
        "genuine",
        f"Genuine record: Learner Wallet put it together for {whom} on {_date(made_at)} from badges they chose, "
        f"and it has not been changed since. The record vouches only for what was put in it: {inside}, "
        f"against its own issuer.{bound}",
        rows,
        checked_at,
    )


def record_view(
    db: Session,
    *,
    held: HeldCredential,
    sharer: str,
    sharer_id: uuid.UUID,
    directory: IssuerDirectory,
    cache: VerificationCache,
    base_url: str,
    verify: Verify,
    service_dids: Sequence[str],
    now: dt.datetime,
) -> RecordView:
    """The record ``held`` (one of ``sharer_id``'s credentials) with its panel and a panel per badge inside."""
    credential = decoded_credential(held.raw)
    subject = _subject(credential)
    issuer = credential.get("issuer")
    issuer_map = issuer if isinstance(issuer, Mapping) else {}
    claimed_signer = _text(issuer_map.get("name"))
    cached = cached_report(db, held=held, cache=cache, base_url=base_url, verify=verify, now=now)
    ours = held.issuer_id is not None and held.issuer_id in set(service_dids)
    account = db.get(Account, sharer_id)
    entries = _as_list(subject.get("verifiableCredential"))[:MAX_SHOWN]
    badges = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        try:
            inside = _embedded(db, entry=entry, sharer_id=sharer_id, account=account)
        except UnsupportedFormat:
            continue
        badges.append(
            badge_panel(
                db,
                held=inside,
                sharer=sharer,
                directory=directory,
                cache=cache,
                base_url=base_url,
                verify=verify,
                now=now,
            )
        )
    pathways = [
        RecordPathway(
            name=_text(item.get("name")) or "A pathway",
            description=_text(item.get("description")),
            url=safe_url(item.get("id")),
        )
        for item in _as_list(subject.get("achievement"))[:MAX_SHOWN]
        if isinstance(item, Mapping)
    ]
    holder = binding_of(held)
    verdict = record_verdict(
        cached.report,
        checked_at=cached.checked_at,
        ours=ours,
        claimed_signer=claimed_signer,
        holder=holder,
        sharer=sharer,
        made_at=held.issued_at,
        badges=len(badges),
    )
    return RecordView(
        name=_text(credential.get("name")) or held.achievement_name or "A learning record",
        description=_text(credential.get("description")),
        made_at=held.issued_at,
        signer=signer_words(cached.report, ours=ours, claimed_signer=claimed_signer),
        by_this_service=_signed(cached.report) and ours,
        recipient=recipient_words(holder, sharer=sharer),
        holder=holder,
        verdict=verdict,
        badges=badges,
        pathways=pathways,
        unreadable=len(entries) - len(badges),
    )
