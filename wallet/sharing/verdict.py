"""The verification panel: a credential's report, cached, and put into words an employer understands.

**Caching.** Verifying means fetching the issuer's keys and status list and checking signatures; a page
that did that on every view would be slow and would hammer issuers. Reports are cached in process, keyed
by the credential's content hash *and the version of every status list it points at*:

* a list this service publishes (``{base_url}/status/{org}/{purpose}/{n}``) is versioned by
  ``status_lists.version``, which grows with every revocation — so revoking a badge here changes the key
  and the very next view re-verifies (one indexed read per view, no fetch);
* a list published elsewhere is versioned by a time bucket of :data:`REMOTE_STATUS_TTL`, so a revocation
  by another issuer shows within that time.

An entry also stops being fresh after :data:`MAX_AGE` (issuer keys can change), after
:data:`UNSETTLED_TTL` when something could not be checked (so an unreachable status list is retried soon),
and at the credential's own validity boundaries (so a badge never shows "not expired" past its expiry).
The page says when the shown result was computed ("last checked").

**Words.** One sentence sums the result up. Anything that could not be established is said plainly
("could not check"), never rounded to "not revoked".
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.credentials.reasons import Reason
from wallet.holding.binding import HolderBinding
from wallet.holding.trust import IssuerTrust
from wallet.models import HeldCredential, Organisation, StatusList
from wallet.sharing.badge import decoded_credential

REMOTE_STATUS_TTL = dt.timedelta(minutes=5)
MAX_AGE = dt.timedelta(hours=6)
UNSETTLED_TTL = dt.timedelta(minutes=1)
MAX_ENTRIES = 4096

StatusVersions = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class CachedReport:
    report: dict[str, Any]
    checked_at: dt.datetime
    fresh_until: dt.datetime


class VerificationCache:
    """A bounded, thread-safe LRU of reports; one per app (``WalletState.sharing``)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[tuple[str, StatusVersions], CachedReport] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, StatusVersions], *, now: dt.datetime) -> CachedReport | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or now >= entry.fresh_until:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: tuple[str, StatusVersions], entry: CachedReport) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def status_list_urls(credential: Mapping[str, Any]) -> list[str]:
    """The status lists a credential points at (Bitstring Status List and 1EdTech Revocation List)."""
    entries = credential.get("credentialStatus")
    entries = entries if isinstance(entries, list) else [entries] if entries else []
    urls = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        url = entry.get("statusListCredential") or entry.get("id")
        if isinstance(url, str):
            urls.append(url)
    return sorted(set(urls))


_LOCAL_LIST = re.compile(r"^/status/(?P<slug>[a-z0-9-]{1,60})/(?P<purpose>[a-z]{1,20})/(?P<no>\d{1,9})$")


def status_versions(db: Session, *, urls: Sequence[str], base_url: str, now: dt.datetime) -> StatusVersions:
    """A version for each status list: ``status_lists.version`` for our own, a time bucket for others."""
    base = base_url.rstrip("/")
    bucket = f"t{int(now.timestamp() // REMOTE_STATUS_TTL.total_seconds())}"
    versions = []
    for url in urls:
        match = _LOCAL_LIST.match(url[len(base) :]) if url.startswith(base + "/") else None
        version = None
        if match:
            version = db.scalar(
                select(StatusList.version)
                .join(Organisation, Organisation.id == StatusList.organisation_id)
                .where(
                    Organisation.slug == match["slug"],
                    StatusList.purpose == match["purpose"],
                    StatusList.list_no == int(match["no"]),
                )
            )
        versions.append((url, f"v{version}" if version is not None else bucket))
    return tuple(versions)


def _fresh_until(report: Mapping[str, Any], held: HeldCredential, now: dt.datetime) -> dt.datetime:
    settled = report.get("outcome") in ("valid", "invalid")
    limit = now + (MAX_AGE if settled else UNSETTLED_TTL)
    for boundary in (held.issued_at, held.expires_at):
        if boundary is not None and now < boundary < limit:
            limit = boundary
    return limit


