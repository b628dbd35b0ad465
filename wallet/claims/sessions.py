"""Claim sessions, for the youth workers and admins of the achievement's organisation.

Every function here takes the acting account and checks its role in the session's organisation:
outsiders get ``claim.session_not_found`` (they learn nothing about which sessions exist).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from wallet_protocol.claim_codes import new_fallback_code, new_public_id

from wallet.claims import policy
from wallet.claims.policy import ClaimConfig
from wallet.errors import DomainError
from wallet.models import (
    Account,
    Achievement,
    Claim,
    ClaimCode,
    ClaimSession,
    ClaimStatus,
    Organisation,
    SessionMode,
    SessionState,
)
from wallet.organisations.services import ANY_MEMBER, require_role, role_of

_PIN = re.compile(r"^[0-9]{4,8}$")
RandBytes = Callable[[int], bytes]
CONSOLE_ROTATION_S = 30
"""How often the console's "rotating" choice changes the shared QR."""


def new_pin(randbytes: RandBytes = secrets.token_bytes) -> str:
    """A four-digit PIN to say aloud in the room (the console's default: PIN on)."""
    return f"{int.from_bytes(randbytes(4), 'big') % 10_000:04d}"


def _invalid(field: str, message: str) -> DomainError:
    return DomainError("request.validation_failed", message, errors={field: [message]})


def require_session(db: Session, *, session_id: uuid.UUID, actor: uuid.UUID) -> ClaimSession:
    """The session, if ``actor`` is an admin or youth worker of its organisation."""
    session = db.get(ClaimSession, session_id)
    if session is None or role_of(db, organisation_id=session.organisation_id, account_id=actor) not in ANY_MEMBER:
        raise DomainError("claim.session_not_found")
    return session


def _draw_ids(randbytes: RandBytes) -> tuple[str, str]:
    return new_public_id(randbytes), new_fallback_code(randbytes)


def require_shared(session: ClaimSession) -> ClaimSession:
    """The session, if it has a shared QR (single-use sessions have printed cards instead)."""
    if session.mode is not SessionMode.SHARED:
        raise DomainError("request.conflict", "Single-use sessions have printed cards, not a shared QR.")
    return session


def open_session(
    db: Session,
    *,
    organisation_slug: str,
    achievement_id: uuid.UUID,
    actor: uuid.UUID,
    title: str,
    venue: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    cap: int | None,
    mode: SessionMode,
    codes: int | None = None,
    pin: str | None = None,
    rotation_period_s: int | None = None,
    moderated: bool = False,
    config: ClaimConfig,
    now: dt.datetime,
    randbytes: RandBytes = secrets.token_bytes,
) -> ClaimSession:
    """Open a session for one of the organisation's achievements.

    ``single_use`` sessions get ``codes`` printed cards (the cap defaults to their number); ``rotating``
    is for shared sessions only. The PIN is kept hashed (checked) and sealed (shown on the display page).
    Every rule across fields lives here, so the API, the console and the CLI refuse the same sessions.
    """
    if cap is None:
        cap = codes
    if cap is None:
        raise _invalid("cap", "Give a cap (or codes for a single-use session).")
    organisation = require_role(db, slug=organisation_slug, actor=actor, roles=ANY_MEMBER)
    achievement = db.get(Achievement, achievement_id)
    if achievement is None or achievement.organisation_id != organisation.id or achievement.archived_at:
        raise DomainError("achievement.not_found")
    if ends_at <= starts_at:
        raise _invalid("ends_at", "The session must end after it starts.")
    if ends_at <= now:
        raise _invalid("ends_at", "The session would already be over.")
    if not 1 <= cap <= policy.MAX_CAP:
        raise _invalid("cap", f"The cap is from 1 to {policy.MAX_CAP}.")
    if pin is not None and not _PIN.match(pin):
        raise _invalid("pin", "A PIN has 4 to 8 digits.")
    if mode is SessionMode.SINGLE_USE:
        if not codes or not 1 <= codes <= policy.MAX_SINGLE_USE_CODES:
            raise _invalid("codes", f"A single-use session prints 1 to {policy.MAX_SINGLE_USE_CODES} codes.")
        if rotation_period_s:
            raise _invalid("rotation_period_s", "Only a shared QR rotates.")
    elif codes:
        raise _invalid("codes", "Only single-use sessions have codes.")
    if rotation_period_s is not None and not 10 <= rotation_period_s <= 3600:
        raise _invalid("rotation_period_s", "A rotating QR changes every 10 to 3600 seconds.")

    session = ClaimSession(
        id=uuid.uuid4(),
        organisation_id=organisation.id,
        achievement_id=achievement.id,
        created_by=actor,
        title=title.strip(),
        venue=venue.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        cap=cap,
        claimed=0,
        mode=mode,
        rotation_period_s=rotation_period_s,
        moderated=moderated,
        state=SessionState.OPEN,
        created_at=now,
    )
    if pin is not None:
        session.pin_hash = policy.hash_pin(config, session_id=session.id, pin=pin)
        session.pin_sealed = policy.seal_pin(config, session_id=session.id, pin=pin)
    for attempt in range(5):
        session.public_id, fallback = _draw_ids(randbytes)
        session.fallback_code = fallback if mode is SessionMode.SHARED else None
        try:
            with db.begin_nested():
                db.add(session)
                db.flush()
            break
        except IntegrityError:
            if attempt == 4:
                raise
    if mode is SessionMode.SINGLE_USE:
        _add_codes(db, session=session, count=codes or 0, randbytes=randbytes)
    return session


