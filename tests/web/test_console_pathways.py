"""Pathways, alignments and frameworks in the console, as their designers meet them: an admin imports
a framework, aligns a badge to it and designs a pathway with a partner organisation through the pages —
and gets what the API would have made; a partner changes the steps but not the outcome; every bad form
is a page that says why next to the field and keeps what was typed."""

from __future__ import annotations

import io
import json
import re
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests.claims.conftest import make_achievement
from tests.conftest import FakeClock
from tests.pathways.conftest import CASE_PACKAGE
from tests.web.console_world import Browser, ConsoleWorld, browser, make_world
from wallet.models import Achievement, Pathway, SkillFramework

BASE = "https://wallet.test"
TEAMWORK = f"{BASE}/frameworks/leeds/v1/items/item-teamwork"
LISTENING = f"{BASE}/frameworks/leeds/v1/items/item-listening"


@pytest.fixture
def world(app: Flask, db: Session, clock: FakeClock, sign_up: Any, organisation: Any) -> ConsoleWorld:
    return make_world(app, db, clock, sign_up, organisation)


@pytest.fixture
def partner(world: ConsoleWorld) -> Browser:
    """The admin of Museum East (the world's other organisation)."""
    return browser(world.app, "museum-east-admin")


def _import_leeds(w: ConsoleWorld) -> Any:
    return w.admin.post(f"/console/orgs/{w.slug}/frameworks", {"slug": "leeds", "text": json.dumps(CASE_PACKAGE)})


def _museum_badge(w: ConsoleWorld, partner: Browser, name: str = "Gallery Guide") -> str:
    made = partner.post(
        "/console/orgs/museum-east/badges/new",
        {"name": name, "description": "Guided a tour.", "criteria_narrative": "Guide one tour."},
    )
    assert made.status_code == 303, made.get_data(as_text=True)[:2000]
    w.db.expire_all()
    return str(w.db.query(Achievement).filter(Achievement.name == name).one().id)


def _pathway(w: ConsoleWorld) -> Pathway:
    w.db.expire_all()
    return w.db.query(Pathway).one()


def _create(w: ConsoleWorld, **fields: Any) -> Any:
    data = {"name": "Maker to Curator", "step_kind": "badge", "step_badge": w.achievement_id, **fields}
    return w.admin.post(f"/console/orgs/{w.slug}/pathways/new", data)


def _pathway_path(w: ConsoleWorld, pathway_id: Any, slug: str | None = None) -> str:
    return f"/console/orgs/{slug or w.slug}/pathways/{pathway_id}"


def test_an_admin_designs_a_two_organisation_pathway_as_the_api_would(
    world: ConsoleWorld, partner: Browser, client: Any
) -> None:
    imported = _import_leeds(world)
    assert imported.status_code == 200
    assert "version 1 imported" in imported.get_data(as_text=True) and "3 items" in imported.get_data(as_text=True)
    guide = _museum_badge(world, partner)
    outcome = make_achievement(world.db, world.org, now=world.clock.now, name="Maker Graduate")

    form = world.admin.get(f"/console/orgs/{world.slug}/pathways/new").get_data(as_text=True)
    assert "Gallery Guide" in form and "Museum East" in form and "Works well in a team" in form
    created = _create(
        world,
        description="From the soldering bench to the gallery.",
        outcome="A portfolio piece",
        outcome_badge=outcome,
        auto_award="on",
        ordered="on",
        partners="museum-east",
        step_title="Start at the makerspace",
    )
    assert created.status_code == 303
    pathway = _pathway(world)
    assert created.headers["Location"].startswith(_pathway_path(world, pathway.id))
    steps = _pathway_path(world, pathway.id) + "/steps"
    assert (
        world.admin.post(steps, {"step_kind": "any_of", "step_n": "1", "step_any_of": [guide, outcome]}).status_code
        == 303
    )
    assert world.admin.post(steps, {"step_kind": "skill", "step_skill": TEAMWORK}).status_code == 303

    page = world.admin.get(_pathway_path(world, pathway.id)).get_data(as_text=True)
    assert "Start at the makerspace" in page and "Any 1 of these 2 badges" in page and "Works well in a team" in page
    assert "Gallery Guide (Museum East)" in page

    # The same pathway through the API: the published definitions are the same.
    body = {
        "name": "Maker to Curator",
        "description": "From the soldering bench to the gallery.",
        "outcome": "A portfolio piece",
        "outcome_achievement_id": outcome,
        "auto_award": True,
        "ordered": True,
        "partners": ["museum-east"],
        "steps": [
            {"kind": "badge", "achievement": world.achievement_id, "title": "Start at the makerspace"},
            {"kind": "any_of", "n": 1, "achievements": [guide, outcome]},
            {"kind": "skill", "framework": "leeds", "item": "item-teamwork"},
        ],
    }
    by_api = client.post(f"/api/v1/organisations/{world.slug}/pathways", json=body, headers=world.org["admin"].headers)
    assert by_api.status_code == 201, by_api.json
    by_page = client.get(f"/api/v1/pathways/{pathway.id}").json
    assert by_page["definition"]["steps"] == by_api.json["definition"]["steps"]
    assert (
        by_page["definition"]["ordered"] is True
        and by_page["outcome_achievement"] == by_api.json["outcome_achievement"]
    )
    assert [a["associationType"] for a in by_page["associations"]] == [
        a["associationType"] for a in by_api.json["associations"]
    ]
    assert pathway.auto_award and len(pathway.partners) == 1

    listed = world.admin.get(f"/console/orgs/{world.slug}/pathways").get_data(as_text=True)
    assert "Maker to Curator" in listed and "3 steps" in listed


