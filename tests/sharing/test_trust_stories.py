"""The two ways a share page could vouch for what it must not: a copied badge and a forged issuer.

Each story runs through the API (import, share) and ends on the share page's HTML, as an employer reads it.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.credential_factories import ISSUER, ob3_badge, sign_as
from tests.sharing.conftest import path_of, share
from wallet.credentials import multikey


def sentence(response: Any) -> str:
    match = re.search(r'id="verdict-sentence">(.*?)</p>', response.get_data(as_text=True), re.S)
    assert match, response.get_data(as_text=True)[:500]
    return match.group(1).replace("&#39;", "'")


def rows(response: Any) -> dict[str, str]:
    html = response.get_data(as_text=True).replace("&#39;", "'")
    return dict(re.findall(r"<strong>([^<]+):</strong> ([^<]+)</span>", html))


def issued_line(response: Any) -> str:
    match = re.search(r'id="issued-line">(.*?)</p>', response.get_data(as_text=True), re.S)
    assert match
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split()).replace("&#39;", "'")


def post_import(client: Any, who: Any, body: bytes, content_type: str = "application/ld+json") -> Any:
    return client.post("/api/v1/credentials/import", data=body, headers={**who.headers, "Content-Type": content_type})


def share_held(client: Any, who: Any, held_id: str) -> Any:
    made = client.post("/api/v1/shares", headers=who.headers, json={"credential_id": held_id})
    assert made.status_code == 201, made.json
    return client.get(path_of(made.json))


def _badge(*, issuer: str, issuer_name: str, subject: dict[str, Any], credential_id: str) -> dict[str, Any]:
    credential = ob3_badge(
        credential_id=credential_id,
        issuer_name=issuer_name,
        valid_from="2026-10-01T09:00:00Z",
        name="Laser Cutting",
        achievement_id="https://makerspace-north.example/achievements/laser",
        achievement_name="Laser Cutting",
        description="Cut and engraved three projects safely.",
        narrative="Pass the safety induction.",
    )
    credential["issuer"]["id"] = issuer
    credential["credentialSubject"] = {**credential["credentialSubject"], **subject}
    return credential


# --- the copied badge ------------------------------------------------------------------------------


def test_a_downloaded_and_reimported_badge_is_a_copy_and_its_page_never_calls_it_the_copiers(
    client: Any, award_badge: Any, sign_up: Any
) -> None:
    awarded = award_badge()  # Sam Rivera's badge from Makerspace North
    original = client.get(path_of(share(client, awarded)))
    assert sentence(original) == "Genuine: issued by Makerspace North to Sam Rivera on 23 November 2026."

    bo = sign_up(display_name="Bo Chen")
    downloaded = client.get(path_of(share(client, awarded)) + ".json").get_data()
    imported = post_import(client, bo, downloaded)
    assert imported.status_code == 201, imported.json  # allowed, but only as a copy
    binding = imported.json["binding"]
    assert (binding["bound"], binding["by"], binding["copy"]) == (False, "none", True)
    assert binding["detail"].startswith("A copy: another wallet on this service already holds this credential")
    assert imported.json["issuer_trust"]["kind"] == "organisation"

    page = share_held(client, bo, imported.json["id"])
    html = page.get_data(as_text=True)
    subject = json.loads(downloaded)["credentialSubject"]["id"]
    assert sentence(page) == (
        f"Genuine: issued by Makerspace North to someone identified only by {subject} on 23 November 2026. "
        "It is not bound to Bo Chen, who is sharing it: it is a copy of a badge another wallet here holds."
    )
    assert issued_line(page) == f"Issued by Makerspace North to someone identified only by {subject}"
    assert rows(page)["Issued to"] == (
        f"someone identified only by {subject}. Not bound to Bo Chen, who is sharing it: a copy of a badge "
        "another wallet here holds"
    )
    assert not re.search(r"issued (by [^.<]*)?to (<strong>)?Bo Chen", html, re.I)
    assert "Sam Rivera" not in html  # nor does it name the original holder's account
    listed = client.get("/api/v1/credentials", headers=bo.headers).json
    assert listed[0]["binding"]["copy"] is True


def test_the_same_badge_in_another_encoding_is_a_copy_too(client: Any, award_badge: Any, sign_up: Any) -> None:
    awarded = award_badge()
    downloaded = json.loads(client.get(path_of(share(client, awarded)) + ".json").get_data())
    bo = sign_up(display_name="Bo Chen")
    imported = post_import(client, bo, json.dumps(downloaded, indent=4, sort_keys=True).encode())
    assert imported.status_code == 201, imported.json
    assert imported.json["binding"]["copy"] is True


def test_a_badge_naming_the_learners_email_hashed_is_matched_without_showing_the_address(
    client: Any, sign_up: Any
) -> None:
    email = "ana.lima@example.org"
    salt = "pepper-7"
    identity = {
        "type": "IdentityObject",
        "identityType": "emailAddress",
        "hashed": True,
        "salt": salt,
        "identityHash": "sha256$" + hashlib.sha256((email + salt).encode()).hexdigest(),
    }
    unsigned = _badge(
        issuer=ISSUER,
        issuer_name="Riverside College",
        subject={"identifier": [identity]},
        credential_id="urn:uuid:4d7a1f54-7a88-4a55-9f0e-8a3f7f1d1e01",
    )
    del unsigned["credentialSubject"]["id"]  # named by the hashed email alone
    credential = sign_as(unsigned, created="2026-10-01T09:00:00Z")
    ana = sign_up(display_name="Ana Lima")
    assert client.patch("/api/v1/me", headers=ana.headers, json={"email": email}).status_code == 200
    imported = post_import(client, ana, json.dumps(credential).encode())
    assert imported.status_code == 201, imported.json
    assert imported.json["binding"]["by"] == "email"
    assert imported.json["binding"]["subject"]["identity_types"] == ["emailAddress"]
    page = share_held(client, ana, imported.json["id"])
    html = page.get_data(as_text=True)
    assert email not in html and "ana.lima" not in html
    assert issued_line(page) == "Issued by Riverside College to someone identified by an email address (hashed)"
    assert rows(page)["Issued to"].startswith(
        "someone identified by an email address (hashed): the email address on the account of Ana Lima"
    )


# --- the forged issuer ------------------------------------------------------------------------------


def test_a_badge_signed_with_a_fresh_key_calling_itself_a_real_organisation_is_shown_as_unknown(
    client: Any, organisation: Any, sign_up: Any
) -> None:
    organisation("makerspace-north", "Makerspace North")  # a real organisation on this server
    forger_key = ed25519.Ed25519PrivateKey.generate()
    forger_did = multikey.did_key_for(forger_key)
    fay = sign_up(display_name="Fay Forger")
    forged = sign_as(
        _badge(
            issuer=forger_did,
            issuer_name="Makerspace North",
            subject={"id": "did:example:fay"},
            credential_id="urn:uuid:0f0f0f0f-1111-4222-8333-444455556666",
        ),
        created="2026-10-01T09:00:00Z",
        key=forger_key,
    )
    imported = post_import(client, fay, json.dumps(forged).encode())
    assert imported.status_code == 201, imported.json
    assert imported.json["outcome"] == "valid"  # the signature is good: it is the signer who is unknown
    trust = imported.json["issuer_trust"]
    assert (trust["kind"], trust["known"], trust["name"]) == ("unknown", False, None)
    assert (trust["claimed_name"], trust["signer"]) == ("Makerspace North", forger_did)
    pasted = client.post(
        "/api/v1/verify", data=json.dumps(forged), headers={**fay.headers, "Content-Type": "application/ld+json"}
    ).json
    assert (pasted["outcome"], pasted["issuer_trust"]["kind"]) == ("valid", "unknown")

    page = share_held(client, fay, imported.json["id"])
    html = page.get_data(as_text=True).replace("&#39;", "'")
    assert "Genuine" not in sentence(page)
    assert sentence(page).startswith(
        "Unknown issuer: this badge is validly signed, but by an issuer we don't know, calling itself "
        "Makerspace North, and nothing shows who holds that key."
    )
    assert rows(page)["Issuer"] == "Not known: an issuer we don't know, calling itself Makerspace North"
    assert issued_line(page).startswith("Issued by an issuer we don't know, calling itself Makerspace North to ")
    assert "Genuine: issued by Makerspace North" not in html
    assert "/issuers/makerspace-north/about" not in html  # no link lends it the real organisation's page
    assert '<meta property="og:title" content="Laser Cutting · an issuer we don' in html


def test_a_registry_listed_issuer_is_known_by_the_registrys_name_not_its_own(client: Any, sign_up: Any) -> None:
    lee = sign_up(display_name="Lee")
    credential = sign_as(
        _badge(
            issuer=ISSUER,
            issuer_name="Harvard University",
            subject={"id": "did:example:lee"},
            credential_id="urn:uuid:7e1d3c2b-aaaa-4bbb-8ccc-123456789abc",
        ),
        created="2026-10-01T09:00:00Z",
    )
    imported = post_import(client, lee, json.dumps(credential).encode())
    trust = imported.json["issuer_trust"]
    assert (trust["kind"], trust["name"], trust["claimed_name"]) == (
        "registry",
        "Riverside College",
        "Harvard University",
    )
    assert trust["registry"] == "City of Learning issuer registry"
    page = share_held(client, lee, imported.json["id"])
    assert rows(page)["Issuer"] == "Known: listed as Riverside College in City of Learning issuer registry"
    assert sentence(page).startswith("Genuine: issued by Riverside College to someone identified only by ")
    assert "Harvard" not in issued_line(page)
    assert 'href="https://riverside.example"' in page.get_data(as_text=True)


# --- proving the DID a badge names ------------------------------------------------------------------


def _proof(key: ed25519.Ed25519PrivateKey, challenge: dict[str, Any], *, iat: int) -> str:
    return pyjwt.encode(
        {"nonce": challenge["nonce"], "aud": challenge["audience"], "iat": iat},
        key,
        algorithm="EdDSA",
        headers={"kid": multikey.verification_method_id(key)},
    )


def test_a_learner_binds_a_badge_by_signing_a_challenge_with_the_did_it_names(
    client: Any, sign_up: Any, clock: Any
) -> None:
    holder_key = ed25519.Ed25519PrivateKey.generate()
    holder_did = multikey.did_key_for(holder_key)
    dana = sign_up(display_name="Dana Park")
    credential = sign_as(
        _badge(
            issuer=ISSUER,
            issuer_name="Riverside College",
            subject={"id": holder_did},
            credential_id="urn:uuid:5b5b5b5b-1234-4567-89ab-cdefcdefcdef",
        ),
        created="2026-10-01T09:00:00Z",
    )
    imported = post_import(client, dana, json.dumps(credential).encode()).json
    assert (imported["binding"]["by"], imported["binding"]["can_prove"]) == ("none", holder_did)
    url = f"/api/v1/credentials/{imported['id']}/binding"
    state = client.get(url, headers=dana.headers).json
    challenge = state["challenge"]
    assert challenge["did"] == holder_did and challenge["algorithms"] == ["EdDSA", "ES256"]
    now = int(clock.now.timestamp())

    stranger = ed25519.Ed25519PrivateKey.generate()
    wrong_key = client.post(url, headers=dana.headers, json={"proof": _proof(stranger, challenge, iat=now)})
    assert (wrong_key.status_code, wrong_key.json["code"]) == (422, "credential.binding_failed")
    forged_sig = pyjwt.encode(
        {"nonce": challenge["nonce"], "aud": challenge["audience"], "iat": now},
        stranger,
        algorithm="EdDSA",
        headers={"kid": multikey.verification_method_id(holder_key)},
    )
    assert client.post(url, headers=dana.headers, json={"proof": forged_sig}).status_code == 422
    assert client.get(f"/api/v1/credentials/{imported['id']}", headers=dana.headers).json["binding"]["bound"] is False

    bound = client.post(url, headers=dana.headers, json={"proof": _proof(holder_key, challenge, iat=now)})
    assert bound.status_code == 200, bound.json
    assert (bound.json["binding"]["by"], bound.json["binding"]["proven"]) == ("did", True)
    page = share_held(client, dana, imported["id"])
    assert sentence(page) == "Genuine: issued by Riverside College to Dana Park on 1 October 2026."
    assert rows(page)["Issued to"] == "Dana Park, who is sharing it: they proved they hold the key it names"


def test_a_binding_challenge_expires_and_belongs_to_one_credential(client: Any, sign_up: Any, clock: Any) -> None:
    holder_key = ed25519.Ed25519PrivateKey.generate()
    holder_did = multikey.did_key_for(holder_key)
    dana = sign_up(display_name="Dana Park")
    ids = []
    for number in (1, 2):
        credential = sign_as(
            _badge(
                issuer=ISSUER,
                issuer_name="Riverside College",
                subject={"id": holder_did},
                credential_id=f"urn:uuid:5b5b5b5b-1234-4567-89ab-00000000000{number}",
            ),
            created="2026-10-01T09:00:00Z",
        )
        ids.append(post_import(client, dana, json.dumps(credential).encode()).json["id"])
    first = client.get(f"/api/v1/credentials/{ids[0]}/binding", headers=dana.headers).json["challenge"]
    proof = _proof(holder_key, first, iat=int(clock.now.timestamp()))
    other = client.post(f"/api/v1/credentials/{ids[1]}/binding", headers=dana.headers, json={"proof": proof})
    assert (other.status_code, other.json["code"]) == (422, "credential.binding_failed")
    clock.advance(minutes=11)
    late = _proof(holder_key, first, iat=int(clock.now.timestamp()))
    expired = client.post(f"/api/v1/credentials/{ids[0]}/binding", headers=dana.headers, json={"proof": late})
    assert (expired.status_code, expired.json["code"]) == (422, "credential.binding_failed")
    assert "expired" in expired.json["detail"]


def test_a_badge_naming_no_did_offers_no_challenge(client: Any, award_badge: Any) -> None:
    awarded = award_badge()
    state = client.get(f"/api/v1/credentials/{awarded.held_id}/binding", headers=awarded.learner.headers).json
    assert state["challenge"] is None
    assert (state["binding"]["by"], state["binding"]["proven"]) == ("subject", True)
    refused = client.post(
        f"/api/v1/credentials/{awarded.held_id}/binding", headers=awarded.learner.headers, json={"proof": "a.b.c"}
    )
    assert (refused.status_code, refused.json["code"]) == (422, "credential.binding_failed")


def test_a_badge_signed_before_a_key_rotation_still_names_its_organisation(
    app: Any, client: Any, db: Any, award_badge: Any, clock: Any
) -> None:
    from wallet.issuing.keys import rotate_key

    awarded = award_badge()
    link = share(client, awarded)
    rotate_key(
        db,
        slug="makerspace-north",
        actor=None,
        kek=app.extensions["wallet"].secrets.key_encryption_key,
        now=clock.advance(minutes=1),
    )
    db.commit()
    page = client.get(path_of(link))
    assert rows(page)["Issuer"] == "Known: Makerspace North issues badges on this service"
    assert sentence(page) == "Genuine: issued by Makerspace North to Sam Rivera on 23 November 2026."
