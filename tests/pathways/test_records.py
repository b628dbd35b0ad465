"""A record to hand over: a signed CLR 2.0 ClrCredential that meets 1EdTech's schema, verifies and shares."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
from click.testing import CliRunner

from tests.pathways.conftest import CASE_PACKAGE, City
from tests.pathways.test_pathways import _held, _pathway
from wallet.cli import main

SCHEMA = (
    Path(__file__).parents[1]
    / "vectors"
    / "1edtech-ob-v3p0"
    / "json-schemas"
    / "clr_v2p0_clrcredential_schema_draft4.json"
)


def clr_schema_for_vc2() -> dict[str, Any]:
    """1EdTech's CLR 2.0 schema (verbatim in tests/vectors/clr), read for VC Data Model 2.0.

    The published draft-04 schema predates CLR 2.0's move to VC 2.0, and two of its rules are VC 1.1's:

    1. it requires ``issuanceDate`` on the record and on every embedded credential; under VC 2.0 that
       property is ``validFrom`` (the VC 2.0 context does not define ``issuanceDate``, so a signer may
       not use it) — the name is swapped in the ``required`` lists;
    2. its ``CredentialStatus`` allows only ``id`` and ``type``; a VC 2.0 ``BitstringStatusListEntry``
       also carries ``statusPurpose``, ``statusListIndex`` and ``statusListCredential`` — those three are
       allowed there.

    Nothing else changes: every other required property, enum (``associationType``!) and type applies.
    """
    schema = json.loads(SCHEMA.read_text())

    def swap(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("required"), list):
                node["required"] = ["validFrom" if name == "issuanceDate" else name for name in node["required"]]
            for value in node.values():
                swap(value)
        elif isinstance(node, list):
            for value in node:
                swap(value)

    swap(schema)
    status = schema["$defs"]["CredentialStatus"]
    for name in ("statusPurpose", "statusListIndex", "statusListCredential"):
        status["properties"][name] = {"type": "string"}
    return schema


def _record(city: City, sign_up: Any, clock: Any) -> tuple[Any, dict[str, Any]]:
    city.import_case(city.north["admin"], CASE_PACKAGE)
    city.align(city.north, "solder", "item-listening")
    pathway_id = _pathway(city).json["definition"]["id"]
    learner = sign_up("record-keeper")
    city.award(city.north, "solder", learner)
    clock.advance(minutes=1)
    city.award(city.museum, "guide", learner)
    held = _held(city, learner)
    chosen = [item["id"] for item in held if item["achievement_name"] in ("Soldering", "Gallery Guide")]
    response = city.post(learner, "/api/v1/me/records", json={"credentials": chosen, "pathways": [pathway_id]})
    assert response.status_code == 201, response.json
    return learner, response.json


def test_the_record_validates_against_1edtechs_clr_schema(city: City, sign_up, clock) -> None:
    _, record = _record(city, sign_up, clock)
    credential = record["credential"]
    jsonschema.Draft4Validator(clr_schema_for_vc2()).validate(credential)
    assert credential["type"] == ["VerifiableCredential", "ClrCredential"]
    subject = credential["credentialSubject"]
    assert sorted(vc["credentialSubject"]["achievement"]["name"] for vc in subject["verifiableCredential"]) == [
        "Gallery Guide",
        "Soldering",
    ]
    assert subject["achievement"][0]["achievementType"] == "LearningProgram"
    assert "2 of 2 steps done" in subject["achievement"][0]["description"]
    assert {a["associationType"] for a in subject["association"]} >= {"isChildOf", "isParentOf"}


def test_the_schema_check_can_fail(city: City, sign_up, clock) -> None:
    _, record = _record(city, sign_up, clock)
    broken = copy.deepcopy(record["credential"])
    broken["credentialSubject"]["association"][0]["associationType"] = "isFriendOf"
    validator = jsonschema.Draft4Validator(clr_schema_for_vc2())
    assert not validator.is_valid(broken)


def test_the_record_verifies_with_wallet_verify_and_a_tampered_one_does_not(
    city: City, sign_up, clock, tmp_path: Path
) -> None:
    _, record = _record(city, sign_up, clock)
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record["credential"]))
    env = {"WALLET_INSTANCE_PATH": str(tmp_path / "instance"), "WALLET_LOG_JSON": "false"}
    result = CliRunner().invoke(main, ["verify", str(path), "--offline"], env=env)
    assert result.exit_code == 0, result.output
    assert "Result: VALID" in result.output
    tampered = copy.deepcopy(record["credential"])
    tampered["credentialSubject"]["verifiableCredential"].pop()
    path.write_text(json.dumps(tampered))
    result = CliRunner().invoke(main, ["verify", str(path), "--offline"], env=env)
    assert result.exit_code == 1, result.output


def test_the_record_is_shared_by_link_like_a_badge(city: City, sign_up, clock) -> None:
    learner, record = _record(city, sign_up, clock)
    share = city.post(learner, "/api/v1/shares", json={"credential_id": str(record["id"])})
    assert share.status_code == 201, share.json
    slug = share.json["url"].rsplit("/", 1)[-1]
    page = city.client.get(f"/s/{slug}")
    assert page.status_code == 200
    as_issued = city.client.get(f"/s/{slug}.json")
    assert json.loads(as_issued.data) == record["credential"]


def test_a_record_holds_only_the_learners_own_badges(city: City, sign_up, clock) -> None:
    _, record = _record(city, sign_up, clock)
    other = sign_up("someone-else")
    taken = city.post(other, "/api/v1/me/records", json={"credentials": [str(record["id"])]})
    assert (taken.status_code, taken.json["code"]) == (404, "credential.not_found")
    empty = city.post(other, "/api/v1/me/records", json={})
    assert empty.status_code == 422
