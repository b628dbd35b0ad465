"""Recognition in the console (#16), as an admin meets it: let learners ask for a badge, change what is
asked, stop; endorse another organisation's badge or the organisation, see it, withdraw it. What each
form makes is exactly what the API makes; every bad input is a page that says why and keeps what was
typed; the learner's badge page shows each endorsement only as far as it proves anything."""

from __future__ import annotations

import json
import re
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests.claims.conftest import make_achievement
from tests.conftest import FakeClock
from tests.web.console_world import PASSWORD, Browser, ConsoleWorld, browser, make_world
from wallet.endorsements import proven
from wallet.holding.trust import IssuerTrust
from wallet.models import Account, Endorsement, RequestableAchievement


@pytest.fixture
def world(app: Flask, db: Session, clock: FakeClock, sign_up: Any, organisation: Any) -> ConsoleWorld:
    return make_world(app, db, clock, sign_up, organisation)


@pytest.fixture
def museum(world: ConsoleWorld) -> dict[str, Any]:
    """Museum East (the outsider's organisation): its admin signed in, and one of its badges."""
    admin = world.db.query(Account).filter(Account.username == "museum-east-admin").one()
    org = {"slug": "museum-east", "admin": SimpleNamespace(account_id=str(admin.id))}
    badge = make_achievement(world.db, org, now=world.clock.now, name="Young Curator")
    return {"admin": browser(world.app, "museum-east-admin"), "badge": badge}


def _requestable_path(w: ConsoleWorld) -> str:
    return f"/console/orgs/{w.slug}/badges/{w.achievement_id}/requestable"


def _policy(w: ConsoleWorld) -> RequestableAchievement | None:
    w.db.expire_all()
    return w.db.get(RequestableAchievement, uuid.UUID(w.achievement_id))


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


# --- requestable badges -----------------------------------------------------------------------------


def test_an_admin_lets_learners_ask_for_a_badge_and_it_is_what_the_api_makes(world: ConsoleWorld, client: Any) -> None:
    page = world.admin.get(_requestable_path(world))
    assert page.status_code == 200 and "Learners cannot ask for this badge yet" in _text(page)
    assert 'value="narrative" checked' in _text(page)  # the default, as the API's

    saved = world.admin.post(
        _requestable_path(world),
        {"guidance": "A photo of a joint you soldered.", "evidence": ["narrative", "files"], "reviewer_role": "admin"},
    )

    assert saved.status_code == 303
    after = _text(world.admin.get(saved.headers["Location"]))
    assert "Learners can ask for this badge now" in after and "Stop taking requests" in after
    listed = client.get("/api/v1/requestable-badges", headers=world.org["admin"].headers).json
    api = client.put(
        f"/api/v1/organisations/{world.slug}/achievements/{world.achievement_id}/requestable",
        headers=world.org["admin"].headers,
        json={
            "guidance": "A photo of a joint you soldered.",
            "evidence_wanted": ["narrative", "files"],
            "reviewer_role": "admin",
        },
    ).json
    assert listed == [api]
    assert api["evidence_wanted"] == ["narrative", "files"] and api["reviewer_role"] == "admin"

    choose = _text(world.learner.get("/wallet/requests/new"))
    assert "Soldering Basics" in choose
    form = _text(world.learner.get(f"/wallet/requests/new?achievement={world.achievement_id}"))
    assert "A photo of a joint you soldered." in form


def test_an_admin_changes_what_is_asked_then_stops_requests(world: ConsoleWorld) -> None:
    path = _requestable_path(world)
    world.admin.post(path, {"guidance": "First", "evidence": ["narrative"], "reviewer_role": "youth_worker"})
    changed = world.admin.post(
        path, {"guidance": "Second", "evidence": ["witness", "links", "narrative"], "reviewer_role": "youth_worker"}
    )
    assert changed.status_code == 303
    policy = _policy(world)
    assert policy is not None and policy.guidance == "Second"
    assert policy.evidence_wanted == ["narrative", "links", "witness"]  # in the API's order
    page = _text(world.admin.get(path))
    assert ">Second</textarea>" in page and 'value="links" checked' in page and 'value="files" >' in page

    stopped = world.admin.post(f"{path}/stop")

    assert stopped.status_code == 303 and _policy(world) is None
    assert "Learners cannot ask for this badge yet" in _text(world.admin.get(stopped.headers["Location"]))
    assert "Soldering Basics" not in _text(world.learner.get("/wallet/requests/new"))


