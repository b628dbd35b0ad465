"""Housekeeping the scheduler runs (``wallet/jobs.py``). Each function is idempotent: running it twice,
or late, does no harm; it takes the session first and ``now``, and only flushes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from wallet.claims import policy
from wallet.models import Claim, ClaimCode, ClaimSession, ClaimStatus, PinFailure, SessionState


def close_ended_sessions(db: Session, *, now: dt.datetime) -> int:
    """Close sessions whose end time has passed (``closed_at`` ≥ ``ends_at`` marks them as ended, not
    closed early, so offline claims scanned in time are still judged by their scan time)."""
    result = db.execute(
        update(ClaimSession)
        .where(ClaimSession.state != SessionState.CLOSED, ClaimSession.ends_at <= now)
        .values(state=SessionState.CLOSED, closed_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def expire_codes(db: Session, *, now: dt.datetime) -> int:
    """Mark unspent cards of closed sessions expired (at the session's end, or when it was closed)."""
    closed = select(ClaimSession.id).where(ClaimSession.state == SessionState.CLOSED)
    rows = db.execute(
        select(ClaimCode.id, ClaimSession.closed_at, ClaimSession.ends_at)
        .join(ClaimSession, ClaimSession.id == ClaimCode.session_id)
        .where(ClaimCode.session_id.in_(closed), ClaimCode.redeemed_at.is_(None), ClaimCode.expired_at.is_(None))
    ).all()
    for code_id, closed_at, ends_at in rows:
        db.execute(
            update(ClaimCode)
            .where(ClaimCode.id == code_id, ClaimCode.expired_at.is_(None))
            .values(expired_at=min(closed_at or now, ends_at))
        )
    return len(rows)


def clear_stale_pending(db: Session, *, now: dt.datetime) -> int:
    """Pending claims nobody decided on, long after their session ended, expire (the learner sees why)."""
    ended = select(ClaimSession.id).where(ClaimSession.ends_at <= now - policy.STALE_PENDING_AFTER)
    result = db.execute(
        update(Claim)
        .where(Claim.status == ClaimStatus.PENDING, Claim.session_id.in_(ended))
        .values(status=ClaimStatus.EXPIRED, decided_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def clear_lockouts(db: Session, *, now: dt.datetime) -> int:
    """Forget wrong-PIN counters whose window and lockout are both over."""
    result = db.execute(
        delete(PinFailure).where(
            PinFailure.window_ends_at <= now,
            or_(
                PinFailure.locked_until.is_(None),
                and_(PinFailure.locked_until.is_not(None), PinFailure.locked_until <= now),
            ),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
