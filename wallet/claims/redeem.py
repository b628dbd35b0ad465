"""Redeeming a claim code: the learner presents a code (+ PIN) and holds a signed credential in one transaction.

The order of checks is the contract (docs/claims.md, "Redeeming"):

1. the code is resolved (MAC checked) — ``claim.unknown_code``;
2. a learner who already has a claim in the session gets it back (never a second credential);
3. ``scanned_at`` (offline claims) is judged: in the future it is not believed, older than
   :data:`~wallet.claims.policy.OFFLINE_QUEUE_LIMIT` it is refused — ``claim.expired_code``;
4. the youth worker's explicit state applies at arrival — ``claim.closed``, ``claim.paused``;
5. the time window and a rotating code's freshness apply at the scan time — ``claim.not_started``,
   ``claim.ended``, ``claim.expired_code``; a spent or expired card — ``claim.already_claimed``,
   ``claim.expired_code``;
6. lockout, then the PIN — ``claim.locked_out``, ``claim.pin_required``, ``claim.wrong_pin``;
7. the claim row (unique per learner and session), the cap (one conditional UPDATE — ``claim.session_full``)
   and the single-use code (one conditional UPDATE), then issuance — all in the caller's transaction, so a
   failure anywhere leaves nothing behind.

Only a wrong PIN changes state that must outlive the refusal: it is raised as :class:`RecordedRefusal`,
and callers commit before reporting it (the API and the sync action handler both do).

The steps are public (:func:`check_session_open`, :func:`check_rotation`, :func:`check_pin`,
:func:`take_slot`, :func:`spend_card`) because OpenID4VCI issuance (:mod:`wallet.oid4vci`) applies the
very same limits to a standards wallet: one cap, one window, one set of PIN counters per session.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, delete, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wallet_protocol.claim_codes import MAX_SCAN_CLOCK_SKEW_S, scan_is_fresh

from wallet.claims import policy
from wallet.claims.codes import ResolvedCode, resolve_code
from wallet.claims.policy import ClaimConfig
from wallet.db import UTCDateTime
from wallet.errors import DomainError
from wallet.holding.services import add_credential
from wallet.issuing.credentials import CREDENTIAL_MEDIA_TYPE, issue_credential
from wallet.models import Claim, ClaimCode, ClaimSession, ClaimStatus, IssuedCredential, PinFailure, SessionState

_EVERYONE = "*"


class RecordedRefusal(DomainError):
    """A refusal whose bookkeeping (a counted wrong PIN, a lockout) the caller must commit, then report."""

    keep_changes = True
    """Read by the sync action runner, which keeps the savepoint of a refusal that says so."""


@dataclass(frozen=True)
class Redemption:
    claim: Claim
    session: ClaimSession
    created: bool
    """False when the learner already had this claim: a repeat scan or a retried request."""
    credential_json: str | None
    """The signed credential, for issued claims."""


def redeem_code(
    db: Session,
    *,
    account_id: uuid.UUID,
    code: str,
    pin: str | None,
    scanned_at: dt.datetime | None,
    now: dt.datetime,
    config: ClaimConfig,
) -> Redemption:
    """Claim the badge behind ``code`` for ``account_id``; see the module docstring for the rules."""
    resolved = resolve_code(db, code=code, config=config)
    session = resolved.session
    existing = _existing_claim(db, session_id=session.id, account_id=account_id)
    if existing is not None:
        return _repeat(db, existing, session)
    scan_time = _scan_time(scanned_at, now=now)
    check_session_open(session, resolved.code, scan_time=scan_time)
    check_rotation(session, resolved, scan_time=scan_time, scanned_offline=scanned_at is not None, now=now)
    check_pin(db, session, scope=str(account_id), account_id=account_id, pin=pin, config=config, now=now)

    claim = Claim(
        id=uuid.uuid4(),
        session_id=session.id,
        account_id=account_id,
        code_id=resolved.code.id if resolved.code else None,
        status=ClaimStatus.PENDING if session.moderated else ClaimStatus.ISSUED,
        scanned_at=scanned_at,
        created_at=now,
    )
    try:
        with db.begin_nested():
            db.add(claim)
            db.flush()
    except IntegrityError:
        raced = _existing_claim(db, session_id=session.id, account_id=account_id)
        if raced is None:
            raise
        return _repeat(db, raced, session)

    refuse_if_full(session)
    if resolved.code is not None:
        spend_card(db, code_id=resolved.code.id, scan_time=scan_time, now=now)
    credential_json = None
    if claim.status is ClaimStatus.ISSUED:
        credential_json = issue_for_claim(db, session=session, claim=claim, config=config, now=now)
    # Last, so the session's row (every claimant's hot spot) stays locked only from here to the commit,
    # not through the signing above; if the cap was reached meanwhile, the whole claim rolls back.
    take_slot(db, session_id=session.id)
    db.refresh(session)
    return Redemption(claim, session, True, credential_json)


def refuse_if_full(session: ClaimSession) -> None:
    """Refuse a session already full when it was read, before anything is signed.

    Only a shortcut: :func:`take_slot`, taken last, stays the guard (a revoke may have freed a place).
    """
    if session.claimed >= session.cap:
        raise DomainError("claim.session_full", "Every badge of this session has been claimed.")


def take_slot(db: Session, *, session_id: uuid.UUID) -> int:
    """Take one of the session's ``cap`` places (invariant 1: one conditional UPDATE); the new count."""
    took_slot = db.execute(
        update(ClaimSession)
        .where(ClaimSession.id == session_id, ClaimSession.claimed < ClaimSession.cap)
        .values(claimed=ClaimSession.claimed + 1)
        .returning(ClaimSession.claimed)
    ).first()
    if took_slot is None:
        raise DomainError("claim.session_full", "Every badge of this session has been claimed.")
    return int(took_slot[0])