@pytest.mark.parametrize(
    ("form", "status", "says"),
    [
        ({"guidance": "g" * 4001, "evidence": ["narrative"], "reviewer_role": "admin"}, 422, "under 4000"),
        ({"guidance": "Keep me", "evidence": ["telepathy"], "reviewer_role": "admin"}, 422, "at least one kind"),
        ({"guidance": "Keep me", "reviewer_role": "admin"}, 422, "at least one kind"),
        ({"guidance": "Keep me", "evidence": ["narrative"], "reviewer_role": "boss"}, 422, "Choose who reviews"),
        ({"guidance": "Keep me", "evidence": ["narrative"]}, 422, "Choose who reviews"),
        ({"guidance": "Keep\x00 me", "evidence": ["narrative"], "reviewer_role": "admin"}, 400, "NUL"),
        ({"guidance": "Keep me", "evidence": ["narr\x00ative"], "reviewer_role": "admin"}, 400, "NUL"),
    ],
)
def test_a_bad_requestable_form_says_why_keeps_what_was_typed_and_saves_nothing(
    world: ConsoleWorld, form: dict[str, Any], status: int, says: str
) -> None:
    answer = world.admin.post(_requestable_path(world), form)

    assert answer.status_code == status, _text(answer)[:800]
    page = _text(answer)
    assert 'role="alert"' in page and says in page
    assert 'name="guidance"' in page and (">Keep me</textarea>" in page or "g" * 4001 in page)
    assert _policy(world) is None


def test_an_archived_badge_cannot_be_made_requestable(world: ConsoleWorld) -> None:
    assert world.admin.post(f"/console/orgs/{world.slug}/badges/{world.achievement_id}/archive").status_code == 303
    answer = world.admin.post(
        _requestable_path(world), {"guidance": "x", "evidence": ["narrative"], "reviewer_role": "admin"}
    )
    assert answer.status_code == 409 and "archived" in _text(answer) and _policy(world) is None


def test_who_may_set_requests_is_the_apis_rule(world: ConsoleWorld, museum: dict[str, Any]) -> None:
    form = {"guidance": "x", "evidence": ["narrative"], "reviewer_role": "youth_worker"}
    path = _requestable_path(world)
    refused = world.worker.post(path, form)
    assert refused.status_code == 403 and "This needs the admin role." in _text(refused)
    for who in (world.learner, world.outsider, museum["admin"], world.operator):
        assert who.post(path, form).status_code == 404
        assert who.post(f"{path}/stop").status_code == 404
    # Another organisation's admin naming this badge under their own organisation: no such badge there.
    theirs = f"/console/orgs/museum-east/badges/{world.achievement_id}/requestable"
    assert museum["admin"].get(theirs).status_code == 404
    assert museum["admin"].post(theirs, form).status_code == 404
    anonymous = world.anonymous.post(path, form)
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/login?next=")
    assert world.admin.client.post(path, data=form).status_code == 400  # no CSRF token
    assert world.admin.client.post(path, data={**form, "csrf_token": "forged"}).status_code == 400
    assert _policy(world) is None


# --- endorsements ------------------------------------------------------------------------------------


def _endorse(admin: Browser, slug: str, **fields: str) -> Any:
    return admin.post(f"/console/orgs/{slug}/endorsements/new", fields)


