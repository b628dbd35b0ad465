"""Skills frameworks: import CASE JSON and CSV, versions, browsing, alignments and who may do what."""

from __future__ import annotations

import copy
import json

from tests.pathways.conftest import CASE_PACKAGE, City


def test_an_anchor_organisation_imports_a_case_framework_and_anyone_can_browse_it(city: City) -> None:
    imported = city.import_case(city.north["admin"], CASE_PACKAGE)
    assert imported.status_code == 201, imported.json
    assert (imported.json["version"], imported.json["owner"], imported.json["created"]) == (1, "north", True)
    listening = next(item for item in imported.json["items"] if item["code"] == "COM-1")
    assert listening["parent"] == "item-communication"
    assert listening["url"].endswith("/frameworks/leeds/v1/items/item-listening")

    public = city.client.get("/api/v1/frameworks/leeds")
    assert public.status_code == 200
    assert [item["statement"] for item in public.json["items"]][:2] == ["Communication", "Listens actively to others"]
    page = city.client.get("/frameworks/leeds")
    assert page.status_code == 200
    assert "Listens actively to others" in page.get_data(as_text=True)
    assert "Leeds Skills Framework" in page.get_data(as_text=True)


def test_the_same_file_twice_adds_no_version_and_a_changed_one_adds_a_version(city: City) -> None:
    city.import_case(city.north["admin"], CASE_PACKAGE)
    again = city.import_case(city.north["admin"], CASE_PACKAGE)
    assert (again.status_code, again.json["version"], again.json["created"]) == (200, 1, False)
    changed = copy.deepcopy(CASE_PACKAGE)
    changed["CFItems"][1]["fullStatement"] = "Listens actively and asks questions"
    second = city.import_case(city.north["admin"], changed)
    assert (second.status_code, second.json["version"]) == (201, 2)
    old = city.client.get("/api/v1/frameworks/leeds/v1/items/item-listening").json
    assert (old["statement"], old["in_latest"], old["latest_version"]) == ("Listens actively to others", "changed", 2)
    same = city.client.get("/api/v1/frameworks/leeds/v1/items/item-teamwork").json
    assert same["in_latest"] == "unchanged"
    page = city.client.get("/frameworks/leeds/v1/items/item-listening").get_data(as_text=True)
    assert "words this item differently" in page


def test_an_alignment_keeps_its_version_and_says_when_the_item_changed(city: City) -> None:
    city.import_case(city.north["admin"], CASE_PACKAGE)
    aligned = city.align(city.north, "solder", "item-listening")
    assert aligned.status_code == 200, aligned.json
    alignment = aligned.json["alignments"][0]
    assert alignment["targetUrl"].endswith("/frameworks/leeds/v1/items/item-listening")
    assert (alignment["targetName"], alignment["targetCode"], alignment["targetType"]) == (
        "Listens actively to others",
        "COM-1",
        "CFItem",
    )
    changed = copy.deepcopy(CASE_PACKAGE)
    changed["CFItems"][1]["fullStatement"] = "Listens actively and asks questions"
    city.import_case(city.north["admin"], changed)
    listed = city.client.get(
        f"/api/v1/organisations/north/achievements/{city.badges['solder']}/alignments",
        headers=city.north["admin"].headers,
    ).json
    assert listed["alignments"][0]["targetUrl"] == alignment["targetUrl"]
    assert (listed["freshness"][0]["newer_version"], listed["freshness"][0]["in_latest"]) == (True, "changed")


def test_the_issued_credential_carries_the_alignment(city: City, sign_up) -> None:
    city.import_case(city.north["admin"], CASE_PACKAGE)
    city.align(city.north, "solder", "item-teamwork")
    learner = sign_up("sam-aligned")
    issued = city.award(city.north, "solder", learner)
    raw = city.client.get(f"/api/v1/credentials/{issued['credential_id']}/raw", headers=learner.headers)
    achievement = json.loads(raw.data)["credentialSubject"]["achievement"]
    assert achievement["alignment"] == [
        {
            "type": ["Alignment"],
            "targetName": "Works well in a team",
            "targetUrl": "https://wallet.test/frameworks/leeds/v1/items/item-teamwork",
            "targetCode": "COM-2",
            "targetFramework": "Leeds Skills Framework",
            "targetType": "CFItem",
        }
    ]


