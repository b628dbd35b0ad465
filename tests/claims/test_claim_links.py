"""A claim row names the credential it delivers before that credential is written; the database checks
the names at COMMIT (deferred foreign keys), with real commits on both databases."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.claims.test_races import _arrange, _sign_up
from tests.conftest import FakeClock
from wallet.db import add_inserted
from wallet.models import Account, Claim, ClaimStatus, HeldCredential, IssuedCredential


def _sam_claims(app: Flask, clock: FakeClock) -> tuple[Any, dict[str, str], Any]:
    """Sam claims the badge of an open session through the API: (client, Sam's headers, the response)."""
    session, worker = _arrange(app, clock, cap=5)
    client = app.test_client()
    url = client.get(f"/api/v1/claim-sessions/{session['id']}/qr", headers=worker).json["url"]
    sam = _sign_up(client, "sam")
    claimed = client.post("/api/v1/claims/redeem", headers=sam, json={"code": url})
    assert claimed.status_code == 201, claimed.json
    return client, sam, claimed


def test_a_claim_names_the_credential_it_delivered_and_the_copy_in_the_wallet(
    committed_app: Flask, clock: FakeClock
) -> None:
    _, _, claimed = _sam_claims(committed_app, clock)
    with committed_app.extensions["wallet"].session_factory() as db:
        claim = db.scalars(select(Claim)).one()
        issued = db.get(IssuedCredential, claim.issued_credential_id)
        held = db.get(HeldCredential, claim.held_credential_id)
        assert issued is not None and held is not None
        assert issued.credential_id == claimed.json["credential"]["id"] == held.credential_id
        assert str(held.id) == claimed.json["held_credential_id"]
        assert held.account_id == claim.account_id == issued.recipient_account_id


@pytest.mark.parametrize("link", ["issued_credential_id", "held_credential_id"])
def test_a_claim_naming_a_credential_that_never_came_is_refused_at_commit_and_leaves_nothing(
    committed_app: Flask, clock: FakeClock, link: str
) -> None:
    session, _ = _arrange(committed_app, clock, cap=5)
    client = committed_app.test_client()
    _sign_up(client, "sam")
    factory = committed_app.extensions["wallet"].session_factory
    with factory() as db:
        sam_id = db.scalar(select(Account.id).where(Account.username == "sam"))
        add_inserted(
            db,
            Claim,
            {
                "id": uuid.uuid4(),
                "session_id": uuid.UUID(session["id"]),
                "account_id": sam_id,
                "status": ClaimStatus.ISSUED,
                "created_at": clock.now,
                link: uuid.uuid4(),
            },
        )
        db.flush()  # the statement is accepted: the name is checked only at COMMIT
        with pytest.raises(IntegrityError):
            db.commit()
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(Claim)) == 0


def test_delivering_a_delivered_claim_again_signs_new_rows_and_links_them(
    committed_app: Flask, clock: FakeClock
) -> None:
    """What ``bench/claim.py`` times as "issue alone": the ids the claim was written with are not reused."""
    from wallet.claims.admission import deliver_claim
    from wallet.models import ClaimSession

    _sam_claims(committed_app, clock)
    state = committed_app.extensions["wallet"]
    with state.session_factory() as db:
        claim = db.scalars(select(Claim)).one()
        first = (claim.issued_credential_id, claim.held_credential_id)
        claim_session = db.get(ClaimSession, claim.session_id)
        assert claim_session is not None
        deliver_claim(db, session=claim_session, claim=claim, config=state.claims, now=clock.now)
        db.flush()
        again = (claim.issued_credential_id, claim.held_credential_id)
        assert None not in again and again[0] != first[0] and again[1] != first[1]
        assert db.scalar(select(func.count()).select_from(IssuedCredential)) == 2
        db.rollback()


def test_a_learner_deleting_the_claimed_badge_keeps_the_claim_without_its_copy(
    committed_app: Flask, clock: FakeClock
) -> None:
    """ON DELETE SET NULL still acts at once on a deferred link; the issued record stays linked."""
    client, sam, claimed = _sam_claims(committed_app, clock)
    deleted = client.delete(f"/api/v1/credentials/{claimed.json['held_credential_id']}", headers=sam)
    assert deleted.status_code == 204, deleted.json
    with committed_app.extensions["wallet"].session_factory() as db:
        claim = db.scalars(select(Claim)).one()
        assert claim.held_credential_id is None
        assert db.get(IssuedCredential, claim.issued_credential_id) is not None