def test_an_admin_endorses_another_organisations_badge_it_verifies_and_is_what_the_api_lists(
    world: ConsoleWorld, museum: dict[str, Any], client: Any, sign_up: Any
) -> None:
    choose = _text(world.admin.get(f"/console/orgs/{world.slug}/endorsements/new"))
    assert "Museum East" in choose and "Young Curator" in choose and "Soldering Basics" not in choose
    form_path = re.search(r'href="([^"]+achievement=[^"]+)"', choose)[1].replace("&amp;", "&")
    form = _text(world.admin.get(form_path))
    assert "Endorse Young Curator" in form and 'name="achievement"' in form

    made = _endorse(world.admin, world.slug, achievement=museum["badge"], comment="We accept this for credit.")

    assert made.status_code == 303
    listing = _text(world.admin.get(made.headers["Location"]))
    assert "now endorses Young Curator" in listing and "We accept this for credit." in listing
    api = client.get(f"/api/v1/organisations/{world.slug}/endorsements", headers=world.org["admin"].headers).json
    assert len(api) == 1 and api[0]["subject_kind"] == "achievement" and api[0]["subject_id"] == museum["badge"]
    credential = api[0]["credential"]
    assert credential["issuer"]["name"] == "Makerspace North"
    assert credential["credentialSubject"]["endorsementComment"] == "We accept this for credit."
    public = client.get(api[0]["url"].removeprefix("https://wallet.test"))
    assert public.status_code == 200 and json.loads(public.data) == credential
    report = client.post(
        "/api/v1/verify",
        headers={**sign_up().headers, "Content-Type": "application/json"},
        data=json.dumps(credential).encode(),
    ).json
    assert report["outcome"] == "valid", report
    assert report["issuer_trust"]["known"] and report["issuer_trust"]["name"] == "Makerspace North"
    assert api[0]["url"] in listing


def test_an_admin_endorses_an_organisation_then_withdraws_it(
    world: ConsoleWorld, museum: dict[str, Any], client: Any
) -> None:
    made = _endorse(world.admin, world.slug, issuer="museum-east", comment="A fine museum.")
    assert made.status_code == 303
    assert "A fine museum." in _text(client.get("/issuers/museum-east/about"))
    endorsement = world.db.query(Endorsement).one()
    url = f"/endorsements/{endorsement.id}"
    assert client.get(url).status_code == 200

    withdrawn = world.admin.post(f"/console/orgs/{world.slug}/endorsements/{endorsement.id}/withdraw")

    assert withdrawn.status_code == 303
    page = _text(world.admin.get(withdrawn.headers["Location"]))
    assert "withdrawn" in page and "A fine museum." in page
    assert client.get(url).status_code == 404
    assert "A fine museum." not in _text(client.get("/issuers/museum-east/about"))


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"comment": ""}, 422, "Say why you endorse it"),
        ({"comment": "   "}, 422, "Say why you endorse it"),
        ({"comment": "w" * 2001}, 422, "under 2000"),
        ({"comment": "Good\x00 work"}, 400, "NUL"),
    ],
)
def test_a_bad_endorsement_says_why_keeps_what_was_typed_and_signs_nothing(
    world: ConsoleWorld, museum: dict[str, Any], fields: dict[str, str], status: int, says: str
) -> None:
    answer = _endorse(world.admin, world.slug, issuer="museum-east", **fields)

    assert answer.status_code == status, _text(answer)[:800]
    page = _text(answer)
    assert 'role="alert"' in page and says in page and 'name="comment"' in page
    kept = fields["comment"].replace("\x00", "")
    assert f">{kept}</textarea>" in page
    assert world.db.query(Endorsement).count() == 0


def test_what_cannot_be_endorsed_is_refused_with_a_page(world: ConsoleWorld, museum: dict[str, Any]) -> None:
    new = f"/console/orgs/{world.slug}/endorsements/new"
    own = world.admin.get(f"{new}?achievement={world.achievement_id}")
    assert own.status_code == 422 and "cannot endorse itself or its own badges" in _text(own)
    assert _endorse(world.admin, world.slug, issuer=world.slug, comment="Us!").status_code == 422
    assert _endorse(world.admin, world.slug, achievement=world.achievement_id, comment="Ours!").status_code == 422
    for query in (f"achievement={uuid.uuid4()}", "achievement=not-a-badge", "issuer=no-such-org", "issuer=%2E%2E"):
        answer = world.admin.get(f"{new}?{query}")
        assert answer.status_code == 404 and 'role="alert"' in _text(answer), query
    assert _endorse(world.admin, world.slug, achievement=str(uuid.uuid4()), comment="x").status_code == 404
    both = _endorse(world.admin, world.slug, achievement=museum["badge"], issuer="museum-east", comment="x")
    assert both.status_code == 422
    assert _endorse(world.admin, world.slug, comment="x").status_code == 422
    gone = world.admin.post(f"/console/orgs/{world.slug}/endorsements/{uuid.uuid4()}/withdraw")
    assert gone.status_code == 404 and "No such endorsement" in _text(gone)
    assert world.db.query(Endorsement).count() == 0