def test_steps_are_removed_and_moved_and_the_pathway_archived(world: ConsoleWorld, partner: Browser) -> None:
    guide = _museum_badge(world, partner)
    assert _create(world, ordered="on").status_code == 303
    pathway = _pathway(world)
    path = _pathway_path(world, pathway.id)
    world.admin.post(f"{path}/steps", {"step_kind": "badge", "step_badge": guide})
    assert world.admin.post(f"{path}/steps/1/move", {"direction": "up"}).status_code == 303
    assert [s["names"][0] for s in _pathway(world).steps] == ["Gallery Guide", "Soldering Basics"]
    assert world.admin.post(f"{path}/steps/0/remove").status_code == 303
    assert [s["names"][0] for s in _pathway(world).steps] == ["Soldering Basics"]

    last = world.admin.post(f"{path}/steps/0/remove")
    assert last.status_code == 422 and "at least one step" in last.get_data(as_text=True)
    assert world.admin.post(f"{path}/steps/7/remove").status_code == 422
    assert world.admin.post(f"{path}/steps/0/move", {"direction": "down"}).status_code == 422
    assert len(_pathway(world).steps) == 1

    assert world.admin.post(f"{path}/archive", {"archived": "yes"}).status_code == 303
    assert _pathway(world).archived_at is not None
    assert "archived" in world.admin.get(f"/console/orgs/{world.slug}/pathways").get_data(as_text=True)
    assert world.admin.post(f"{path}/archive", {"archived": "no"}).status_code == 303
    assert _pathway(world).archived_at is None


def test_a_partner_changes_the_steps_but_is_told_why_not_the_outcome(world: ConsoleWorld, partner: Browser) -> None:
    guide = _museum_badge(world, partner)
    assert _create(world, partners="museum-east").status_code == 303
    pathway = _pathway(world)
    theirs = _pathway_path(world, pathway.id, "museum-east")
    assert "Maker to Curator" in partner.get("/console/orgs/museum-east/pathways").get_data(as_text=True)
    page = partner.get(theirs).get_data(as_text=True)
    assert "Makerspace North owns this pathway" in page and "Save the details" not in page

    assert partner.post(f"{theirs}/steps", {"step_kind": "badge", "step_badge": guide}).status_code == 303
    assert len(_pathway(world).steps) == 2
    refused = partner.post(theirs, {"name": "Taken over", "auto_award": "on"})
    assert refused.status_code == 403 and "Only the owner&#39;s admins" in refused.get_data(as_text=True)
    assert partner.post(f"{theirs}/archive", {"archived": "yes"}).status_code == 403
    assert _pathway(world).name == "Maker to Curator" and _pathway(world).archived_at is None


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"name": ""}, "give the pathway a name"),
        ({"name": "x" * 121}, "at most 120"),
        ({"description": "x" * 4001}, "at most 4000"),
        ({"outcome": "x" * 2001}, "at most 2000"),
        ({"outcome_badge": "not-a-badge"}, "pick one of your badges"),
        ({"outcome_badge": "{museum}"}, "one of the owner&#39;s achievements"),
        ({"auto_award": "on"}, "needs an outcome badge"),
        ({"partners": "no-such-org"}, "no organisation"),
        ({"step_kind": "teleport"}, "pick what the step asks for"),
        ({"step_badge": ""}, "pick the badge"),
        ({"step_badge": "soldering"}, "pick a badge from the list"),
        ({"step_badge": str(uuid.UUID(int=7))}, "no such achievement here"),
        ({"step_kind": "any_of", "step_n": "1"}, "tick at least one badge"),
        ({"step_kind": "any_of", "step_n": "two", "step_any_of": "{museum}"}, "a whole number"),
        ({"step_kind": "any_of", "step_n": "3", "step_any_of": "{museum}"}, "a whole number from 1"),
        ({"step_kind": "any_of", "step_n": "²", "step_any_of": "{museum}"}, "a whole number from 1"),
        ({"step_kind": "skill", "step_skill": ""}, "pick a skill"),
        ({"step_kind": "skill", "step_skill": "https://elsewhere.example/x"}, "pick a skill"),
        ({"step_kind": "skill", "step_skill": f"{BASE}/frameworks/leeds/v1/items/nope"}, "No such item"),
        ({"step_title": "x" * 201}, "at most 200"),
    ],
)
def test_a_bad_pathway_form_says_why_next_to_the_field_and_keeps_what_was_typed(
    world: ConsoleWorld, partner: Browser, fields: dict[str, str], says: str
) -> None:
    _import_leeds(world)
    museum = _museum_badge(world, partner)
    data = {k: v.replace("{museum}", museum) for k, v in fields.items()}
    response = _create(world, **{"description": "Kept as typed", **data})
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:3000]
    assert says in page
    assert re.search(r'class="error field-error" id="[a-z_]+-error"', page)
    if "description" not in data:
        assert "Kept as typed" in page
    if "name" not in data:
        assert 'value="Maker to Curator"' in page
    assert world.db.query(Pathway).count() == 0


