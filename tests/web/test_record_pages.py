"""The learner's record page (/wallet/records/new) through the Flask client: who may, CSRF, bad input, and
what the record's own page and its share page say — never more than the record proves."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.pathways.conftest import CASE_PACKAGE, City
from tests.pathways.conftest import city as city
from tests.pathways.conftest import settings as settings
from wallet.holding.services import add_credential
from wallet.models import HeldCredential
from wallet.records import clr

PASSWORD = "correct horse battery"


def _csrf(client: FlaskClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match
    return match.group(1)


def _sign_in(client: FlaskClient, username: str) -> None:
    signed = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(client, "/login")}
    )
    assert signed.status_code == 303, signed.get_data(as_text=True)[:500]


def _pathway(city: City) -> str:
    body = {
        "name": "Maker to Museum",
        "description": "From the workbench to the gallery.",
        "partners": ["museum"],
        "steps": [
            {"kind": "badge", "achievement": city.badges["solder"]},
            {"kind": "any_of", "n": 1, "achievements": [city.badges["guide"], city.badges["curator"]]},
            {"kind": "badge", "achievement": city.badges["coding"]},
        ],
    }
    created = city.post(city.north["admin"], "/api/v1/organisations/north/pathways", json=body)
    assert created.status_code == 201, created.json
    return str(created.json["definition"]["id"])


def _learner(city: City, sign_up: Any, username: str = "sam-record") -> tuple[Any, dict[str, str]]:
    """A learner holding Soldering (north), Gallery Guide and First Aid (museum; in no pathway), signed in."""
    learner = sign_up(username, display_name="Sam Rivera")
    if "aid" not in city.badges:
        city.badges["aid"] = city.achievement(city.museum, "First Aid")
    for org, badge in ((city.north, "solder"), (city.museum, "guide"), (city.museum, "aid")):
        city.award(org, badge, learner)
    names = {"Soldering": "solder", "Gallery Guide": "guide", "First Aid": "aid"}
    ids = {names[item["achievement_name"]]: item["id"] for item in _held(city, learner)}
    _sign_in(city.client, username)
    return learner, ids


def _held(city: City, learner: Any) -> list[dict[str, Any]]:
    body = city.client.get("/api/v1/credentials", headers=learner.headers).json
    return body["items"] if isinstance(body, dict) else body


def _records(db: Any, account_id: str) -> int:
    return db.scalar(
        select(func.count())
        .select_from(HeldCredential)
        .where(HeldCredential.account_id == uuid.UUID(account_id), HeldCredential.source == "record")
    )


def test_the_record_page_needs_a_signed_in_learner_and_a_csrf_token(city: City, sign_up) -> None:
    answer = city.client.get("/wallet/records/new")
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/login?next=/wallet/records/new")
    assert city.client.post("/wallet/records/new", data={"badge": "x"}).status_code == 400
    _learner(city, sign_up)
    forged = city.client.post("/wallet/records/new", data={"csrf_token": "forged", "name": "x"})
    assert forged.status_code == 400


def test_a_learner_makes_a_record_of_chosen_badges_and_lands_on_its_page(city: City, sign_up, db) -> None:
    city.import_case(city.north["admin"], CASE_PACKAGE)
    city.align(city.north, "solder", "item-listening")
    pathway_id = _pathway(city)
    learner, ids = _learner(city, sign_up)
    form = city.client.get("/wallet/records/new")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and 'value="Learning record of Sam Rivera"' in html
    # Defaults: the badges that count towards a started pathway, and the pathway.
    for badge in ("solder", "guide"):
        assert re.search(rf'value="{ids[badge]}" checked', html), badge
    assert re.search(rf'value="{ids["aid"]}">', html)  # in no pathway: not ticked
    assert re.search(rf'value="{pathway_id}" checked', html)
    assert "2 of 3 steps" in html

    made = city.client.post(
        "/wallet/records/new",
        data={
            "csrf_token": _csrf(city.client, "/wallet/records/new"),
            "name": "For the college",
            "badge": [ids["solder"], ids["guide"]],
            "pathway": pathway_id,
        },
    )
    assert made.status_code == 303, made.get_data(as_text=True)[:1000]
    assert _records(db, learner.account_id) == 1
    page = city.client.get(made.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Your record is ready" in text and "For the college" in text
    assert "Genuine record: Learner Wallet put it together for Sam Rivera" in text
    assert "Made by Learner Wallet (this service)" in text
    assert text.count("Genuine: issued by") == 2 and "Soldering" in text and "Gallery Guide" in text
    assert "First Aid" not in text
    assert "Maker to Museum" in text and "2 of 3 steps done" in text
    assert "Listens actively to others" in text  # Soldering's skill, read from the badge inside
    assert "Add to LinkedIn" not in text

    # Shared like a badge: the employer's page checks the record, then each badge on its own.
    record_id = made.headers["Location"].rsplit("/", 1)[1]
    shared = city.client.post(
        "/wallet/shares",
        data={"csrf_token": _csrf(city.client, "/wallet/records/new"), "kind": "badge", "target": record_id},
    )
    assert shared.status_code == 303
    mine = city.client.get(shared.headers["Location"]).get_data(as_text=True)
    assert "A link to your record" in mine and "Add to LinkedIn" not in mine
    url = re.search(r'id="share-url" class="share-url" value="([^"]+)"', mine).group(1)  # type: ignore[union-attr]
    public = city.client.get(url.removeprefix("https://wallet.test"))
    body = public.get_data(as_text=True)
    assert public.status_code == 200
    assert "Genuine record: Learner Wallet put it together for Sam Rivera" in body
    assert body.count("Genuine: issued by") == 2
    assert "a description, not an award" in body


def test_the_badge_list_names_the_record_by_its_own_name(city: City, sign_up) -> None:
    _pathway(city)
    _, ids = _learner(city, sign_up)
    city.client.post(
        "/wallet/records/new",
        data={"csrf_token": _csrf(city.client, "/wallet/records/new"), "name": "My record", "badge": ids["guide"]},
    )
    listing = city.client.get("/wallet").get_data(as_text=True)
    assert "My record" in listing and "Learner Wallet (learner records)" in listing


def test_bad_input_is_a_friendly_page_that_keeps_what_was_chosen(city: City, sign_up, db) -> None:
    pathway_id = _pathway(city)
    other = sign_up("someone-else")
    city.award(city.north, "solder", other)
    theirs = _held(city, other)[0]["id"]
    learner, ids = _learner(city, sign_up)
    csrf = _csrf(city.client, "/wallet/records/new")

    def post(**data: Any) -> tuple[int, str]:
        answer = city.client.post("/wallet/records/new", data={"csrf_token": csrf, **data})
        return answer.status_code, answer.get_data(as_text=True)

    status, html = post(name="Kept name")
    assert status == 422 and "Choose at least one badge or pathway" in html and 'value="Kept name"' in html
    status, html = post(name="Kept name", pathway=pathway_id)
    assert status == 422 and "at least one badge" in html and re.search(rf'value="{pathway_id}" checked', html)
    status, html = post(name="Kept", badge=[ids["guide"], theirs])
    assert status == 404 and "not in your wallet" in html and re.search(rf'value="{ids["guide"]}" checked', html)
    assert "Internal" not in html
    status, html = post(badge="not-an-id")
    assert status == 404 and "not in your wallet" in html
    status, html = post(badge=ids["guide"], pathway="00000000-0000-4000-8000-000000000000")
    assert status == 404 and "pathways you chose does not exist" in html
    status, html = post(name="Sam\x00Rivera", badge=ids["guide"])
    assert status == 422 and "character we cannot keep" in html and 'value="SamRivera"' in html
    status, html = post(name="Sam\x07Rivera", badge=ids["guide"])
    assert status == 422 and "character we cannot keep" in html
    status, html = post(name="Kept", badge=ids["guide"] + "\x00")
    assert status == 404 and "not in your wallet" in html
    assert city.client.get("/wallet/records/new?x=a\x00b").status_code == 400  # the query is still refused
    status, html = post(name="x" * 5000, badge=ids["guide"])
    assert status == 422 and "at most 200 characters" in html
    status, html = post(badge=[ids["guide"]] * 201)
    assert status == 422 and "At most 200 badges" in html
    assert _records(db, learner.account_id) == 0


def test_another_learners_record_is_not_found(city: City, sign_up) -> None:
    _, ids = _learner(city, sign_up)
    made = city.client.post(
        "/wallet/records/new",
        data={"csrf_token": _csrf(city.client, "/wallet/records/new"), "badge": ids["guide"]},
    )
    record = made.headers["Location"]
    city.client.post("/logout", data={"csrf_token": _csrf(city.client, "/wallet")})
    sign_up("nosy", password=PASSWORD)
    _sign_in(city.client, "nosy")
    assert city.client.get(record).status_code == 404


def test_the_skills_summary_is_shared_from_the_skills_page(city: City, sign_up) -> None:
    city.import_case(city.north["admin"], CASE_PACKAGE)
    city.align(city.museum, "guide", "item-teamwork")
    _learner(city, sign_up)
    skills = city.client.get("/wallet/skills").get_data(as_text=True)
    assert "Works well in a team" in skills and "Share your skills" in skills
    shared = city.client.post(
        "/wallet/shares", data={"csrf_token": _csrf(city.client, "/wallet/skills"), "kind": "skills", "label": "cv"}
    )
    assert shared.status_code == 303
    mine = city.client.get(shared.headers["Location"]).get_data(as_text=True)
    assert "your skills summary" in mine and "This link works" in mine
    url = re.search(r'id="share-url" class="share-url" value="([^"]+)"', mine).group(1)  # type: ignore[union-attr]
    public = city.client.get(url.removeprefix("https://wallet.test")).get_data(as_text=True)
    assert "Skills of Sam Rivera" in public and "Works well in a team" in public and "does not check them" in public
    assert "Links to your skills" in city.client.get("/wallet/skills").get_data(as_text=True)
    assert "Your skills summary" in city.client.get("/wallet/shares").get_data(as_text=True)


def test_a_record_signed_elsewhere_or_changed_says_so_and_each_badge_still_speaks_for_itself(
    city: City, sign_up, db, clock
) -> None:
    learner, ids = _learner(city, sign_up)
    account_id = uuid.UUID(learner.account_id)
    state = city.client.application.extensions["wallet"]

    def hold(record: dict[str, Any]) -> str:
        held = add_credential(
            db,
            account_id=account_id,
            raw=json.dumps(record).encode(),
            media_type="application/vc+ld+json",
            source="import",
            now=clock.now,
        )
        db.commit()
        return f"/wallet/badges/{held.id}"

    def record(secret_key: bytes) -> dict[str, Any]:
        return clr.build_record(
            db,
            account_id=account_id,
            credential_ids=[uuid.UUID(ids["guide"])],
            pathway_ids=[],
            base_url="https://wallet.test",
            secret_key=secret_key,
            now=clock.now,
        )

    elsewhere = city.client.get(hold(record(b"another wallet service's secret key"))).get_data(as_text=True)
    assert "Unknown signer: this record is validly signed, but by a signer we don&#39;t know, calling itself" in (
        elsewhere
    )
    assert "Made by Learner Wallet (this service)" not in elsewhere
    assert "Genuine: issued by City Museum to Sam Rivera" in elsewhere  # the badge inside is checked on its own

    changed = record(state.secrets.secret_key)
    changed["credentialSubject"]["verifiableCredential"][0]["credentialSubject"]["achievement"]["name"] = "Director"
    page = city.client.get(hold(changed)).get_data(as_text=True)
    assert "Not genuine: this record was changed after it was made" in page
    assert "Genuine record" not in page and "Not genuine: its signature does not match its contents" in page