def test_who_may_endorse_is_the_apis_rule(world: ConsoleWorld, museum: dict[str, Any]) -> None:
    body = {"issuer": "museum-east", "comment": "Good."}
    listing = world.worker.get(f"/console/orgs/{world.slug}/endorsements")
    assert listing.status_code == 200 and "Only admins give or withdraw endorsements." in _text(listing)
    assert "<form" not in _text(listing).split("</header>", 1)[1]
    for path in (
        f"/console/orgs/{world.slug}/endorsements/new",
        f"/console/orgs/{world.slug}/endorsements/new?issuer=museum-east",
    ):
        assert world.worker.get(path).status_code == 403
    refused = _endorse(world.worker, world.slug, **body)
    assert refused.status_code == 403 and "This needs the admin role." in _text(refused)
    for who in (world.learner, world.outsider, world.operator):
        assert _endorse(who, world.slug, **body).status_code == 404
        assert who.get(f"/console/orgs/{world.slug}/endorsements").status_code == 404
        # The same page as for an organisation that does not exist: nothing learnt about this one.
        known = who.get(f"/console/orgs/{world.slug}/endorsements/new?issuer=museum-east")
        unknown = who.get("/console/orgs/no-such-org/endorsements/new?issuer=museum-east")
        assert known.status_code == unknown.status_code == 404 and _text(known) == _text(unknown)
    made = _endorse(museum["admin"], "museum-east", issuer=world.slug, comment="Partners.")
    assert made.status_code == 303
    theirs = world.db.query(Endorsement).one()
    # Makerspace's admin cannot withdraw what Museum East gave, under either organisation's name.
    assert world.admin.post(f"/console/orgs/{world.slug}/endorsements/{theirs.id}/withdraw").status_code == 404
    assert world.admin.post(f"/console/orgs/museum-east/endorsements/{theirs.id}/withdraw").status_code == 404
    assert world.worker.post(f"/console/orgs/{world.slug}/endorsements/{theirs.id}/withdraw").status_code == 403
    anonymous = _endorse(world.anonymous, world.slug, **body)
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/login?next=")
    no_token = world.admin.client.post(f"/console/orgs/{world.slug}/endorsements/new", data=body)
    assert no_token.status_code == 400
    world.db.expire_all()
    assert world.db.query(Endorsement).count() == 1 and theirs.withdrawn_at is None


def test_the_organisation_page_links_endorsements_and_badge_requests(world: ConsoleWorld) -> None:
    home = _text(world.worker.get(f"/console/orgs/{world.slug}"))
    assert f'href="/console/orgs/{world.slug}/endorsements"' in home
    assert f'href="/console/orgs/{world.slug}/requests"' in home
    badge = _text(world.admin.get(f"/console/orgs/{world.slug}/badges/{world.achievement_id}"))
    assert f'href="{_requestable_path(world)}"' in badge


# --- the learner's badge page ---------------------------------------------------------------------------


def _award(client: Any, world: ConsoleWorld) -> str:
    awarded = client.post(
        f"/api/v1/organisations/{world.slug}/achievements/{world.achievement_id}/awards",
        headers=world.org["admin"].headers,
        json={"username": "lee-learner"},
    )
    assert awarded.status_code == 201, awarded.json
    held = world.learner.get("/wallet")
    match = re.search(r'href="/wallet/badges/([0-9a-f-]{36})"', _text(held))
    assert match, _text(held)[:2000]
    return match.group(1)