def test_a_bad_step_keeps_the_typed_step_and_changes_nothing(world: ConsoleWorld) -> None:
    assert _create(world).status_code == 303
    path = _pathway_path(world, _pathway(world).id)
    refused = world.admin.post(f"{path}/steps", {"step_kind": "any_of", "step_n": "5", "step_title": "Two of the club"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "tick at least one badge" in page and 'value="Two of the club"' in page
    details = world.admin.post(path, {"name": "", "description": "New words"})
    assert details.status_code == 422 and "New words" in details.get_data(as_text=True)
    assert len(_pathway(world).steps) == 1 and _pathway(world).name == "Maker to Curator"


def test_pathway_pages_are_refused_to_everyone_else(world: ConsoleWorld, partner: Browser, sign_up: Any) -> None:
    assert _create(world).status_code == 303
    pathway = _pathway(world)
    ours = _pathway_path(world, pathway.id)
    assert world.learner.get(ours).status_code == 404
    assert world.outsider.get(ours).status_code == 404
    assert world.worker.get(ours).status_code == 403
    # Museum East is no partner of this pathway: through its own console the pathway does not exist.
    not_theirs = partner.get(_pathway_path(world, pathway.id, "museum-east"))
    assert not_theirs.status_code == 404 and "No such pathway" in not_theirs.get_data(as_text=True)
    assert partner.post(_pathway_path(world, pathway.id, "museum-east") + "/steps/0/remove").status_code == 404
    forged = world.admin.client.post(f"/console/orgs/{world.slug}/pathways/new", data={"name": "Forged"})
    assert forged.status_code == 400
    assert world.db.query(Pathway).count() == 1


def test_an_admin_aligns_a_badge_to_an_imported_item_and_the_badge_form_keeps_it(world: ConsoleWorld) -> None:
    _import_leeds(world)
    badge = f"/console/orgs/{world.slug}/badges/{world.achievement_id}"
    assert "Works well in a team" in world.admin.get(badge).get_data(as_text=True)
    assert world.admin.post(f"{badge}/alignments", {"skill": TEAMWORK}).status_code == 303
    assert world.admin.post(f"{badge}/alignments", {"skill": LISTENING}).status_code == 303
    world.db.expire_all()
    achievement = world.db.get(Achievement, uuid.UUID(world.achievement_id))
    assert achievement is not None
    api = world.app.test_client().get(
        f"/api/v1/organisations/{world.slug}/achievements/{world.achievement_id}/alignments",
        headers=world.org["admin"].headers,
    )
    assert api.json["alignments"] == achievement.alignments
    assert [a["targetUrl"] for a in achievement.alignments] == [TEAMWORK, LISTENING]
    assert achievement.alignments[0]["targetType"] == "CFItem" and achievement.alignments[0]["targetCode"] == "COM-2"

    saved = world.admin.post(badge, {"name": "Renamed", "description": "x", "criteria_narrative": "x"})
    assert saved.status_code == 303
    world.db.expire_all()
    achievement = world.db.get(Achievement, uuid.UUID(world.achievement_id))
    assert achievement is not None and [a["targetUrl"] for a in achievement.alignments] == [TEAMWORK, LISTENING]

    assert world.admin.post(f"{badge}/alignments/remove", {"target_url": TEAMWORK}).status_code == 303
    world.db.expire_all()
    achievement = world.db.get(Achievement, uuid.UUID(world.achievement_id))
    assert achievement is not None and [a["targetUrl"] for a in achievement.alignments] == [LISTENING]

    for skill in ("", "https://elsewhere.example/x", f"{BASE}/frameworks/leeds/v1/items/nope"):
        bad = world.admin.post(f"{badge}/alignments", {"skill": skill})
        said = bad.get_data(as_text=True)
        assert bad.status_code == 422 and ("Pick a skill" in said or "pick one from the list" in said), skill
    assert world.worker.post(f"{badge}/alignments", {"skill": TEAMWORK}).status_code == 403
    assert world.outsider.post(f"{badge}/alignments", {"skill": TEAMWORK}).status_code == 404


def test_an_admin_imports_a_framework_by_file_or_pasted_text_and_reads_why_a_file_is_refused(
    world: ConsoleWorld, partner: Browser
) -> None:
    page = f"/console/orgs/{world.slug}/frameworks"
    csv_text = "code,statement,parent\nDIG,Digital skills,\nDIG-1,Makes a simple program,DIG\n"
    first = world.admin.post(page, {"slug": "city-digital", "title": "City digital skills", "text": csv_text})
    assert first.status_code == 200 and "version 1 imported" in first.get_data(as_text=True)
    assert "2 items" in first.get_data(as_text=True)
    again = world.admin.post(
        page,
        {"slug": "city-digital", "title": "City digital skills", "file": (io.BytesIO(csv_text.encode()), "skills.csv")},
        content_type="multipart/form-data",
    )
    assert again.status_code == 200 and "nothing new" in again.get_data(as_text=True)
    changed = world.admin.post(
        page, {"slug": "city-digital", "title": "City digital skills", "text": csv_text + "DIG-2,Fixes a bug,DIG\n"}
    )
    assert "version 2 imported" in changed.get_data(as_text=True) and "3 items" in changed.get_data(as_text=True)

    broken = dict(CASE_PACKAGE, CFItems=[{"identifier": "x"}])
    for data, says in [
        ({"slug": "leeds", "text": json.dumps(broken)}, "CFItems[0].fullStatement is required"),
        ({"slug": "leeds", "text": "{not json"}, "file is not JSON text"),
        ({"slug": "sheet", "text": "name,code\nA,1\n"}, "header must name a &#39;statement&#39; column"),
        ({"slug": "sheet", "text": "statement,parent\nA,Z\n"}, "its parent &#39;Z&#39; is not in the file"),
        ({"slug": "Not A Slug", "text": csv_text}, "lower-case letters"),
        ({"slug": "empty", "text": "  "}, "Choose a file"),
    ]:
        refused = world.admin.post(page, data)
        body = refused.get_data(as_text=True)
        assert refused.status_code == 422, (data["slug"], body[:2000])
        assert says in body, (says, body[:3000])
        assert f'value="{data["slug"]}"' in body
    assert world.db.query(SkillFramework).filter(SkillFramework.slug.in_(["leeds", "sheet", "empty"])).count() == 0

    theirs = partner.post("/console/orgs/museum-east/frameworks", {"slug": "city-digital", "text": csv_text})
    assert theirs.status_code == 403 and "belongs to Makerspace North" in theirs.get_data(as_text=True)
    assert 'value="city-digital"' in theirs.get_data(as_text=True)
    assert world.worker.get(page).status_code == 403
    assert world.learner.get(page).status_code == 404
    assert world.admin.get("/console/operator/frameworks").status_code == 403


def test_the_operator_imports_any_framework_for_any_owner(world: ConsoleWorld) -> None:
    csv_text = "statement\nSpeaks up in a group\n"
    made = world.operator.post("/console/operator/frameworks", {"slug": "voice", "title": "Voice", "text": csv_text})
    assert made.status_code == 200 and "version 1 imported" in made.get_data(as_text=True)
    assert "1 item in version 1" in made.get_data(as_text=True)
    owned = world.operator.post(
        "/console/operator/frameworks", {"slug": "north-skills", "text": csv_text, "owner": world.slug}
    )
    assert owned.status_code == 200
    world.db.expire_all()
    framework = world.db.query(SkillFramework).filter(SkillFramework.slug == "north-skills").one()
    assert framework.organisation_id is not None
    nobody = world.operator.post(
        "/console/operator/frameworks", {"slug": "x-skills", "text": csv_text, "owner": "nope"}
    )
    assert nobody.status_code == 422 and "Pick the owner" in nobody.get_data(as_text=True)
    newer = world.operator.post(
        "/console/operator/frameworks", {"slug": "north-skills", "text": csv_text + "Listens\n"}
    )
    assert "version 2 imported" in newer.get_data(as_text=True)  # the operator may add versions to any framework
    assert "Import a skills framework" in world.operator.get("/console/operator").get_data(as_text=True)
