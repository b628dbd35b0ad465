"""Endorsements of a badge as its holder's page shows them: only what each endorsement proves.

An endorsement is about an achievement (or its issuer), not about one learner's badge; it says something
about *this* badge only when the badge was really issued by the organisation that owns the achievement —
so nothing is shown unless the badge's own check found it signed by a key of that organisation
(:class:`wallet.holding.trust.IssuerTrust` of kind ``organisation``, the same judgement as the badge's
panel). Each endorsement is then checked like any credential (its signature, that the key is the
endorser's, its dates) and the endorser named by the same trust code the share pages use
(:func:`wallet.sharing.verdict.issuer_words`): a known name only when the key is known, "an issuer we
don't know, calling itself X" otherwise, and the endorser's words only when the endorsement verified and
names this badge's achievement or issuer as its subject.

Reports are kept in the share pages' :class:`~wallet.sharing.verdict.VerificationCache` (keyed by the
endorsement's content hash; an endorsement carries no status list), so a page view re-verifies nothing
that was checked in the last hours.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from wallet.endorsements.services import endorsement_url, issuer_subject_id
from wallet.holding.trust import IssuerDirectory, IssuerTrust
from wallet.issuing.credentials import achievement_url, local_achievement_id
from wallet.models import Achievement, Endorsement, EndorsementSubjectKind, Organisation
from wallet.sharing.verdict import MAX_AGE, UNSETTLED_TTL, CachedReport, VerificationCache, issuer_words

VerifyDocument = Callable[[bytes], dict[str, Any]]
"""Checks a credential's bytes now (the caller owns the fetcher) and returns its verification report."""


@dataclass(frozen=True)
class ProvenEndorsement:
    """One endorsement as far as it proves anything.

    ``state`` is ``good`` (verified, signed by an endorser we know), ``unknown`` (could not be checked, or
    validly signed by an endorser nobody here knows) or ``bad`` (does not verify). ``comment`` is the
    endorser's words, given only when ``state`` is ``good``.
    """

    about: str
    """``achievement`` (this badge's achievement) or ``issuer`` (the organisation that issued it)."""
    state: str
    endorser: str
    endorser_slug: str | None
    sentence: str
    comment: str | None
    signed_at: dt.datetime | None
    url: str
    checked_at: dt.datetime


def _cached(raw: bytes, *, cache: VerificationCache, verify: VerifyDocument, now: dt.datetime) -> CachedReport:
    key = ("endorsement:" + hashlib.sha256(raw).hexdigest(), ())
    entry = cache.get(key, now=now)
    if entry is None:
        report = verify(raw)
        settled = report.get("outcome") in ("valid", "invalid")
        entry = CachedReport(report=report, checked_at=now, fresh_until=now + (MAX_AGE if settled else UNSETTLED_TTL))
        cache.put(key, entry)
    return entry


def _issuer_of(credential: Mapping[str, Any]) -> tuple[str | None, str | None]:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        name = issuer.get("name")
        return (str(issuer.get("id")) if issuer.get("id") else None), (name if isinstance(name, str) else None)
    return (issuer if isinstance(issuer, str) else None), None


def _subject_of(credential: Mapping[str, Any]) -> tuple[str | None, str | None]:
    subject = credential.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    if not isinstance(subject, Mapping):
        return None, None
    comment = subject.get("endorsementComment")
    return (subject.get("id") if isinstance(subject.get("id"), str) else None), (
        comment if isinstance(comment, str) else None
    )


def _signed_at(credential: Mapping[str, Any]) -> dt.datetime | None:
    value = credential.get("validFrom") or credential.get("issuanceDate")
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _judge(
    raw: str,
    *,
    about: str,
    expected_subject: str,
    url: str,
    directory: IssuerDirectory,
    cache: VerificationCache,
    verify: VerifyDocument,
    now: dt.datetime,
) -> ProvenEndorsement:
    data = raw.encode()
    try:
        credential = json.loads(raw)
    except ValueError:
        credential = {}
    credential = credential if isinstance(credential, dict) else {}
    cached = _cached(data, cache=cache, verify=verify, now=now)
    issuer_id, claimed = _issuer_of(credential)
    trust: IssuerTrust = directory.judge(cached.report, issuer_id=issuer_id, claimed_name=claimed)
    endorser = issuer_words(trust)
    subject, comment = _subject_of(credential)
    outcome = cached.report.get("outcome")
    what = "this badge" if about == "achievement" else "the organisation that issued it"
    if outcome == "invalid":
        state, sentence, comment = (
            "bad",
            "Not valid: this endorsement does not pass its checks. Do not rely on it.",
            None,
        )
    elif outcome != "valid":
        state, sentence, comment = "unknown", f"Could not check this endorsement, which says it is by {endorser}.", None
    elif subject != expected_subject:
        state, sentence, comment = "bad", "Not about this badge: the signed endorsement names something else.", None
    elif not trust.known:
        state = "unknown"
        sentence = f"Validly signed, but by {endorser}, and nothing shows who holds that key."
        comment = None
    else:
        state, sentence = "good", f"Checked: {endorser} signed this endorsement of {what}."
    return ProvenEndorsement(
        about=about,
        state=state,
        endorser=endorser,
        endorser_slug=trust.organisation_slug if state == "good" else None,
        sentence=sentence,
        comment=comment,
        signed_at=_signed_at(credential) if state == "good" else None,
        url=url,
        checked_at=cached.checked_at,
    )


def for_badge(
    db: Session,
    *,
    achievement_id_url: str | None,
    badge_trust: IssuerTrust,
    directory: IssuerDirectory,
    cache: VerificationCache,
    base_url: str,
    verify: VerifyDocument | None,
    now: dt.datetime,
) -> list[ProvenEndorsement]:
    """The endorsements that concern a held badge, each as far as it proves anything (see the module);
    none where the caller cannot verify documents (``verify`` is ``None``).

    ``badge_trust`` is the badge panel's judgement of who signed the badge: endorsements are looked up only
    when that is the organisation owning the achievement the badge names.
    """
    achievement_id = local_achievement_id(base_url, achievement_id_url)
    if verify is None:
        return []
    achievement = db.get(Achievement, achievement_id) if achievement_id is not None else None
    if achievement is None or badge_trust.kind != "organisation":
        return []
    owner = db.get(Organisation, achievement.organisation_id)
    if owner is None or owner.slug != badge_trust.organisation_slug:
        return []
    rows = db.scalars(
        select(Endorsement)
        .where(
            Endorsement.withdrawn_at.is_(None),
            or_(
                (Endorsement.subject_kind == EndorsementSubjectKind.ACHIEVEMENT)
                & (Endorsement.subject_id == achievement.id),
                (Endorsement.subject_kind == EndorsementSubjectKind.ISSUER) & (Endorsement.subject_id == owner.id),
            ),
        )
        .order_by(Endorsement.created_at, Endorsement.id)
    )
    expected = {
        "achievement": achievement_url(base_url, achievement.id),
        "issuer": issuer_subject_id(owner, base_url=base_url),
    }
    return [
        _judge(
            row.credential_json,
            about=row.subject_kind.value,
            expected_subject=expected[row.subject_kind.value],
            url=endorsement_url(base_url, row.id),
            directory=directory,
            cache=cache,
            verify=verify,
            now=now,
        )
        for row in rows
    ]
