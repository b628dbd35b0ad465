"""Redeeming a claim code: the learner presents a code (+ PIN) and holds a signed credential in one transaction.

The order of checks is the contract (docs/claims.md, "Redeeming"):

0. the code is judged under the one guessing limit (:mod:`wallet.claims.guessing`) — ``request.rate_limited``;
1. the code is resolved (MAC checked) — ``claim.unknown_code``;
2. a learner who already has a claim in the session gets it back (never a second credential);
3. ``scanned_at`` (offline claims) is judged: in the future it is not believed, older than
   :data:`~wallet.claims.policy.OFFLINE_QUEUE_LIMIT` it is refused — ``claim.expired_code``;
4. the youth worker's explicit state applies at arrival — ``claim.closed``, ``claim.paused``;
5. the time window and a rotating code's freshness apply at the scan time — ``claim.not_started``,
   ``claim.ended``, ``claim.expired_code``; a spent or expired card — ``claim.already_claimed``,
   ``claim.expired_code``;
5a. a session already full when it was read — ``claim.session_full``, before any lock is taken or any row
   written (the late scanners of a full room cost two reads; the cap's UPDATE in admission stays the guard);
6. the learner's wallet is locked (the first lock of the lock order), then lockout and the PIN —
   ``claim.locked_out``, ``claim.pin_required``, ``claim.wrong_pin``;
7. admission (:func:`wallet.claims.admission.admit`): the claim row, the card, issuance, the cap.

Only a wrong PIN changes state that must outlive the refusal: it is raised as :class:`RecordedRefusal`,
and :func:`wallet.transactions.unit_of_work` (views) and the sync action runner commit it before the
refusal is reported — no caller handles it by hand.

The steps are public (:func:`check_session_open`, :func:`check_rotation`, :func:`check_pin`) because
OpenID4VCI (:mod:`wallet.oid4vci`) applies the very same limits to a standards wallet: one cap, one
window, one set of PIN counters per session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, case, delete, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wallet_protocol.claim_codes import MAX_SCAN_CLOCK_SKEW_S, scan_is_fresh

from wallet.claims import policy
from wallet.claims.admission import Claimant, admit, claimant_locked, existing_claim, refuse_if_full
from wallet.claims.codes import ResolvedCode
from wallet.claims.guessing import CodeGuard, judge_code
from wallet.claims.policy import ClaimConfig
from wallet.db import UTCDateTime
from wallet.errors import DomainError
from wallet.models import Claim, ClaimCode, ClaimSession, ClaimStatus, IssuedCredential, PinFailure, SessionState

_SESSION_BRAKE = "*"


class RecordedRefusal(DomainError):
    """A refusal whose bookkeeping (a counted wrong PIN, a lockout) must be committed with the refusal.

    Callers never handle it themselves: views run services inside :func:`wallet.transactions.unit_of_work`
    and the sync action runner keeps the savepoint of a refusal that says so (``keep_changes``).
    """

    keep_changes = True


@dataclass(frozen=True)
class PinGuesser:
    """Whose wrong PINs are counted, and whether the session-wide brake stops them.

    ``scopes`` are (scope, limit) pairs, each scope at most 36 characters: a lock-out binds to the
    guesser — a learner's account, or a standards wallet's pre-authorized code and client address —
    never to the room. The session-wide counter (every wrong PIN, whoever typed it) only brakes
    clients we know nothing about: a signed-in learner with the right PIN is never refused by it.
    """

    scopes: tuple[tuple[str, int], ...]
    account_id: uuid.UUID | None
    braked_by_session: bool

    @classmethod
    def learner(cls, account_id: uuid.UUID) -> PinGuesser:
        return cls(((str(account_id), policy.PIN_FAILURES_PER_LEARNER),), account_id, False)

    @classmethod
    def wallet(cls, *, pre_authorized_code_id: int, client: str) -> PinGuesser:
        digest = hashlib.sha256(client.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return cls(
            (
                (f"oid4vci:{pre_authorized_code_id}", policy.PIN_FAILURES_PER_LEARNER),
                (f"ip:{digest}", policy.PIN_FAILURES_PER_CLIENT),
            ),
            None,
            True,
        )


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
    guard: CodeGuard,
) -> Redemption:
    """Claim the badge behind ``code`` for ``account_id``; see the module docstring for the rules."""
    resolved = judge_code(db, code=code, config=config, guard=guard)
    session = resolved.session
    claimant = Claimant(account_id=account_id)
    existing = existing_claim(db, session_id=session.id, claimant=claimant)
    if isinstance(existing, Claim):
        return _repeat(db, existing, session)
    scan_time = _scan_time(scanned_at, now=now)
    check_session_open(session, resolved.code, scan_time=scan_time)
    check_rotation(session, resolved, scan_time=scan_time, scanned_offline=scanned_at is not None, now=now)
    refuse_if_full(session)
    with claimant_locked(db, claimant, now=now):
        check_pin(db, session, guesser=PinGuesser.learner(account_id), pin=pin, config=config, now=now)
        admission = admit(
            db,
            session=session,
            card=resolved.code,
            claimant=claimant,
            scan_time=scan_time,
            scanned_at=scanned_at,
            config=config,
            now=now,
        )
    assert isinstance(admission.claim, Claim)
    if not admission.created:
        return _repeat(db, admission.claim, session)
    return Redemption(admission.claim, session, True, admission.credential_json)


def _credential_json(db: Session, claim: Claim) -> str | None:
    return db.scalar(select(IssuedCredential.credential_json).where(IssuedCredential.id == claim.issued_credential_id))


def _repeat(db: Session, claim: Claim, session: ClaimSession) -> Redemption:
    if claim.status in (ClaimStatus.REJECTED, ClaimStatus.REVOKED, ClaimStatus.EXPIRED):
        raise DomainError("claim.rejected", "Your claim in this session was not accepted.")
    credential_json = _credential_json(db, claim) if claim.issued_credential_id is not None else None
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


_failures = PinFailure.__table__  # a plain read of two columns: no ORM loading needed
_PIN_COUNTERS = select(_failures.c.scope, _failures.c.locked_until).where(
    _failures.c.session_id == bindparam("session_id"), _failures.c.scope.in_(bindparam("scopes", expanding=True))
)
"""Every claim of a PIN session runs this: built once (building a statement costs about as much as running it)."""


def check_pin(
    db: Session,
    session: ClaimSession,
    *,
    guesser: PinGuesser,
    pin: str | None,
    config: ClaimConfig,
    now: dt.datetime,
) -> None:
    """Lockout, then the PIN; a wrong one is counted in each of the guesser's scopes and the session's.

    The session-wide counter locks only guessers it brakes (:class:`PinGuesser`): anyone holding the
    public claim token can make wrong guesses, so it must never deny the room.
    """
    if session.pin_hash is None:
        return
    own = [scope for scope, _ in guesser.scopes]
    watched = [*own, _SESSION_BRAKE] if guesser.braked_by_session else own
    counters = db.execute(_PIN_COUNTERS, {"session_id": session.id, "scopes": watched}).all()
    locked_until = max((until for _, until in counters if until is not None and until > now), default=None)
    if locked_until is not None:
        raise _locked_out(locked_until, now=now)
    if not pin:
        raise DomainError("claim.pin_required", "Enter the PIN the youth worker tells the room.")
    if policy.pin_matches(config, session_id=session.id, pin=pin, pin_hash=session.pin_hash):
        if any(scope in own for scope, _ in counters):  # the right PIN forgets the guesser's wrong ones
            db.execute(delete(PinFailure).where(PinFailure.session_id == session.id, PinFailure.scope.in_(own)))
        return
    left = []
    locked = False
    for scope, limit in guesser.scopes:
        failures = _count_failure(
            db, session_id=session.id, scope=scope, account_id=guesser.account_id, limit=limit, now=now
        )
        left.append(limit - failures)
        locked = locked or failures >= limit
    everyone = _count_failure(
        db,
        session_id=session.id,
        scope=_SESSION_BRAKE,
        account_id=None,
        limit=policy.PIN_FAILURES_PER_SESSION,
        now=now,
    )
    if locked or (guesser.braked_by_session and everyone >= policy.PIN_FAILURES_PER_SESSION):
        raise RecordedRefusal(
            "claim.locked_out",
            _locked_detail(now + policy.PIN_LOCKOUT, now=now),
            retry_after=int(policy.PIN_LOCKOUT.total_seconds()),
        )
    raise RecordedRefusal("claim.wrong_pin", "That PIN is not right.", attempts_left=max(0, min(left)))


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