def spend_card(db: Session, *, code_id: int, scan_time: dt.datetime, now: dt.datetime) -> None:
    """Spend a single-use card (one conditional UPDATE): a second spender gets ``claim.already_claimed``."""
    spent = db.execute(
        update(ClaimCode)
        .where(
            ClaimCode.id == code_id,
            ClaimCode.redeemed_at.is_(None),
            or_(ClaimCode.expired_at.is_(None), ClaimCode.expired_at > scan_time),
        )
        .values(redeemed_at=now)
        .returning(ClaimCode.id)
    ).first()
    if spent is None:
        raise DomainError("claim.already_claimed", "This card was already used.")


def issue_for_claim(db: Session, *, session: ClaimSession, claim: Claim, config: ClaimConfig, now: dt.datetime) -> str:
    """Sign the credential and put it in the learner's wallet (same transaction as the claim)."""
    issued = issue_credential(
        db,
        achievement_id=session.achievement_id,
        recipient_account_id=claim.account_id,
        kek=config.kek,
        base_url=config.base_url,
        now=now,
    )
    held = add_credential(
        db,
        account_id=claim.account_id,
        raw=issued.credential_json.encode(),
        media_type=CREDENTIAL_MEDIA_TYPE,
        source="claim",
        now=now,
    )
    claim.issued_credential_id = issued.id
    claim.held_credential_id = held.id
    db.flush()
    return issued.credential_json


def _existing_claim(db: Session, *, session_id: uuid.UUID, account_id: uuid.UUID) -> Claim | None:
    return db.scalar(select(Claim).where(Claim.session_id == session_id, Claim.account_id == account_id))


def _repeat(db: Session, claim: Claim, session: ClaimSession) -> Redemption:
    if claim.status in (ClaimStatus.REJECTED, ClaimStatus.REVOKED, ClaimStatus.EXPIRED):
        raise DomainError("claim.rejected", "Your claim in this session was not accepted.")
    credential_json = None
    if claim.issued_credential_id is not None:
        credential_json = db.scalar(
            select(IssuedCredential.credential_json).where(IssuedCredential.id == claim.issued_credential_id)
        )
    return Redemption(claim, session, False, credential_json)


