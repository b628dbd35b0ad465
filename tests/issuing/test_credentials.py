"""An issued Open Badge verifies anywhere, says what OB 3.0 requires, and names no learner's contact."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from wallet.credentials import dataintegrity, multikey
from wallet.credentials.verify import verify_credential
from wallet.holding.services import all_credentials
from wallet.models import Account

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


def _learner_with_email(db: Session, sign_up: Any, username: str) -> Any:
    learner = sign_up(username)
    account = db.get(Account, uuid.UUID(learner.account_id))
    assert account is not None
    account.email = f"{username}@mail.example"
    db.commit()
    return learner, account


def test_an_awarded_badge_verifies_with_every_check_passing(
    db: Session, sign_up: Any, award: Any, fetch_json: Callable[[str], Any]
) -> None:
    _learner_with_email(db, sign_up, "sam")
    credential = award("sam")["credential"]

    report = verify_credential(credential, now=NOW + dt.timedelta(minutes=1), fetch_json=fetch_json)

    assert {check.name: check.outcome for check in report.checks} == {
        "proof": "passed",
        "issuer_key": "passed",
        "validity": "passed",
        "status": "passed",
        "shape": "passed",
    }


def test_the_badge_names_the_learner_only_by_a_random_subject_id(db: Session, sign_up: Any, award: Any) -> None:
    learner, account = _learner_with_email(db, sign_up, "sam")
    awarded = award("sam")
    text = json.dumps(awarded["credential"])

    assert awarded["credential"]["credentialSubject"]["id"] == account.subject_id
    assert account.subject_id.startswith("urn:uuid:")
    for private in ("sam@mail.example", "mail.example", learner.account_id):
        assert private not in text
    assert '"sam"' not in text


def test_the_badge_has_the_open_badges_3_shape(db: Session, sign_up: Any, award: Any, issuer: Any) -> None:
    sign_up("sam")
    awarded = award("sam")
    credential = awarded["credential"]
    achievement_id = issuer["achievement"]["id"]

    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["id"].startswith("urn:uuid:") and uuid.UUID(credential["id"][9:])
    assert credential["id"] == awarded["credential_id"]
    assert credential["issuer"] == {
        "id": "did:web:wallet.test:issuers:makerspace-north",
        "type": ["Profile"],
        "name": "Makerspace North",
        "url": "https://wallet.test/issuers/makerspace-north",
    }
    assert credential["validFrom"] == "2026-11-23T10:00:00Z"
    assert "validUntil" not in credential
    assert credential["name"] == "Soldering basics"
    subject = credential["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["achievement"] == {
        "id": f"https://wallet.test/achievements/{achievement_id}",
        "type": ["Achievement"],
        "name": "Soldering basics",
        "description": "Soldered a working LED circuit safely.",
        "criteria": {
            "id": "https://makerspace.example/criteria/soldering",
            "narrative": "Solder five joints that pass inspection.",
        },
        "tag": ["electronics", "making"],
        "alignment": [
            {
                "type": ["Alignment"],
                "targetName": "Digital making",
                "targetUrl": "https://framework.example/dm",
                "targetFramework": "Youth Skills",
                "targetCode": "DM1",
            }
        ],
    }
    status = credential["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry"
    assert status["statusPurpose"] == "revocation"
    assert status["statusListCredential"] == "https://wallet.test/status/makerspace-north/revocation/1"
    assert status["id"] == f"{status['statusListCredential']}#{status['statusListIndex']}"
    assert isinstance(status["statusListIndex"], str) and int(status["statusListIndex"]) >= 0
    proof = credential["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["verificationMethod"].startswith("did:web:wallet.test:issuers:makerspace-north#z6Mk")


def test_validity_days_give_a_valid_until_and_evidence_is_carried(
    client: Any, db: Session, sign_up: Any, issuer: Any, award: Any, fetch_json: Callable[[str], Any]
) -> None:
    sign_up("sam")
    response = client.patch(
        f"/api/v1/organisations/makerspace-north/achievements/{issuer['achievement']['id']}",
        headers=issuer["admin"].headers,
        json={"validity_days": 365},
    )
    assert response.status_code == 200

    credential = award("sam", evidence=[{"narrative": "Built a blinking badge", "name": "Project"}])["credential"]

    assert credential["validUntil"] == "2027-11-23T10:00:00Z"
    assert credential["evidence"] == [{"type": ["Evidence"], "name": "Project", "narrative": "Built a blinking badge"}]
    later = verify_credential(credential, now=dt.datetime(2027, 11, 24, tzinfo=dt.UTC), fetch_json=fetch_json)
    assert {check.name: check.outcome for check in later.checks}["validity"] == "failed"


def test_the_badge_lands_in_the_learners_wallet(db: Session, sign_up: Any, award: Any) -> None:
    learner = sign_up("sam")
    awarded = award("sam")

    held = all_credentials(db, account_id=uuid.UUID(learner.account_id))

    assert [(c.credential_id, c.source) for c in held] == [(awarded["credential_id"], "award")]
    assert json.loads(held[0].raw) == awarded["credential"]


def _string_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [
            p
            for key, value in node.items()
            if key not in ("proof", "@context")
            for p in _string_paths(value, (*path, key))
        ]
    if isinstance(node, list):
        return [p for index, value in enumerate(node) for p in _string_paths(value, (*path, index))]
    return [path] if isinstance(node, str) else []


@pytest.fixture
def signed(sign_up: Any, award: Any) -> dict[str, Any]:
    sign_up("sam")
    return award("sam")["credential"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choice=st.integers(min_value=0), suffix=st.text(min_size=1, max_size=5))
def test_changing_any_field_breaks_the_proof(signed: dict[str, Any], choice: int, suffix: str) -> None:
    paths = _string_paths(signed)
    path = paths[choice % len(paths)]
    tampered = copy.deepcopy(signed)
    node = tampered
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = node[path[-1]] + suffix

    check = dataintegrity.verify(tampered, resolve_key=_key_named_by_fragment)

    assert not check.ok, path
    assert dataintegrity.verify(signed, resolve_key=_key_named_by_fragment).ok


def _key_named_by_fragment(method: str) -> Any:
    """Our did:web methods end in the key's multibase, as did:key's do."""
    return multikey.resolve_did_key("did:key:" + method.partition("#")[2])


def test_the_learners_export_lists_badges_issued_to_them(client: Any, sign_up: Any, award: Any, issuer: Any) -> None:
    learner = sign_up("sam")
    awarded = award("sam")
    client.post(
        f"/api/v1/organisations/makerspace-north/awards/{awarded['id']}/revoke",
        headers=issuer["admin"].headers,
        json={"reason": "Wrong learner"},
    )

    export = client.get("/api/v1/me/export", headers=learner.headers).json

    assert export["issued_to_you"] == [
        {
            "credential_id": awarded["credential_id"],
            "organisation": "makerspace-north",
            "achievement": "Soldering basics",
            "issued_at": "2026-11-23T10:00:00+00:00",
            "revoked_at": "2026-11-23T10:00:00+00:00",
            "revocation_reason": "Wrong learner",
        }
    ]


def test_erasing_the_learner_keeps_the_issuers_record_without_them(
    client: Any, db: Session, sign_up: Any, award: Any, issuer: Any
) -> None:
    learner = sign_up("sam")
    awarded = award("sam")

    erased = client.delete("/api/v1/me", headers=learner.headers, json={"password": learner.password})
    assert erased.status_code == 204, erased.json

    listed = client.get("/api/v1/organisations/makerspace-north/awards", headers=issuer["admin"].headers).json
    assert [(item["id"], item["recipient"]) for item in listed] == [(awarded["id"], None)]


def test_archived_achievements_cannot_be_awarded(client: Any, sign_up: Any, award: Any, issuer: Any) -> None:
    sign_up("sam")
    achievement_id = issuer["achievement"]["id"]
    archived = client.post(
        f"/api/v1/organisations/makerspace-north/achievements/{achievement_id}/archive", headers=issuer["admin"].headers
    )
    assert archived.json["archived_at"] is not None

    refused = award("sam", status=409)

    assert refused["code"] == "request.conflict"
    listed = client.get("/api/v1/organisations/makerspace-north/achievements", headers=issuer["worker"].headers)
    assert listed.json == []
    everything = client.get(
        "/api/v1/organisations/makerspace-north/achievements?include_archived=true", headers=issuer["worker"].headers
    )
    assert [item["id"] for item in everything.json] == [achievement_id]
    assert client.get(f"/achievements/{achievement_id}").json["name"] == "Soldering basics"


def test_youth_workers_read_but_do_not_create_and_outsiders_see_nothing(client: Any, sign_up: Any, issuer: Any) -> None:
    outsider = sign_up("outsider")
    body = {"name": "Fake", "description": "Fake", "criteria_narrative": "None"}

    assert (
        client.post(
            "/api/v1/organisations/makerspace-north/achievements", headers=issuer["worker"].headers, json=body
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/organisations/makerspace-north/achievements", headers=outsider.headers, json=body
        ).status_code
        == 404
    )
    assert (
        client.get("/api/v1/organisations/makerspace-north/achievements", headers=outsider.headers).status_code == 404
    )
    assert (
        len(client.get("/api/v1/organisations/makerspace-north/achievements", headers=issuer["worker"].headers).json)
        == 1
    )


def test_an_achievement_needs_criteria(client: Any, issuer: Any) -> None:
    response = client.post(
        "/api/v1/organisations/makerspace-north/achievements",
        headers=issuer["admin"].headers,
        json={"name": "Vague", "description": "Nobody knows how"},
    )

    assert response.status_code == 422
    assert "criteria_narrative" in response.json["errors"]
