"""A learner shares a whole collection: one link, every badge in it checked on one page."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from tests.sharing.conftest import path_of, revoke_badge
from tests.sync.conftest import device  # noqa: F401 - the sync tests' protocol client fixture
from wallet.models import HeldCredential


def _collection(device: Any, learner: Any, name: str, creds: list[str]) -> str:  # noqa: F811
    phone = device(learner)
    coll = str(uuid.uuid4())
    ops = [phone.op("collection.create", coll=coll, name=name)]
    ops += [phone.op("member.add", coll=coll, cred=cred, dot=None) for cred in creds]
    assert phone.sync(ops)["rejected"] == []
    return coll


def _hash(db: Any, held_id: uuid.UUID) -> str:
    return db.scalar(select(HeldCredential.content_hash).where(HeldCredential.id == held_id))


def test_a_collection_page_checks_every_badge_in_it(
    client: Any,
    award_badge: Any,
    device: Any,  # noqa: F811
    db: Any,
    app: Any,
    clock: Any,
) -> None:
    welding = award_badge(name="Welding 101")
    robotics = award_badge(welding.learner, name="Robotics Club")
    coll = _collection(
        device,
        welding.learner,
        "For my apprenticeship application",
        [_hash(db, welding.held_id), _hash(db, robotics.held_id)],
    )

    made = client.post(
        "/api/v1/shares", headers=welding.learner.headers, json={"collection_id": coll, "label": "apprenticeship"}
    )
    assert made.status_code == 201, made.json
    assert made.json["target_kind"] == "collection"
    revoke_badge(app, db, robotics, clock.now)

    page = client.get(path_of(made.json))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "For my apprenticeship application" in html
    assert html.count("Genuine: issued by") == 1  # Welding 101 is genuine …
    assert "Robotics Club" in html and "revoked" in html.lower()  # … and the revoked one says so
    as_json = client.get(path_of(made.json), headers={"Accept": "application/ld+json"})
    assert sorted(c["credentialSubject"]["achievement"]["name"] for c in as_json.json["credentials"]) == [
        "Robotics Club",
        "Welding 101",
    ]
    assert client.get("/api/v1/shares", headers=welding.learner.headers).json[0]["view_count"] == 1


def test_only_your_own_collections_can_be_shared(
    client: Any,
    award_badge: Any,
    device: Any,  # noqa: F811
    db: Any,
    sign_up: Any,
) -> None:
    awarded = award_badge()
    coll = _collection(device, awarded.learner, "Mine", [_hash(db, awarded.held_id)])
    stranger = sign_up()

    theirs = client.post("/api/v1/shares", headers=stranger.headers, json={"collection_id": coll})
    both = client.post(
        "/api/v1/shares",
        headers=awarded.learner.headers,
        json={"collection_id": coll, "credential_id": str(awarded.held_id)},
    )
    neither = client.post("/api/v1/shares", headers=awarded.learner.headers, json={})

    assert theirs.status_code == 404
    assert theirs.json["code"] == "collection.not_found"
    assert both.status_code == neither.status_code == 422


def test_deleting_the_collection_ends_its_links(client: Any, award_badge: Any, device: Any, db: Any) -> None:  # noqa: F811
    awarded = award_badge()
    phone = device(awarded.learner)
    coll = str(uuid.uuid4())
    phone.sync([phone.op("collection.create", coll=coll, name="Temp")])
    link = client.post("/api/v1/shares", headers=awarded.learner.headers, json={"collection_id": coll}).json

    phone.sync([phone.op("collection.delete", coll=coll)])

    gone = client.get(path_of(link))
    assert gone.status_code == 410


def test_a_collection_page_names_issuers_as_we_know_them_and_recipients_as_badges_do(
    client: Any,
    award_badge: Any,
    device: Any,  # noqa: F811
    db: Any,
) -> None:
    import json

    from cryptography.hazmat.primitives.asymmetric import ed25519

    from tests.credential_factories import ob3_badge, sign_as
    from wallet.credentials import multikey

    welding = award_badge(name="Welding 101")
    forger_key = ed25519.Ed25519PrivateKey.generate()
    forged = ob3_badge(
        credential_id="urn:uuid:0f0f0f0f-1111-4222-8333-999999999999",
        issuer_name="Makerspace North",
        valid_from="2026-10-01T09:00:00Z",
        name="Forge Master",
        achievement_id="https://forge.example/a",
        achievement_name="Forge Master",
        description="Claims a lot.",
        narrative="None.",
    )
    forged["issuer"]["id"] = multikey.did_key_for(forger_key)
    imported = client.post(
        "/api/v1/credentials/import",
        headers={**welding.learner.headers, "Content-Type": "application/ld+json"},
        data=json.dumps(sign_as(forged, created="2026-10-01T09:00:00Z", key=forger_key)),
    )
    assert imported.status_code == 201, imported.json
    coll = _collection(
        device, welding.learner, "Everything", [_hash(db, welding.held_id), imported.json["content_hash"]]
    )
    made = client.post("/api/v1/shares", headers=welding.learner.headers, json={"collection_id": coll})
    html = client.get(path_of(made.json)).get_data(as_text=True).replace("&#39;", "'")
    assert html.count("Genuine: issued by Makerspace North to Sam Rivera") == 1  # the real one only
    assert "Issued by an issuer we don't know, calling itself Makerspace North" in " ".join(html.split())
    assert "to <strong>someone identified only by did:example:learner-7</strong>" in html
    assert "Not known: an issuer we don't know, calling itself Makerspace North" in html