def _scan_time(scanned_at: dt.datetime | None, *, now: dt.datetime) -> dt.datetime:
    """The moment the time window is judged at: the scan, for offline claims (docs/claims.md rule 2)."""
    if scanned_at is None:
        return now
    if scanned_at.tzinfo is None:
        raise DomainError(
            "request.validation_failed",
            "scanned_at needs a time zone.",
            errors={"scanned_at": ["give a time zone, e.g. 2026-11-23T10:00:00Z"]},
        )
    if scanned_at < now - policy.OFFLINE_QUEUE_LIMIT:
        hours = int(policy.OFFLINE_QUEUE_LIMIT.total_seconds() // 3600)
        raise DomainError(
            "claim.expired_code",
            f"This code was scanned more than {hours} hours ago; offline claims must reach us sooner.",
        )
    return min(scanned_at, now)


def check_session_open(session: ClaimSession, card: ClaimCode | None, *, scan_time: dt.datetime) -> None:
    """The youth worker's state (pause, close), the time window at ``scan_time``, and the card if any."""
    if session.state is SessionState.CLOSED and (session.closed_at is None or session.closed_at < session.ends_at):
        raise DomainError("claim.closed", "The youth worker closed this session.")
    if session.state is SessionState.PAUSED:
        raise DomainError("claim.paused", "The session is paused; try again in a moment.")
    if scan_time < session.starts_at:
        raise DomainError(
            "claim.not_started",
            f"This session opens at {session.starts_at.isoformat()}.",
            starts_at=session.starts_at.isoformat(),
        )
    if scan_time >= session.ends_at:
        raise DomainError("claim.ended", "This session has ended.")
    if card is not None:
        if card.redeemed_at is not None:
            raise DomainError("claim.already_claimed", "This card was already used.")
        if card.expired_at is not None and card.expired_at <= scan_time:
            raise DomainError("claim.expired_code", "This card has expired.")


def check_rotation(
    session: ClaimSession, resolved: ResolvedCode, *, scan_time: dt.datetime, scanned_offline: bool, now: dt.datetime
) -> None:
    """A rotating session's shared QR must be fresh (a static token, or a step too old, is expired)."""
    if resolved.code is None and session.rotation_period_s:
        if resolved.static_token:
            raise DomainError("claim.expired_code", "Scan the code on the screen again.")
        if resolved.step is not None and not scan_is_fresh(
            resolved.step,
            scanned_at=scan_time.timestamp() if scanned_offline else None,
            received_at=now.timestamp(),
            period_s=session.rotation_period_s,
            grace_steps=policy.ROTATION_GRACE_STEPS,
            max_queue_s=policy.OFFLINE_QUEUE_LIMIT.total_seconds() + MAX_SCAN_CLOCK_SKEW_S,
        ):
            raise DomainError("claim.expired_code", "That code has changed on the screen; scan it again.")


def check_pin(
    db: Session,
    session: ClaimSession,
    *,
    scope: str,
    account_id: uuid.UUID | None,
    pin: str | None,
    config: ClaimConfig,
    now: dt.datetime,
) -> None:
    """Lockout, then the PIN. ``scope`` names who is counted (at most 36 characters): the learner's account
    id for our app, the pre-authorized code for a standards wallet; the whole session is counted too."""
    if session.pin_hash is None:
        return
    locked_until = db.scalar(
        select(PinFailure.locked_until)
        .where(
            PinFailure.session_id == session.id,
            PinFailure.scope.in_([scope, _EVERYONE]),
            PinFailure.locked_until > now,
        )
        .order_by(PinFailure.locked_until.desc())
        .limit(1)
    )
    if locked_until is not None:
        raise _locked_out(locked_until, now=now)
    if not pin:
        raise DomainError("claim.pin_required", "Enter the PIN the youth worker tells the room.")
    if policy.pin_matches(config, session_id=session.id, pin=pin, pin_hash=session.pin_hash):
        db.execute(delete(PinFailure).where(PinFailure.session_id == session.id, PinFailure.scope == scope))
        return
    mine = _count_failure(
        db,
        session_id=session.id,
        scope=scope,
        account_id=account_id,
        limit=policy.PIN_FAILURES_PER_LEARNER,
        now=now,
    )
    everyone = _count_failure(
        db, session_id=session.id, scope=_EVERYONE, account_id=None, limit=policy.PIN_FAILURES_PER_SESSION, now=now
    )
    for failures, limit in ((mine, policy.PIN_FAILURES_PER_LEARNER), (everyone, policy.PIN_FAILURES_PER_SESSION)):
        if failures >= limit:
            raise RecordedRefusal(
                "claim.locked_out",
                _locked_detail(now + policy.PIN_LOCKOUT, now=now),
                retry_after=int(policy.PIN_LOCKOUT.total_seconds()),
            )
    raise RecordedRefusal(
        "claim.wrong_pin", "That PIN is not right.", attempts_left=policy.PIN_FAILURES_PER_LEARNER - mine
    )


def _locked_detail(until: dt.datetime, *, now: dt.datetime) -> str:
    minutes = max(1, round((until - now).total_seconds() / 60))
    return f"Too many wrong PINs. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def _locked_out(until: dt.datetime, *, now: dt.datetime) -> DomainError:
    return DomainError(
        "claim.locked_out",
        _locked_detail(until, now=now),
        retry_after=max(1, int((until - now).total_seconds() + 0.999)),
    )


def _count_failure(
    db: Session, *, session_id: uuid.UUID, scope: str, account_id: uuid.UUID | None, limit: int, now: dt.datetime
) -> int:
    """Count one wrong PIN in ``scope``; at ``limit`` the scope locks. Atomic: one UPDATE (or the first INSERT)."""
    window_ends = now + policy.PIN_FAILURE_WINDOW
    for _ in range(3):
        row = db.execute(
            update(PinFailure)
            .where(PinFailure.session_id == session_id, PinFailure.scope == scope)
            .values(
                failures=_case_expired(now, PinFailure.failures + 1, literal(1)),
                window_ends_at=_case_expired(now, PinFailure.window_ends_at, literal(window_ends, UTCDateTime())),
            )
            .returning(PinFailure.id, PinFailure.failures)
        ).first()
        if row is None:
            try:
                with db.begin_nested():
                    db.execute(
                        insert(PinFailure).values(
                            session_id=session_id,
                            scope=scope,
                            account_id=account_id,
                            failures=1,
                            window_ends_at=window_ends,
                        )
                    )
                row_failures = 1
            except IntegrityError:
                continue
            row_id = db.scalar(
                select(PinFailure.id).where(PinFailure.session_id == session_id, PinFailure.scope == scope)
            )
        else:
            row_id, row_failures = row
        if row_failures >= limit:
            db.execute(
                update(PinFailure)
                .where(PinFailure.id == row_id)
                .values(locked_until=now + policy.PIN_LOCKOUT, failures=0, window_ends_at=now)
            )
        return row_failures
    raise RuntimeError("could not record a wrong PIN")


def _case_expired(now: dt.datetime, within: ColumnElement[Any], after: ColumnElement[Any]) -> ColumnElement[Any]:
    """``within`` while the failure window is still running, ``after`` once it has passed (a fresh window)."""
    return case((PinFailure.window_ends_at > literal(now, UTCDateTime()), within), else_=after)