def _add_codes(db: Session, *, session: ClaimSession, count: int, randbytes: RandBytes) -> None:
    """Draw the cards' ids; a collision with an existing code (about 2⁻⁴⁰ each) redraws the batch."""
    for attempt in range(5):
        codes = [
            ClaimCode(session_id=session.id, position=i + 1, public_id=public_id, fallback_code=fallback)
            for i, (public_id, fallback) in enumerate(_draw_ids(randbytes) for _ in range(count))
        ]
        try:
            with db.begin_nested():
                db.add_all(codes)
                db.flush()
            return
        except IntegrityError:
            if attempt == 4:
                raise


def list_sessions(db: Session, *, organisation_slug: str, actor: uuid.UUID) -> list[ClaimSession]:
    organisation = require_role(db, slug=organisation_slug, actor=actor, roles=ANY_MEMBER)
    return list(
        db.scalars(
            select(ClaimSession)
            .where(ClaimSession.organisation_id == organisation.id)
            .order_by(ClaimSession.starts_at.desc(), ClaimSession.created_at.desc())
        )
    )


def update_session(
    db: Session,
    *,
    session_id: uuid.UUID,
    actor: uuid.UUID,
    now: dt.datetime,
    state: SessionState | None = None,
    ends_at: dt.datetime | None = None,
    cap: int | None = None,
    title: str | None = None,
    venue: str | None = None,
) -> ClaimSession:
    """Pause, resume, close early, reopen (a later ``ends_at`` may come with it), or change details.

    A closed session reopens only while its end time lies ahead; its unspent cards work again.
    """
    session = require_session(db, session_id=session_id, actor=actor)
    if title is not None:
        session.title = title.strip()
    if venue is not None:
        session.venue = venue.strip()
    if ends_at is not None:
        if ends_at <= session.starts_at:
            raise _invalid("ends_at", "The session must end after it starts.")
        session.ends_at = ends_at
    if cap is not None:
        if not session.claimed <= cap <= policy.MAX_CAP:
            raise _invalid("cap", f"The cap cannot go below the {session.claimed} claims already made.")
        session.cap = cap
    if state is not None and state is not session.state:
        if state is SessionState.CLOSED:
            session.closed_at = now
            _expire_codes(db, session_id=session.id, now=now)
        else:
            if session.state is SessionState.CLOSED:
                if session.ends_at <= now:
                    raise DomainError(
                        "request.conflict", "The session has ended; give it a later end time (ends_at) to reopen it."
                    )
                session.closed_at = None
                db.execute(
                    update(ClaimCode)
                    .where(ClaimCode.session_id == session.id, ClaimCode.redeemed_at.is_(None))
                    .values(expired_at=None)
                )
        session.state = state
    db.flush()
    return session


