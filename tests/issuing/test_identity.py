"""Issuer identity on a deployment with a public https origin (the tests' https://wallet.test): every
credential names the organisation's did:web as its issuer, the DID document lists every key it ever had,
and the app verifies its own credentials from its own database, without calling itself over HTTP."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import jwt as pyjwt
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.credentials import dataintegrity
from wallet.credentials.dids import did_web_document_url, did_web_for_url, public_https_origin
from wallet.credentials.verify import verify_credential
from wallet.issuing.keys import active_key, private_key_of, rotate_key
from wallet.issuing.status import isoformat
from wallet.models import IssuedCredential, Organisation
from wallet.oid4vci.issuance import _as_vc_jwt

DID = "did:web:wallet.test:issuers:makerspace-north"


def test_did_web_follows_the_method_specs_examples() -> None:
    assert did_web_for_url("https://w3c-ccg.github.io/user/alice") == "did:web:w3c-ccg.github.io:user:alice"
    assert did_web_for_url("https://example.com:3000/user/alice") == "did:web:example.com%3A3000:user:alice"
    assert did_web_document_url("did:web:w3c-ccg.github.io") == "https://w3c-ccg.github.io/.well-known/did.json"
    assert (
        did_web_document_url("did:web:example.com%3A3000:user:alice") == "https://example.com:3000/user/alice/did.json"
    )
    assert did_web_document_url(f"{DID}#z6Mkabc") == "https://wallet.test/issuers/makerspace-north/did.json"


@given(
    host=st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){1,3}", fullmatch=True),
    port=st.none() | st.integers(min_value=1, max_value=65535),
    segments=st.lists(st.from_regex(r"[a-z0-9][a-z0-9._~-]{0,15}", fullmatch=True), max_size=4).filter(
        lambda items: all(item not in (".", "..") for item in items)
    ),
)
def test_a_did_web_resolves_back_to_where_it_was_made(host: str, port: int | None, segments: list[str]) -> None:
    origin = f"https://{host}" + (f":{port}" if port else "")
    url = "/".join([origin, *segments])
    did = did_web_for_url(url)

    expected = f"{url}/did.json" if segments else f"{origin}/.well-known/did.json"
    assert did_web_document_url(did) == expected
    assert did.count(":") == 2 + len(segments)


def test_only_a_public_https_origin_gets_did_web() -> None:
    assert public_https_origin("https://wallet.example")
    assert public_https_origin("https://badges.example.org:8443/wallet")
    for local in (
        "http://wallet.example",
        "http://127.0.0.1:5000",
        "https://127.0.0.1",
        "https://localhost:8443",
        "https://[::1]",
        "https://app.localhost",
    ):
        assert not public_https_origin(local), local


def test_the_did_document_lists_every_key_the_organisation_ever_had(
    app: Any, client: Any, db: Session, sign_up: Any, award: Any, clock: Any
) -> None:
    sign_up("sam")
    old = award("sam")["credential"]
    clock.advance(minutes=5)
    rotate_key(
        db, slug="makerspace-north", actor=None, kek=app.extensions["wallet"].secrets.key_encryption_key, now=clock.now
    )
    db.commit()

    response = client.get("/issuers/makerspace-north/did.json", headers={"Accept": "application/did+json"})

    assert response.status_code == 200 and response.mimetype == "application/did+json"
    document = response.json
    assert document["id"] == DID
    assert document["alsoKnownAs"] == ["https://wallet.test/issuers/makerspace-north"]
    methods = [method["id"] for method in document["verificationMethod"]]
    assert len(methods) == 2 and old["proof"]["verificationMethod"] == methods[1]
    assert document["assertionMethod"] == methods
    for method in document["verificationMethod"]:
        assert method["controller"] == DID and method["type"] == "Multikey"
        assert method["id"] == f"{DID}#{method['publicKeyMultibase']}"
    assert client.get("/issuers/nobody-here/did.json").status_code == 404


def test_the_issuer_keeps_its_profile_data_with_the_profile_page_as_url(sign_up: Any, award: Any, client: Any) -> None:
    sign_up("sam")
    issuer = award("sam")["credential"]["issuer"]

    assert issuer["id"] == DID
    assert issuer["name"] == "Makerspace North" and issuer["type"] == ["Profile"]
    assert issuer["url"] == "https://wallet.test/issuers/makerspace-north"
    about = client.get("/issuers/makerspace-north/about").get_data(as_text=True)
    assert DID in about and "/issuers/makerspace-north/did.json" in about


def _verify_here(client: Any, learner: Any, credential: dict[str, Any] | str) -> dict[str, Any]:
    body = credential if isinstance(credential, str) else json.dumps(credential)
    media = "application/jwt" if isinstance(credential, str) else "application/json"
    response = client.post("/api/v1/verify", data=body, headers={**learner.headers, "Content-Type": media})
    assert response.status_code == 200, response.json
    return response.json


def _checks(report: dict[str, Any]) -> dict[str, str]:
    return {check["name"]: check["outcome"] for check in report["checks"]}


def test_the_app_verifies_its_own_did_web_badges_and_revocations_without_the_network(
    app: Any, client: Any, sign_up: Any, award: Any, issuer: Any
) -> None:
    learner = sign_up("sam")
    awarded = award("sam")
    app.extensions["wallet"].fetcher.remote = None  # any request leaving the app now fails

    report = _verify_here(client, learner, awarded["credential"])

    assert report["outcome"] == "valid", report["checks"]
    assert report["issuer"] == DID
    assert _checks(report)["issuer_key"] == "passed" and _checks(report)["status"] == "passed"

    client.post(
        f"/api/v1/organisations/makerspace-north/awards/{awarded['id']}/revoke",
        headers=issuer["admin"].headers,
        json={"reason": "Mistake"},
    )
    revoked = _verify_here(client, learner, awarded["credential"])

    assert revoked["outcome"] == "invalid" and _checks(revoked)["status"] == "failed"


def test_the_vc_jwt_form_names_the_did_as_iss_and_its_key_as_kid(
    client: Any, db: Session, sign_up: Any, award: Any, app: Any, fetch_json: Callable[[str], Any], clock: Any
) -> None:
    learner = sign_up("sam")
    awarded = award("sam")
    issued = db.scalar(select(IssuedCredential).where(IssuedCredential.credential_id == awarded["credential_id"]))
    assert issued is not None

    token = _as_vc_jwt(
        db,
        awarded["credential"],
        organisation_id=issued.organisation_id,
        kek=app.extensions["wallet"].secrets.key_encryption_key,
    )

    header, claims = pyjwt.get_unverified_header(token), pyjwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == DID
    assert header["kid"] == awarded["credential"]["proof"]["verificationMethod"]
    assert verify_credential(token, now=clock.now, fetch_json=fetch_json).outcome == "valid"
    assert _verify_here(client, learner, token)["outcome"] == "valid"


def test_badges_issued_before_dids_keep_verifying(
    app: Any, client: Any, db: Session, sign_up: Any, award: Any, fetch_json: Callable[[str], Any], clock: Any
) -> None:
    """The earlier scheme: issuer.id the https profile URL, a did:key proof that the profile lists."""
    learner = sign_up("sam")
    current = award("sam")["credential"]
    organisation = db.scalar(select(Organisation).where(Organisation.slug == "makerspace-north"))
    assert organisation is not None
    key = active_key(db, organisation_id=organisation.id)
    assert key is not None
    unsigned = {name: value for name, value in current.items() if name != "proof"}
    unsigned["issuer"] = {
        "id": "https://wallet.test/issuers/makerspace-north",
        "type": ["Profile"],
        "name": "Makerspace North",
    }
    legacy = dataintegrity.sign(
        unsigned,
        private_key=private_key_of(key, kek=app.extensions["wallet"].secrets.key_encryption_key),
        verification_method=key.verification_method,
        created=isoformat(clock.now - dt.timedelta(days=30)),
        cryptosuite="eddsa-rdfc-2022",
    )

    assert verify_credential(legacy, now=clock.now, fetch_json=fetch_json).outcome == "valid"
    report = _verify_here(client, learner, legacy)
    assert report["outcome"] == "valid", report["checks"]
    assert _checks(report)["issuer_key"] == "passed"
