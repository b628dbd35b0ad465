"""Deciding on claims: approve or reject in moderated sessions, revoke a badge handed out by mistake.

Each decision is one conditional UPDATE on the claim's status, so two youth workers pressing buttons
at once cannot both act (approving twice would sign two credentials). Rejecting or revoking frees the
claim's slot under the cap.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wallet.claims.admission import deliver_claim
from wallet.claims.policy import ClaimConfig
from wallet.claims.sessions import require_session
from wallet.errors import DomainError
from wallet.issuing.credentials import revoke
from wallet.models import Achievement, Claim, ClaimSession, ClaimStatus, Organisation


class Decision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REVOKE = "revoke"


_FROM_TO = {
    Decision.APPROVE: (ClaimStatus.PENDING, ClaimStatus.ISSUED),
    Decision.REJECT: (ClaimStatus.PENDING, ClaimStatus.REJECTED),
    Decision.REVOKE: (ClaimStatus.ISSUED, ClaimStatus.REVOKED),
}


def decide_claim(
    db: Session,
    *,
    session_id: uuid.UUID,
    claim_id: uuid.UUID,
    actor: uuid.UUID,
    decision: Decision,
    config: ClaimConfig,
    now: dt.datetime,
    reason: str | None = None,
) -> Claim:
    """Apply ``decision``; repeating a decision already taken is a no-op, a contradicting one a conflict."""
    session = require_session(db, session_id=session_id, actor=actor)
    claim = db.get(Claim, claim_id)
    if claim is None or claim.session_id != session.id:
        raise DomainError("request.not_found", "No such claim in this session.")
    source, target = _FROM_TO[decision]
    moved = db.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == source)
        .values(status=target, decided_at=now, decided_by=actor)
        .returning(Claim.id)
    ).first()
    db.refresh(claim)
    if moved is None:
        if claim.status is target:
            return claim
        raise DomainError("request.conflict", f"This claim is {claim.status.value}; it cannot be {target.value}.")
    if decision is Decision.APPROVE:
        deliver_claim(db, session=session, claim=claim, config=config, now=now)
    else:
        db.execute(
            update(ClaimSession)
            .where(ClaimSession.id == session.id, ClaimSession.claimed > 0)
            .values(claimed=ClaimSession.claimed - 1)
        )
        if decision is Decision.REVOKE and claim.issued_credential_id is not None:
            _revoke_credential(db, session=session, claim=claim, reason=reason, config=config, now=now)
    db.flush()
    db.refresh(session)
    return claim


def _revoke_credential(
    db: Session, *, session: ClaimSession, claim: Claim, reason: str | None, config: ClaimConfig, now: dt.datetime
) -> None:
    """Flip the credential's status bit, so verifiers see the revocation at once.

    Issuing lets only admins revoke; here the youth worker's right was checked by :func:`require_session`,
    so the call is made as the operator (``actor=None``) for the session's organisation.
    """
    organisation = db.get(Organisation, session.organisation_id)
    assert organisation is not None  # a foreign key guarantees it
    assert claim.issued_credential_id is not None  # checked by the caller
    revoke(
        db,
        slug=organisation.slug,
        actor=None,
        issued_id=claim.issued_credential_id,
        reason=reason or "claimed by mistake",
        kek=config.kek,
        base_url=config.base_url,
        now=now,
    )


@dataclass(frozen=True)
class MyClaim:
    claim: Claim
    session_title: str
    venue: str
    achievement_name: str
    issuer_name: str


def my_claims(db: Session, *, account_id: uuid.UUID) -> list[MyClaim]:
    """The learner's own claims, newest first: how a pending claim learns it was approved."""
    rows = db.execute(
        select(Claim, ClaimSession.title, ClaimSession.venue, Achievement.name, Organisation.name)
        .join(ClaimSession, ClaimSession.id == Claim.session_id)
        .join(Achievement, Achievement.id == ClaimSession.achievement_id)
        .join(Organisation, Organisation.id == ClaimSession.organisation_id)
        .where(Claim.account_id == account_id)
        .order_by(Claim.created_at.desc())
    ).all()
    return [MyClaim(*row) for row in rows]
