"""Admitting a claimant to a claim session: the one path both our app and a standards wallet take.

A claimant is a learner's account (our app, the claim page, a queued sync op) or a holder known only by
the DID of a key it proved (OpenID4VCI). Whoever it is, admission does the same steps in the same order,
in the caller's transaction, so a failure anywhere leaves nothing behind:

1. lock the learner's wallet (``sync_wallets``) — see "Lock order" below; holders have none; the lock
   is held (one ``SELECT … FOR UPDATE``) for the whole admission, so holding the credential reuses it;
2. insert the claim row (unique per session and claimant; ``ON CONFLICT DO NOTHING``); a claimant who raced
   themselves gets the claim the other request made; the row already names the credential rows step 5
   writes (deferred foreign keys, checked at COMMIT);
3. refuse a session already full when it was read (before anything is signed);
4. spend the single-use card (one conditional UPDATE — ``claim.already_claimed``);
5. issue: an account gets the credential in its wallet (:func:`wallet.issuing.delivery.deliver`),
   unless the session is moderated (the claim waits); a holder gets the signed credential;
6. take the cap slot (one conditional UPDATE — ``claim.session_full``), last, so the session's row (every
   claimant's hot spot) stays locked only from here to the commit.

**Lock order** (docs/claims.md): the learner's wallet, then the claim, then the card, then the session's
cap. A sync holds the wallet from its first op; the API and the claim page take it before anything else,
so a learner claiming through both at once waits instead of deadlocking. Issuing takes no lock of its
own: the status-list index comes from a block reserved in a transaction of its own
(:func:`wallet.issuing.status.allocate_index`), so signing runs before any row every claimant shares is
locked.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from wallet.changelog.history import locked_wallet
from wallet.claims.policy import ClaimConfig
from wallet.db import add_inserted
from wallet.errors import DomainError
from wallet.issuing.credentials import issue_credential
from wallet.issuing.delivery import deliver
from wallet.models import Claim, ClaimCode, ClaimSession, ClaimStatus, HolderClaim


@dataclass(frozen=True)
class Claimant:
    """Who claims: exactly one of a learner's account and a holder's DID."""

    account_id: uuid.UUID | None = None
    holder_did: str | None = None

    def __post_init__(self) -> None:
        if (self.account_id is None) == (self.holder_did is None):
            raise ValueError("a claimant is an account or a holder DID, not both or neither")


@dataclass(frozen=True)
class Admission:
    claim: Claim | HolderClaim
    created: bool
    """False when the claimant already had a claim in the session (a repeat, or a race with itself)."""
    credential_json: str | None = None
    """The credential signed by this admission (None for a repeat, or a claim waiting for moderation)."""


@contextmanager
def claimant_locked(db: Session, claimant: Claimant, *, now: dt.datetime) -> Iterator[None]:
    """Hold the first lock of the lock order, the learner's wallet, for the block (holders have none).

    Nested blocks (admission inside a redemption inside a sync) share the one lock: no second statement.
    """
    if claimant.account_id is None:
        yield
        return
    with locked_wallet(db, account_id=claimant.account_id, now=now):
        yield


# The claim path's statements are built once, with bound parameters: building a statement and its cache
# key cost about as much as running it (docs/performance.md, fourth pass).
_ACCOUNT_CLAIM = select(Claim).where(Claim.session_id == bindparam("session_id"), Claim.account_id == bindparam("who"))
_HOLDER_CLAIM = select(HolderClaim).where(
    HolderClaim.session_id == bindparam("session_id"), HolderClaim.holder_did == bindparam("who")
)


def existing_claim(db: Session, *, session_id: uuid.UUID, claimant: Claimant) -> Claim | HolderClaim | None:
    if claimant.account_id is not None:
        return db.scalar(_ACCOUNT_CLAIM, {"session_id": session_id, "who": claimant.account_id})
    return db.scalar(_HOLDER_CLAIM, {"session_id": session_id, "who": claimant.holder_did})


def admit(
    db: Session,
    *,
    session: ClaimSession,
    card: ClaimCode | None,
    claimant: Claimant,
    scan_time: dt.datetime,
    scanned_at: dt.datetime | None,
    config: ClaimConfig,
    now: dt.datetime,
) -> Admission:
    """Steps 1-6 of the module docstring; every check of the session's rules was made by the caller."""
    with claimant_locked(db, claimant, now=now):
        return _admit(
            db,
            session=session,
            card=card,
            claimant=claimant,
            scan_time=scan_time,
            scanned_at=scanned_at,
            config=config,
            now=now,
        )


