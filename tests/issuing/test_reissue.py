"""Re-issuing a badge signed under an old issuer id: the learner holds a standards-valid copy instead."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wallet.issuing.reissue import reissue
from wallet.models import HeldCredential, IssuedCredential

DID = "did:web:wallet.test:issuers:makerspace-north"


def test_reissue_swaps_an_old_identity_badge_in_the_wallet_and_keeps_the_old_one_unrevoked(
    app: Any, client: Any, db: Session, sign_up: Any, award: Any, clock: Any
) -> None:
    learner = sign_up("sam")
    sign_up("kim")
    awarded = award("sam")
    award("kim")
    old_id = "https://wallet.test/issuers/makerspace-north"
    # Pretend Sam's badge was issued under the earlier scheme (issuer.id the profile URL).
    issued = db.scalar(select(IssuedCredential).where(IssuedCredential.credential_id == awarded["credential_id"]))
    assert issued is not None
    document = json.loads(issued.credential_json)
    document["issuer"]["id"] = old_id
    old_text = json.dumps(document)
    held = db.scalar(select(HeldCredential).where(HeldCredential.credential_id == awarded["credential_id"]))
    assert held is not None
    db.execute(update(IssuedCredential).where(IssuedCredential.id == issued.id).values(credential_json=old_text))
    from wallet.holding.summary import content_hash

    db.execute(
        update(HeldCredential)
        .where(HeldCredential.id == held.id)
        .values(raw=old_text.encode(), content_hash=content_hash(old_text.encode()))
    )
    db.commit()

    renewed = reissue(
        db,
        slug="makerspace-north",
        username=None,
        kek=app.extensions["wallet"].secrets.key_encryption_key,
        base_url="https://wallet.test",
        now=clock.now,
    )
    db.commit()

    assert len(renewed) == 1  # Kim's badge already names the DID
    listed = client.get("/api/v1/credentials", headers=learner.headers).json
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [item["issuer_id"] for item in items] == [DID]
    assert db.get(IssuedCredential, issued.id).revoked_at is None