def cached_report(
    db: Session,
    *,
    held: HeldCredential,
    cache: VerificationCache,
    base_url: str,
    verify: Callable[[HeldCredential], dict[str, Any]],
    now: dt.datetime,
) -> CachedReport:
    """The credential's report from ``cache``, or computed by ``verify`` (which does the fetching) and kept."""
    urls = status_list_urls(decoded_credential(held.raw))
    key = (held.content_hash, status_versions(db, urls=urls, base_url=base_url, now=now))
    entry = cache.get(key, now=now)
    if entry is None:
        report = verify(held)
        entry = CachedReport(report=report, checked_at=now, fresh_until=_fresh_until(report, held, now))
        cache.put(key, entry)
    return entry


# --- words -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelRow:
    """One line of the panel: ``state`` is ``good``, ``bad``, ``unknown`` or ``none`` (nothing to check)."""

    label: str
    state: str
    text: str
    detail: str


@dataclass(frozen=True)
class Verdict:
    """``kind`` is ``genuine``, ``unknown_issuer`` (valid, but signed by nobody we know), ``expired``,
    ``revoked``, ``suspended``, ``not_yet_valid``, ``unchecked`` or ``not_genuine``;
    ``sentence`` is the one plain sentence at the top of the panel."""

    kind: str
    sentence: str
    rows: list[PanelRow]
    checked_at: dt.datetime


def _date(moment: dt.datetime | None) -> str:
    return f"{moment.day} {moment:%B %Y}" if moment else "an unknown date"


def _checks(report: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        str(check.get("name")): (str(check.get("outcome")), str(check.get("detail", "")))
        for check in report.get("checks", [])
        if isinstance(check, Mapping)
    }


def _reasons(report: Mapping[str, Any]) -> dict[str, str]:
    """Each check's reason code (empty for reports stored before codes existed)."""
    return {
        str(check.get("name")): str(check.get("reason") or "")
        for check in report.get("checks", [])
        if isinstance(check, Mapping)
    }


_UNKNOWN_WORDS = {
    "proof": "the signature",
    "issuer_key": "that the key belongs to the issuer",
    "status": "whether it has been revoked",
    "validity": "its dates",
    "shape": "its format",
}


def _rows(
    checks: dict[str, tuple[str, str]],
    reasons: dict[str, str],
    *,
    issuer: str,
    expires_at: dt.datetime | None,
) -> list[PanelRow]:
    proof, proof_detail = checks.get("proof", ("indeterminate", "not checked"))
    key, key_detail = checks.get("issuer_key", ("indeterminate", "not checked"))
    status, status_detail = checks.get("status", ("indeterminate", "not checked"))
    validity, validity_detail = checks.get("validity", ("indeterminate", "not checked"))
    shape, shape_detail = checks.get("shape", ("passed", ""))
    rows = [
        PanelRow(
            "Signature",
            *{
                "passed": ("good", "Valid: the badge has not been altered since it was signed"),
                "failed": ("bad", "Not valid: the badge was altered or badly signed"),
            }.get(proof, ("unknown", "Could not check the signature")),
            proof_detail,
        ),
        PanelRow(
            "Issuer's key",
            *{
                "passed": ("good", f"Matches: signed with a key {issuer} publishes"),
                "failed": ("bad", f"Does not match: not signed with a key of {issuer}"),
            }.get(key, ("unknown", "Could not check that the key belongs to the issuer")),
            key_detail,
        ),
    ]
    if status == "passed":
        rows.append(PanelRow("Revocation", "good", "Not revoked: checked with the issuer's status list", status_detail))
    elif status == "failed":
        word = "Suspended" if reasons.get("status") == Reason.STATUS_SUSPENDED else "Revoked"
        rows.append(PanelRow("Revocation", "bad", f"{word} by the issuer", status_detail))
    elif status == "skipped":
        rows.append(
            PanelRow("Revocation", "none", "The issuer publishes no revocation list for this badge", status_detail)
        )
    else:
        rows.append(
            PanelRow(
                "Revocation", "unknown", "Could not check: the issuer's status list could not be reached", status_detail
            )
        )
    if validity == "passed":
        text = f"Not expired (valid until {_date(expires_at)})" if expires_at else "Not expired: no expiry date"
        rows.append(PanelRow("Expiry", "good", text, validity_detail))
    elif validity == "failed":
        text = (
            f"Expired on {_date(expires_at)}"
            if reasons.get("validity") == Reason.VALIDITY_EXPIRED
            else "Not valid yet"
            if reasons.get("validity") == Reason.VALIDITY_NOT_YET_VALID
            else "Its dates are not valid"
        )
        rows.append(PanelRow("Expiry", "bad", text, validity_detail))
    else:
        rows.append(PanelRow("Expiry", "unknown", "Could not check its dates", validity_detail))
    if shape == "failed":
        rows.append(PanelRow("Format", "bad", "Not a well-formed Open Badge", shape_detail))
    return rows