def _admit(
    db: Session,
    *,
    session: ClaimSession,
    card: ClaimCode | None,
    claimant: Claimant,
    scan_time: dt.datetime,
    scanned_at: dt.datetime | None,
    config: ClaimConfig,
    now: dt.datetime,
) -> Admission:
    # The claim row names the credential it is about to be given (the links are checked at COMMIT), so
    # no UPDATE fills them in afterwards.
    record_ids = (uuid.uuid4(), uuid.uuid4())  # the issued credential's row and the learner's held copy
    model: type[Claim] | type[HolderClaim]
    values: dict[str, object]
    if claimant.account_id is not None:
        model, unique = Claim, ("session_id", "account_id")
        values = {"account_id": claimant.account_id, "scanned_at": scanned_at}
        if session.moderated:
            values |= {"status": ClaimStatus.PENDING}
        else:
            values |= {
                "status": ClaimStatus.ISSUED,
                "issued_credential_id": record_ids[0],
                "held_credential_id": record_ids[1],
            }
    else:
        model, unique = HolderClaim, ("session_id", "holder_did")
        values = {"holder_did": claimant.holder_did, "issued_credential_id": record_ids[0]}
    values |= {
        "id": uuid.uuid4(),
        "session_id": session.id,
        "code_id": card.id if card is not None else None,
        "created_at": now,
    }
    claim = _insert_claim(db, model, values, unique=unique)
    if claim is None:
        raced = existing_claim(db, session_id=session.id, claimant=claimant)
        if raced is None:
            raise RuntimeError("a claim conflicted with one that is not there")
        return Admission(raced, False)

    refuse_if_full(session)
    if card is not None:
        spend_card(db, code_id=card.id, scan_time=scan_time, now=now)
    credential_json = None
    if isinstance(claim, Claim):
        if claim.status is ClaimStatus.ISSUED:
            credential_json = deliver_claim(
                db, session=session, claim=claim, config=config, now=now, record_ids=record_ids
            )
    else:
        issued = issue_credential(
            db,
            achievement_id=session.achievement_id,
            subject_id=claim.holder_did,
            kek=config.kek,
            base_url=config.base_url,
            now=now,
            record_id=record_ids[0],
        )
        credential_json = issued.credential_json
    with db.no_autoflush:  # the rest is flushed with the wallet's numbered changes (or the commit)
        claimed = take_slot(db, session_id=session.id)
    set_committed_value(session, "claimed", claimed)
    return Admission(claim, True, credential_json)


def deliver_claim(
    db: Session,
    *,
    session: ClaimSession,
    claim: Claim,
    config: ClaimConfig,
    now: dt.datetime,
    record_ids: tuple[uuid.UUID, uuid.UUID] | None = None,
) -> str:
    """Issue a learner's claim into their wallet (an open claim, or a pending one a youth worker approved);
    the signed credential's JSON.

    ``record_ids``: the ids an open claim was just written with, which the new rows take; otherwise (an
    approved claim) the claim is linked to the new rows here.
    """
    delivered = deliver(
        db,
        achievement_id=session.achievement_id,
        account_id=claim.account_id,
        source="claim",
        kek=config.kek,
        base_url=config.base_url,
        now=now,
        record_ids=record_ids,
    )
    if (claim.issued_credential_id, claim.held_credential_id) != (delivered.issued.id, delivered.held.id):
        claim.issued_credential_id = delivered.issued.id
        claim.held_credential_id = delivered.held.id
    return delivered.issued.credential_json


def _insert_claim(
    db: Session, model: type[Claim] | type[HolderClaim], values: dict[str, object], *, unique: tuple[str, ...]
) -> Claim | HolderClaim | None:
    """Insert the claim, or nothing when the claimant already has one in the session (None).

    One ``INSERT … ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite: a claimant racing
    themselves waits for the other insert's transaction and then finds its claim.
    """
    if db.get_bind().dialect.name in ("postgresql", "sqlite"):
        return add_inserted(db, model, values, unique=unique)
    claim = model(**values)
    try:
        with db.begin_nested():
            db.add(claim)
            db.flush()
    except IntegrityError:
        return None
    return claim


def refuse_if_full(session: ClaimSession) -> None:
    """Refuse a session already full when it was read, before anything is signed.

    Only a shortcut: :func:`take_slot`, taken last, stays the guard (a revoke may have freed a place).
    """
    if session.claimed >= session.cap:
        raise DomainError("claim.session_full", "Every badge of this session has been claimed.")


def take_slot(db: Session, *, session_id: uuid.UUID) -> int:
    """Take one of the session's ``cap`` places (invariant 1: one conditional UPDATE); the new count.

    A plain table UPDATE, not the ORM's: the caller sets the loaded session's ``claimed`` from the answer,
    so nothing in the session needs synchronising.
    """
    took_slot = db.execute(_TAKE_SLOT, {"session_id": session_id}).first()
    if took_slot is None:
        raise DomainError("claim.session_full", "Every badge of this session has been claimed.")
    return int(took_slot[0])


_sessions = ClaimSession.__table__
_TAKE_SLOT = (
    update(_sessions)
    .where(_sessions.c.id == bindparam("session_id"), _sessions.c.claimed < _sessions.c.cap)
    .values(claimed=_sessions.c.claimed + 1)
    .returning(_sessions.c.claimed)
)


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