def _expire_codes(db: Session, *, session_id: uuid.UUID, now: dt.datetime) -> int:
    result = db.execute(
        update(ClaimCode)
        .where(ClaimCode.session_id == session_id, ClaimCode.redeemed_at.is_(None), ClaimCode.expired_at.is_(None))
        .values(expired_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SessionCounts:
    claimed: int
    cap: int
    issued: int
    pending: int
    state: SessionState


def counts_of(db: Session, session: ClaimSession) -> SessionCounts:
    """Numbers only: the live count never names anyone."""
    rows = dict(
        db.execute(
            select(Claim.status, func.count()).where(Claim.session_id == session.id).group_by(Claim.status)
        ).all()
    )
    return SessionCounts(
        session.claimed, session.cap, rows.get(ClaimStatus.ISSUED, 0), rows.get(ClaimStatus.PENDING, 0), session.state
    )


def session_counts(db: Session, *, session_id: uuid.UUID, actor: uuid.UUID) -> SessionCounts:
    return counts_of(db, require_session(db, session_id=session_id, actor=actor))


def session_pin(session: ClaimSession, *, config: ClaimConfig) -> str | None:
    if not session.pin_sealed:
        return None
    return policy.unseal_pin(config, session_id=session.id, sealed=session.pin_sealed)


def single_use_codes(db: Session, *, session_id: uuid.UUID, actor: uuid.UUID) -> tuple[ClaimSession, list[ClaimCode]]:
    session = require_session(db, session_id=session_id, actor=actor)
    if session.mode is not SessionMode.SINGLE_USE:
        raise DomainError("request.conflict", "Only single-use sessions have printed codes.")
    codes = list(db.scalars(select(ClaimCode).where(ClaimCode.session_id == session.id).order_by(ClaimCode.position)))
    return session, codes


@dataclass(frozen=True)
class ClaimRow:
    claim: Claim
    display_name: str


def list_claims(
    db: Session, *, session_id: uuid.UUID, actor: uuid.UUID, status: ClaimStatus | None = None
) -> list[ClaimRow]:
    """The session's claims with each learner's display name (never username or email)."""
    session = require_session(db, session_id=session_id, actor=actor)
    query = (
        select(Claim, Account.display_name)
        .join(Account, Account.id == Claim.account_id)
        .where(Claim.session_id == session.id)
        .order_by(Claim.created_at, Claim.id)
    )
    if status is not None:
        query = query.where(Claim.status == status)
    return [ClaimRow(claim, name) for claim, name in db.execute(query).all()]


def claims_csv(db: Session, *, session_id: uuid.UUID, actor: uuid.UUID) -> str:
    """Display name, claimed at, status: enough to reconcile with a register, nothing more."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["display_name", "claimed_at", "status"])
    for row in list_claims(db, session_id=session_id, actor=actor):
        writer.writerow([_csv_safe(row.display_name), row.claim.created_at.isoformat(), row.claim.status.value])
    return out.getvalue()


def _csv_safe(text: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a display name is the learner's free text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def organisation_of(db: Session, session: ClaimSession) -> Organisation:
    organisation = db.get(Organisation, session.organisation_id)
    assert organisation is not None  # a foreign key guarantees it
    return organisation


def achievement_of(db: Session, session: ClaimSession) -> Achievement:
    achievement = db.get(Achievement, session.achievement_id)
    assert achievement is not None  # a foreign key guarantees it
    return achievement