def verdict(
    report: Mapping[str, Any],
    *,
    checked_at: dt.datetime,
    issuer: str,
    learner: str,
    issued_at: dt.datetime | None,
    expires_at: dt.datetime | None,
    trust: IssuerTrust | None = None,
    holder: HolderBinding | None = None,
    sharer: str = "the person sharing it",
) -> Verdict:
    """The panel and its sentence for ``report`` (a :class:`VerificationReport` dict).

    With ``trust`` and ``holder`` the words name the issuer as far as we can vouch for it and the recipient
    as the credential names them (``issuer``/``learner`` are then ignored), and the panel gains an "Issuer"
    and an "Issued to" row; a badge bound to nobody, or a copy, says so in its sentence.
    """
    if trust is not None:
        issuer = issuer_words(trust)
    if holder is not None:
        learner = recipient_words(holder, sharer=sharer)
    issuer_known = trust is None or trust.known
    checks = _checks(report)
    reasons = _reasons(report)
    rows = _rows(checks, reasons, issuer=issuer if issuer_known else _key_owner(trust), expires_at=expires_at)
    if trust is not None:
        rows.append(_issuer_row(trust))
    if holder is not None:
        rows.append(_holder_row(holder, sharer=sharer))
    result = _verdict(
        checks,
        reasons,
        rows,
        checked_at=checked_at,
        issuer=issuer,
        learner=learner,
        issued_at=issued_at,
        expires_at=expires_at,
        issuer_known=issuer_known,
    )
    if holder is None or holder.bound or result.kind == "not_genuine":
        return result
    why = "it is a copy of a badge another wallet here holds" if holder.copy else "nothing shows it was issued to them"
    return Verdict(
        result.kind,
        f"{result.sentence} It is not bound to {sharer}, who is sharing it: {why}.",
        result.rows,
        result.checked_at,
    )


def _verdict(
    checks: dict[str, tuple[str, str]],
    reasons: dict[str, str],
    rows: list[PanelRow],
    *,
    checked_at: dt.datetime,
    issuer: str,
    learner: str,
    issued_at: dt.datetime | None,
    expires_at: dt.datetime | None,
    issuer_known: bool,
) -> Verdict:
    outcome = {name: result[0] for name, result in checks.items()}
    facts = f"issued by {issuer} to {learner} on {_date(issued_at)}"
    failed = [name for name, result in outcome.items() if result == "failed"]
    if any(name in failed for name in ("proof", "issuer_key", "shape")):
        reason = (
            "its signature does not match its contents"
            if "proof" in failed
            else f"it was not signed with a key of {issuer}"
            if "issuer_key" in failed
            else "it is not a well-formed Open Badge"
        )
        return Verdict("not_genuine", f"Not genuine: {reason}. Do not rely on this badge.", rows, checked_at)
    if "status" in failed:
        kind = "suspended" if reasons.get("status") == Reason.STATUS_SUSPENDED else "revoked"
        sentence = (
            f"Suspended: {issuer} has suspended this badge, which was {facts}."
            if kind == "suspended"
            else f"Revoked: {issuer} has withdrawn this badge, which was {facts}."
        )
        return Verdict(kind, sentence, rows, checked_at)
    if "validity" in failed:
        if reasons.get("validity") == Reason.VALIDITY_NOT_YET_VALID:
            return Verdict(
                "not_yet_valid", f"Not valid yet: {facts}, but it only becomes valid later.", rows, checked_at
            )
        genuine = "genuine, " if issuer_known else ""
        return Verdict(
            "expired", f"Expired: {genuine}{facts}, but it expired on {_date(expires_at)}.", rows, checked_at
        )
    unknown = [
        name
        for name in ("proof", "issuer_key", "status", "validity", "shape")
        if outcome.get(name, "indeterminate") == "indeterminate"
    ]
    if unknown:
        missing = " or ".join(_UNKNOWN_WORDS[name] for name in unknown)
        return Verdict(
            "unchecked",
            f"Could not fully check: this badge says it was {facts}, but we could not check {missing}.",
            rows,
            checked_at,
        )
    if not issuer_known:
        return Verdict(
            "unknown_issuer",
            f"Unknown issuer: this badge is validly signed, but by {issuer}, and nothing shows who holds that "
            f"key. It says it was issued to {learner} on {_date(issued_at)}.",
            rows,
            checked_at,
        )
    return Verdict("genuine", f"Genuine: {facts}.", rows, checked_at)


