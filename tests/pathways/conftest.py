"""A city: two organisations, a skills framework, badges aligned to it, and a pathway across both."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from wallet.config import Settings

CASE_PACKAGE = {
    "CFDocument": {
        "identifier": "c7d2a0f4-0000-4000-8000-000000000001",
        "uri": "https://case.example/CFDocuments/c7d2a0f4",
        "creator": "Leeds City of Learning",
        "title": "Leeds Skills Framework",
        "lastChangeDateTime": "2026-11-01T00:00:00Z",
        "description": "The skills the city recognises.",
    },
    "CFItems": [
        {
            "identifier": "item-communication",
            "fullStatement": "Communication",
            "humanCodingScheme": "COM",
            "CFItemType": "Skill area",
        },
        {
            "identifier": "item-listening",
            "fullStatement": "Listens actively to others",
            "humanCodingScheme": "COM-1",
            "CFItemType": "Skill",
        },
        {
            "identifier": "item-teamwork",
            "fullStatement": "Works well in a team",
            "humanCodingScheme": "COM-2",
            "CFItemType": "Skill",
        },
    ],
    "CFAssociations": [
        {
            "identifier": "a1",
            "associationType": "isChildOf",
            "originNodeURI": {"title": "COM-1", "identifier": "item-listening", "uri": "x"},
            "destinationNodeURI": {"title": "COM", "identifier": "item-communication", "uri": "y"},
        },
        {
            "identifier": "a2",
            "associationType": "isChildOf",
            "originNodeURI": {"title": "COM-2", "identifier": "item-teamwork", "uri": "x"},
            "destinationNodeURI": {"title": "COM", "identifier": "item-communication", "uri": "y"},
        },
    ],
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, access_token_ttl_seconds=30 * 86_400)


@dataclasses.dataclass
class City:
    client: FlaskClient
    north: dict[str, Any]
    museum: dict[str, Any]
    badges: dict[str, str]

    def post(self, who: Any, path: str, **kwargs: Any) -> Any:
        return self.client.post(path, headers=who.headers, **kwargs)

    def import_case(
        self, who: Any, package: dict[str, Any], *, slug: str = "leeds", organisation: str = "north"
    ) -> Any:
        return self.client.post(
            f"/api/v1/frameworks/{slug}/versions?organisation={organisation}",
            headers={**who.headers, "Content-Type": "application/json"},
            data=json.dumps(package),
        )

    def achievement(self, org: dict[str, Any], name: str) -> str:
        response = self.post(
            org["admin"],
            f"/api/v1/organisations/{org['slug']}/achievements",
            json={"name": name, "description": f"{name} done.", "criteria_narrative": "Take part."},
        )
        assert response.status_code == 201, response.json
        return response.json["id"]

    def award(self, org: dict[str, Any], badge: str, learner: Any) -> Any:
        response = self.post(
            org["admin"],
            f"/api/v1/organisations/{org['slug']}/achievements/{self.badges[badge]}/awards",
            json={"username": learner.username},
        )
        assert response.status_code == 201, response.json
        return response.json

    def align(self, org: dict[str, Any], badge: str, item: str, **extra: Any) -> Any:
        return self.post(
            org["admin"],
            f"/api/v1/organisations/{org['slug']}/achievements/{self.badges[badge]}/alignments",
            json={"framework": "leeds", "item": item, **extra},
        )


@pytest.fixture
def city(client: FlaskClient, organisation: Any) -> City:
    north = organisation("north", "Makerspace North")
    museum = organisation("museum", "City Museum")
    city = City(client, north, museum, {})
    city.badges["solder"] = city.achievement(north, "Soldering")
    city.badges["coding"] = city.achievement(north, "Coding Club")
    city.badges["guide"] = city.achievement(museum, "Gallery Guide")
    city.badges["curator"] = city.achievement(museum, "Young Curator")
    city.badges["outcome"] = city.achievement(north, "Maker Pathway Graduate")
    return city
