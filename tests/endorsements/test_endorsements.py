"""An organisation endorses another organisation's badge or the organisation itself: the endorsement is an
OB 3.0 EndorsementCredential signed with the endorser's own key, conforms to 1EdTech's schema, shows on
the issuer page and on the share page of the endorsed badge, and verifies — and a tampered copy does not."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient

SCHEMA = Path(__file__).parents[1] / "vectors" / "1edtech-ob-v3p0" / "json-schemas"
SCHEMA_FILE = SCHEMA / "ob_v3p0_achievementcredential_schema_draft4.json"


@pytest.fixture
def two_orgs(client: FlaskClient, organisation: Any) -> dict[str, Any]:
    maker = organisation("makerspace-north", "Makerspace North")
    college = organisation("city-college", "City College")
    made = client.post(
        "/api/v1/organisations/makerspace-north/achievements",
        headers=maker["admin"].headers,
        json={
            "name": "Soldering basics",
            "description": "Soldered a kit.",
            "criteria_narrative": "Solder five joints.",
        },
    )
    assert made.status_code == 201
    return {"maker": maker, "college": college, "achievement_id": made.json["id"], "achievement_url": made.json["url"]}


def _endorse(client: FlaskClient, who: Any, slug: str, **body: Any) -> Any:
    return client.post(f"/api/v1/organisations/{slug}/endorsements", headers=who.headers, json=body)


def _verify(client: FlaskClient, learner: Any, credential: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/api/v1/verify",
        headers={**learner.headers, "Content-Type": "application/json"},
        data=json.dumps(credential).encode(),
    )
    assert response.status_code == 200, response.json
    return response.json


def _as_ob30_schema_sees_it(credential: dict[str, Any]) -> dict[str, Any]:
    """The credential as the copy of 1EdTech's schema in tests/vectors can judge it. That schema predates
    VC 2.0 and OB 3.0.3 (whose context we sign with): it names the start date ``issuanceDate`` (VC 2.0:
    ``validFrom``), it forbids the ``name`` that OB 3.0.3 requires of an EndorsementCredential, and its
    ``credentialStatus`` allows only ``id`` and ``type`` (VC 2.0's ``BitstringStatusListEntry`` adds the
    purpose, index and list). Everything else is validated as it is."""
    seen = copy.deepcopy(credential)
    seen["issuanceDate"] = seen.pop("validFrom")
    assert isinstance(seen.pop("name"), str)
    status = seen["credentialStatus"]
    assert {"statusPurpose", "statusListIndex", "statusListCredential"} <= set(status)
    seen["credentialStatus"] = {"id": status["id"], "type": status["type"]}
    return seen


def test_an_endorsement_of_a_badge_is_signed_by_the_endorser_conforms_and_verifies(
    client: FlaskClient, two_orgs: dict[str, Any], sign_up: Any
) -> None:
    college = two_orgs["college"]
    made = _endorse(
        client,
        college["admin"],
        "city-college",
        achievement_id=two_orgs["achievement_id"],
        comment="We accept this for credit.",
    )
    assert made.status_code == 201, made.json
    credential = made.json["credential"]

    assert credential["type"] == ["VerifiableCredential", "EndorsementCredential"]
    assert credential["credentialSubject"] == {
        "id": two_orgs["achievement_url"],
        "type": ["EndorsementSubject"],
        "endorsementComment": "We accept this for credit.",
    }
    assert credential["issuer"]["name"] == "City College"
    schema = json.loads(SCHEMA_FILE.read_text())
    definition = {**schema["$defs"]["EndorsementCredential"], "$defs": schema["$defs"]}
    jsonschema.Draft201909Validator(definition).validate(_as_ob30_schema_sees_it(credential))

    public = client.get(made.json["url"].removeprefix("https://wallet.test"))
    assert public.status_code == 200 and json.loads(public.data) == credential

    report = _verify(client, sign_up(), credential)
    assert report["outcome"] == "valid", report
    assert {c["name"]: c["outcome"] for c in report["checks"]}["issuer_key"] == "passed"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c["credentialSubject"].update(endorsementComment="We award full credit."),
        lambda c: c["credentialSubject"].update(
            id="https://wallet.test/achievements/00000000-0000-4000-8000-000000000000"
        ),
        lambda c: c["issuer"].update(name="Harvard"),
        lambda c: c.update(validFrom="2020-01-01T00:00:00Z"),
    ],
)
def test_a_tampered_endorsement_does_not_verify(
    client: FlaskClient, two_orgs: dict[str, Any], sign_up: Any, tamper: Any
) -> None:
    made = _endorse(client, two_orgs["college"]["admin"], "city-college", issuer="makerspace-north", comment="Trusted.")
    credential = copy.deepcopy(made.json["credential"])
    tamper(credential)

    report = _verify(client, sign_up(), credential)

    assert report["outcome"] == "invalid"
    assert {c["name"]: c["outcome"] for c in report["checks"]}["proof"] == "failed"


def test_endorsements_show_on_the_issuer_page_the_share_page_and_the_public_documents(
    client: FlaskClient, two_orgs: dict[str, Any], sign_up: Any
) -> None:
    college, maker = two_orgs["college"], two_orgs["maker"]
    _endorse(
        client,
        college["admin"],
        "city-college",
        achievement_id=two_orgs["achievement_id"],
        comment="Counts for credit.",
    )
    _endorse(client, college["admin"], "city-college", issuer="makerspace-north", comment="A fine makerspace.")
    learner = sign_up()
    awarded = client.post(
        f"/api/v1/organisations/makerspace-north/achievements/{two_orgs['achievement_id']}/awards",
        headers=maker["admin"].headers,
        json={"username": learner.username},
    )
    assert awarded.status_code == 201
    held = client.get("/api/v1/credentials", headers=learner.headers).json
    items = held["items"] if isinstance(held, dict) else held
    share = client.post("/api/v1/shares", headers=learner.headers, json={"credential_id": items[0]["id"]})
    assert share.status_code == 201, share.json

    issuer_page = client.get("/issuers/makerspace-north/about").get_data(as_text=True)
    share_page = client.get(share.json["url"].removeprefix("https://wallet.test")).get_data(as_text=True)
    achievement = json.loads(client.get(f"/achievements/{two_orgs['achievement_id']}").data)
    profile = json.loads(client.get("/issuers/makerspace-north").data)

    for page in (issuer_page, share_page):
        assert "Endorsed by" in page and "City College" in page
        assert "Counts for credit." in page and "A fine makerspace." in page
    assert [e["credentialSubject"]["endorsementComment"] for e in achievement["endorsement"]] == ["Counts for credit."]
    assert [e["credentialSubject"]["endorsementComment"] for e in profile["endorsement"]] == ["A fine makerspace."]


def test_a_withdrawn_endorsement_is_neither_shown_nor_served_and_a_kept_copy_verifies_as_revoked(
    client: FlaskClient, two_orgs: dict[str, Any], sign_up: Any
) -> None:
    admin = two_orgs["college"]["admin"]
    made = _endorse(client, admin, "city-college", issuer="makerspace-north", comment="Trusted partner.").json
    kept = made["credential"]  # someone saved it before it was withdrawn
    other = _endorse(client, admin, "city-college", achievement_id=two_orgs["achievement_id"], comment="Good.").json
    status, others_status = kept["credentialStatus"], other["credential"]["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry" and status["statusPurpose"] == "revocation"
    assert status["statusListCredential"].startswith("https://wallet.test/status/city-college/")
    assert (status["statusListCredential"], status["statusListIndex"]) != (
        others_status["statusListCredential"],
        others_status["statusListIndex"],
    )
    learner = sign_up()
    assert _verify(client, learner, kept)["outcome"] == "valid"

    withdrawn = client.post(
        f"/api/v1/organisations/city-college/endorsements/{made['id']}/withdraw", headers=admin.headers
    )
    again = client.post(f"/api/v1/organisations/city-college/endorsements/{made['id']}/withdraw", headers=admin.headers)

    assert withdrawn.status_code == 200 and withdrawn.json["withdrawn_at"]
    assert again.status_code == 200 and again.json["withdrawn_at"] == withdrawn.json["withdrawn_at"]
    assert client.get(made["url"].removeprefix("https://wallet.test")).status_code == 404
    assert "Trusted partner." not in client.get("/issuers/makerspace-north/about").get_data(as_text=True)
    report = _verify(client, learner, kept)
    assert report["outcome"] == "invalid", report
    assert {c["name"]: c["outcome"] for c in report["checks"]}["status"] == "failed"
    assert _verify(client, learner, other["credential"])["outcome"] == "valid"  # its neighbour in the list is not


def test_who_may_endorse(client: FlaskClient, two_orgs: dict[str, Any], sign_up: Any) -> None:
    college, maker = two_orgs["college"], two_orgs["maker"]
    body = {"issuer": "makerspace-north", "comment": "Good."}

    assert _endorse(client, college["worker"], "city-college", **body).status_code == 403
    assert _endorse(client, maker["admin"], "city-college", **body).status_code == 404
    assert _endorse(client, sign_up(), "city-college", **body).status_code == 404
    assert client.post("/api/v1/organisations/city-college/endorsements", json=body).status_code == 401
    own = _endorse(
        client, maker["admin"], "makerspace-north", achievement_id=two_orgs["achievement_id"], comment="Ours!"
    )
    assert (own.status_code, own.json["code"]) == (422, "endorsement.own_work")
    both = _endorse(client, college["admin"], "city-college", achievement_id=two_orgs["achievement_id"], **body)
    assert both.status_code == 422
    made = _endorse(client, college["admin"], "city-college", **body).json
    withdraw = f"/api/v1/organisations/city-college/endorsements/{made['id']}/withdraw"
    assert client.post(withdraw, headers=college["worker"].headers).status_code == 403
    assert (
        client.post(withdraw.replace("city-college", "makerspace-north"), headers=maker["admin"].headers).status_code
        == 404
    )