def _learner_headers(client: Any) -> dict[str, str]:
    signed = client.post(
        "/api/v1/auth/login", json={"username": "lee-learner", "password": PASSWORD, "device": {"name": "phone"}}
    )
    assert signed.status_code == 200, signed.json
    return {"Authorization": f"Bearer {signed.json['access_token']}"}


def test_the_learners_badge_page_shows_each_endorsement_as_far_as_it_proves_anything(
    world: ConsoleWorld, museum: dict[str, Any], client: Any
) -> None:
    badge_id = _award(client, world)
    page = _text(world.learner.get(f"/wallet/badges/{badge_id}"))
    assert "Endorsed by" not in page
    _endorse(museum["admin"], "museum-east", achievement=world.achievement_id, comment="Counts for credit.")
    _endorse(museum["admin"], "museum-east", issuer=world.slug, comment="A fine makerspace.")
    world.app.extensions["wallet"].sharing.reports.clear()

    page = _text(world.learner.get(f"/wallet/badges/{badge_id}"))

    assert "Endorsed by" in page
    assert "Checked: Museum East signed this endorsement of this badge." in page
    assert "Checked: Museum East signed this endorsement of the organisation that issued it." in page
    assert "Counts for credit." in page and "A fine makerspace." in page
    assert 'href="/issuers/museum-east/about"' in page
    share = client.post("/api/v1/shares", headers=_learner_headers(client), json={"credential_id": badge_id})
    assert share.status_code == 201, share.json
    share_path = share.json["url"].removeprefix("https://wallet.test")
    shared = _text(client.get(share_path))
    assert "Checked: Museum East signed this endorsement of this badge." in shared and "Counts for credit." in shared

    # A stored endorsement altered after it was signed proves nothing: its words are not shown.
    altered = world.db.query(Endorsement).filter(Endorsement.comment == "Counts for credit.").one()
    document = json.loads(altered.credential_json)
    document["credentialSubject"]["endorsementComment"] = "Worth a degree."
    altered.credential_json = json.dumps(document)
    world.db.commit()
    page = _text(world.learner.get(f"/wallet/badges/{badge_id}"))
    assert "Not valid: this endorsement does not pass its checks." in page
    assert "Worth a degree." not in page and "A fine makerspace." in page
    shared = _text(client.get(share_path))
    assert "Not valid: this endorsement does not pass its checks." in shared and "Worth a degree." not in shared

    withdrawn = world.db.query(Endorsement).filter(Endorsement.comment == "A fine makerspace.").one()
    assert museum["admin"].post(f"/console/orgs/museum-east/endorsements/{withdrawn.id}/withdraw").status_code == 303
    assert "A fine makerspace." not in _text(world.learner.get(f"/wallet/badges/{badge_id}"))


def test_endorsements_are_not_linked_to_a_badge_not_shown_to_come_from_the_achievements_issuer(
    world: ConsoleWorld, museum: dict[str, Any]
) -> None:
    _endorse(museum["admin"], "museum-east", achievement=world.achievement_id, comment="Counts for credit.")
    state = world.app.extensions["wallet"]
    url = f"{state.settings.base_url}/achievements/{world.achievement_id}"
    for trust in (
        IssuerTrust("unknown", claimed_name="Makerspace North", issuer_id="did:key:z6Mkforged"),
        IssuerTrust("unconfirmed", claimed_name="Makerspace North", issuer_id=None),
        IssuerTrust(
            "organisation",
            claimed_name="Museum East",
            issuer_id=None,
            name="Museum East",
            organisation_slug="museum-east",
        ),
    ):
        shown = proven.for_badge(
            world.db,
            achievement_id_url=url,
            badge_trust=trust,
            directory=None,  # type: ignore[arg-type]  (never consulted: nothing is shown)
            cache=state.sharing.reports,
            base_url=state.settings.base_url,
            verify=lambda raw: {"outcome": "valid"},
            now=world.clock.now,
        )
        assert shown == [], trust.kind
