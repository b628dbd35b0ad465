"""What the console shows: an organisation's home, a live session, its members and awards."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from wallet.claims import sessions
from wallet.claims.codes import session_qr
from wallet.claims.policy import ClaimConfig
from wallet.claims.sessions import ClaimRow, SessionCounts
from wallet.issuing.achievements import list_achievements
from wallet.models import Achievement, ClaimSession, ClaimStatus, Organisation, Role, SessionMode, SessionState
from wallet.organisations.services import ANY_MEMBER, memberships_of, require_role, role_of

PAST_SESSIONS_SHOWN = 50


@dataclass(frozen=True)
class OrganisationHome:
    organisation: Organisation
    role: Role
    achievements: list[Achievement]
    running: list[ClaimSession]
    upcoming: list[ClaimSession]
    past: list[ClaimSession]
    badge_names: dict[uuid.UUID, str]


def _ended(session: ClaimSession, now: dt.datetime) -> bool:
    return session.state is SessionState.CLOSED or session.ends_at <= now


def organisation_home(db: Session, *, slug: str, actor: uuid.UUID, now: dt.datetime) -> OrganisationHome:
    """The organisation's badges and its sessions: running now, upcoming, past (members)."""
    organisation = require_role(db, slug=slug, actor=actor, roles=ANY_MEMBER)
    role = role_of(db, organisation_id=organisation.id, account_id=actor)
    assert role is not None  # require_role checked it
    badges = list_achievements(db, slug=slug, actor=actor)
    every = sessions.list_sessions(db, organisation_slug=slug, actor=actor)
    running = [s for s in every if not _ended(s, now) and s.starts_at <= now]
    upcoming = sorted((s for s in every if not _ended(s, now) and s.starts_at > now), key=lambda s: s.starts_at)
    past = [s for s in every if _ended(s, now)][:PAST_SESSIONS_SHOWN]
    names = {a.id: a.name for a in list_achievements(db, slug=slug, actor=actor, include_archived=True)}
    return OrganisationHome(organisation, role, badges, running, upcoming, past, names)


def my_organisations(db: Session, *, actor: uuid.UUID) -> list[tuple[Organisation, Role]]:
    return memberships_of(db, account_id=actor)


@dataclass(frozen=True)
class LiveSession:
    session: ClaimSession
    organisation: Organisation
    achievement: Achievement
    role: Role
    counts: SessionCounts
    claims: list[ClaimRow]
    pin: str | None
    fallback: str | None
    cards_left: int | None
    """Unspent printed cards (single-use sessions)."""
    card_codes: list[str]
    """The typed codes of unspent cards, for a one-person code an admin hands over."""
    ended: bool


def live_session(
    db: Session, *, session_id: uuid.UUID, actor: uuid.UUID, config: ClaimConfig, now: dt.datetime
) -> LiveSession:
    """A session as its youth worker watches it: numbers, claims by display name, what to hand out."""
    session = sessions.require_session(db, session_id=session_id, actor=actor)
    organisation = sessions.organisation_of(db, session)
    role = role_of(db, organisation_id=organisation.id, account_id=actor)
    assert role is not None  # require_session checked it
    cards_left = None
    card_codes: list[str] = []
    fallback = None
    if session.mode is SessionMode.SINGLE_USE:
        from wallet_protocol.claim_codes import format_fallback

        _, codes = sessions.single_use_codes(db, session_id=session.id, actor=actor)
        unspent = [c for c in codes if c.redeemed_at is None and c.expired_at is None]
        cards_left = len(unspent)
        card_codes = [format_fallback(c.fallback_code) for c in unspent]
    else:
        fallback = session_qr(session, config=config, now=now).fallback
    return LiveSession(
        session=session,
        organisation=organisation,
        achievement=sessions.achievement_of(db, session),
        role=role,
        counts=sessions.counts_of(db, session),
        claims=sessions.list_claims(db, session_id=session.id, actor=actor),
        pin=sessions.session_pin(session, config=config),
        fallback=fallback,
        cards_left=cards_left,
        card_codes=card_codes,
        ended=_ended(session, now),
    )


def live_status(live: LiveSession) -> dict[str, object]:
    """What the live page's script polls: numbers and claims by display name, nothing else."""
    return {
        "state": live.session.state.value,
        "ended": live.ended,
        "claimed": live.counts.claimed,
        "cap": live.counts.cap,
        "pending": live.counts.pending,
        "issued": live.counts.issued,
        "claims": [
            {"id": str(row.claim.id), "name": row.display_name, "status": row.claim.status.value} for row in live.claims
        ],
    }


PENDING = ClaimStatus.PENDING