# --- who issued it, and to whom -------------------------------------------------------------------------


def issuer_words(trust: IssuerTrust) -> str:
    """The issuer as we can vouch for it: a known name, or "an issuer we don't know, calling itself X"."""
    if trust.known and trust.name:
        return trust.name
    claimed = f"calling itself {trust.claimed_name}" if trust.claimed_name else "giving no name"
    if trust.kind == "unknown":
        return f"an issuer we don't know, {claimed}"
    return f"an issuer {claimed}"


def _short(identifier: str | None) -> str:
    if not identifier:
        return "unnamed"
    return identifier if len(identifier) <= 60 else identifier[:40] + "…" + identifier[-8:]


def _key_owner(trust: IssuerTrust | None) -> str:
    return f"the issuer the badge names ({_short(trust.issuer_id if trust else None)})"


def _issuer_row(trust: IssuerTrust) -> PanelRow:
    detail = f"issuer id {_short(trust.issuer_id)}; signing key of {_short(trust.signer)}"
    if trust.kind == "organisation":
        return PanelRow("Issuer", "good", f"Known: {trust.name} issues badges on this service", detail)
    if trust.kind == "registry":
        return PanelRow("Issuer", "good", f"Known: listed as {trust.name} in {trust.registry}", detail)
    if trust.kind == "unknown":
        return PanelRow("Issuer", "unknown", f"Not known: {issuer_words(trust)}", detail)
    return PanelRow("Issuer", "unknown", "Could not confirm who signed it", detail)


def recipient_words(holder: HolderBinding, *, sharer: str) -> str:
    """Whom the badge was issued to, as the badge names them (the sharer only when it is bound to them)."""
    if holder.proven:
        return sharer
    return holder.subject.describe()


def _holder_row(holder: HolderBinding, *, sharer: str) -> PanelRow:
    named = holder.subject.describe()
    detail = f"the badge names {named}"
    if holder.by == "subject":
        return PanelRow("Issued to", "good", f"{sharer}, who is sharing it: it names their wallet account here", detail)
    if holder.by == "did":
        return PanelRow(
            "Issued to", "good", f"{sharer}, who is sharing it: they proved they hold the key it names", detail
        )
    if holder.by == "email":
        return PanelRow(
            "Issued to",
            "unknown",
            f"{named}: the email address on the account of {sharer}, who is sharing it (not verified by us)",
            detail,
        )
    if holder.by == "name":
        return PanelRow(
            "Issued to",
            "unknown",
            f"{named}: the name on the account of {sharer}, who is sharing it (a name, not a proof)",
            detail,
        )
    if holder.copy:
        return PanelRow(
            "Issued to",
            "bad",
            f"{named}. Not bound to {sharer}, who is sharing it: a copy of a badge another wallet here holds",
            detail,
        )
    return PanelRow("Issued to", "unknown", f"{named}. Not bound to {sharer}, who is sharing it", detail)