def test_a_spreadsheet_imports_with_codes_as_parents(city: City) -> None:
    csv_text = "code,statement,type,parent\nDIG,Digital skills,Area,\nDIG-1,Builds a simple website,Skill,DIG\n"
    response = city.client.post(
        "/api/v1/frameworks/leeds-digital/versions?organisation=north&title=Leeds%20Digital",
        headers={**city.north["admin"].headers, "Content-Type": "text/csv"},
        data=csv_text.encode(),
    )
    assert response.status_code == 201, response.json
    items = {item["code"]: item for item in response.json["items"]}
    assert items["DIG-1"]["parent"] == items["DIG"]["identifier"]
    again = city.client.post(
        "/api/v1/frameworks/leeds-digital/versions?title=Leeds%20Digital",
        headers={**city.north["admin"].headers, "Content-Type": "text/csv"},
        data=csv_text.encode(),
    )
    assert (again.status_code, again.json["created"]) == (200, False)
    assert {item["identifier"] for item in again.json["items"]} == {item["identifier"] for item in items.values()}


def test_only_admins_of_the_owner_import_and_only_admins_align(city: City, sign_up) -> None:
    learner = sign_up("nosy-learner")
    assert city.import_case(learner, CASE_PACKAGE, organisation="north").status_code == 404
    assert city.import_case(city.north["worker"], CASE_PACKAGE).status_code == 403
    assert city.import_case(city.north["admin"], CASE_PACKAGE).status_code == 201
    changed = copy.deepcopy(CASE_PACKAGE)
    changed["CFDocument"]["title"] = "Taken over"
    refused = city.import_case(city.museum["admin"], changed, organisation="museum")
    assert refused.status_code in (403, 404)
    assert city.client.get("/api/v1/frameworks/leeds").json["title"] == "Leeds Skills Framework"
    worker_align = city.client.post(
        f"/api/v1/organisations/north/achievements/{city.badges['solder']}/alignments",
        headers=city.north["worker"].headers,
        json={"framework": "leeds", "item": "item-listening"},
    )
    assert worker_align.status_code == 403
    other_org = city.client.post(
        f"/api/v1/organisations/museum/achievements/{city.badges['solder']}/alignments",
        headers=city.museum["admin"].headers,
        json={"framework": "leeds", "item": "item-listening"},
    )
    assert other_org.status_code == 404
    anonymous = city.client.post(
        "/api/v1/frameworks/leeds/versions", headers={"Content-Type": "application/json"}, data="{}"
    )
    assert anonymous.status_code == 401


def test_an_unreadable_framework_is_a_422_with_where_and_imports_nothing(city: City) -> None:
    broken = copy.deepcopy(CASE_PACKAGE)
    del broken["CFItems"][1]["fullStatement"]
    response = city.import_case(city.north["admin"], broken)
    assert (response.status_code, response.json["code"]) == (422, "framework.unreadable")
    assert response.json["where"] == "CFItems[1].fullStatement"
    assert city.client.get("/api/v1/frameworks/leeds").status_code == 404


def test_the_operator_imports_a_framework_from_the_command_line(tmp_path) -> None:
    from click.testing import CliRunner

    from wallet.cli import main

    env = {
        "WALLET_INSTANCE_PATH": str(tmp_path / "instance"),
        "WALLET_DATABASE_URL": "",
        "WALLET_LOG_JSON": "false",
        "WALLET_PASSWORD_HASH_PROFILE": "CHEAPEST",
    }
    package = tmp_path / "leeds.json"
    package.write_text(json.dumps(CASE_PACKAGE))
    first = CliRunner().invoke(main, ["framework", "import", "--slug", "leeds", "--file", str(package)], env=env)
    assert first.exit_code == 0, first.output
    assert "version 1: 3 items" in first.output
    again = CliRunner().invoke(main, ["framework", "import", "--slug", "leeds", "--file", str(package)], env=env)
    assert "unchanged: still version 1" in again.output
    broken = tmp_path / "broken.csv"
    broken.write_text("code,name\nA,B\n")
    refused = CliRunner().invoke(main, ["framework", "import", "--slug", "x", "--file", str(broken)], env=env)
    assert refused.exit_code == 1 and "header" in refused.output
