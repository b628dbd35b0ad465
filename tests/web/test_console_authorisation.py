"""The console's authorisation matrix: every console page and form, tried by everyone.

The rule is the API's (tests/api/test_authorisation.py holds the API's matrix): members of an
organisation run its sessions, only its admins manage badges, members, awards and the issuer, only
operators create organisations, and outsiders learn nothing (404, as the API answers them). Every
refusal is a page that says why; an anonymous browser is sent to sign in. ``ROUTES`` must name every
``console_pages`` endpoint: a new page without a row fails ``test_every_console_route_is_in_the_matrix``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests.conftest import FakeClock
from tests.web.console_world import ConsoleWorld, make_world, start_session
from wallet.claims.codes import session_qr
from wallet.endorsements import services as endorsements
from wallet.models import ClaimSession
from wallet.pathways import services as pathways
from wallet.skills import formats
from wallet.skills import frameworks as skills

ROLES = ("anonymous", "learner", "outsider", "operator", "worker", "admin")
MEMBERS = frozenset({"worker", "admin"})
ADMINS = frozenset({"admin"})
SIGNED_IN = frozenset(ROLES) - {"anonymous"}
OPERATORS = frozenset({"operator"})


@dataclass
class Ids:
    slug: str
    session: str
    claim: str
    badge: str
    member: str
    award: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    method: str
    path: Callable[[Ids], str]
    allowed: frozenset[str]
    data: dict[str, Any] = field(default_factory=dict)


ROUTES: dict[str, Route] = {
    "console_pages.index": Route("GET", lambda i: "/console/?all=1", SIGNED_IN),
    "console_pages.first_password": Route("GET", lambda i: "/console/first-password", SIGNED_IN),
    "console_pages.organisation": Route("GET", lambda i: f"/console/orgs/{i.slug}", MEMBERS),
    "console_pages.new_session": Route("GET", lambda i: f"/console/orgs/{i.slug}/sessions/new", MEMBERS),
    "console_pages.live": Route("GET", lambda i: f"/console/sessions/{i.session}", MEMBERS),
    "console_pages.live_json": Route("GET", lambda i: f"/console/sessions/{i.session}/live.json", MEMBERS),
    "console_pages.change_state": Route(
        "POST", lambda i: f"/console/sessions/{i.session}/state", MEMBERS, {"action": "pause"}
    ),
    "console_pages.decide": Route(
        "POST", lambda i: f"/console/sessions/{i.session}/claims/{i.claim}", MEMBERS, {"decision": "revoke"}
    ),
    "console_pages.claims_csv": Route("GET", lambda i: f"/console/sessions/{i.session}/claims.csv", MEMBERS),
    "console_pages.open_display": Route("GET", lambda i: f"/console/sessions/{i.session}/display", MEMBERS),
    "console_pages.cards": Route("GET", lambda i: f"/console/sessions/{i.values['cards']}/cards.pdf", MEMBERS),
    "console_pages.new_badge": Route("GET", lambda i: f"/console/orgs/{i.slug}/badges/new", ADMINS),
    "console_pages.create_badge": Route(
        "POST",
        lambda i: f"/console/orgs/{i.slug}/badges/new",
        ADMINS,
        {"name": "Taken over", "description": "x", "criteria_narrative": "x"},
    ),
    "console_pages.edit_badge": Route("GET", lambda i: f"/console/orgs/{i.slug}/badges/{i.badge}", ADMINS),
    "console_pages.update_badge": Route(
        "POST",
        lambda i: f"/console/orgs/{i.slug}/badges/{i.badge}",
        ADMINS,
        {"name": "Renamed", "description": "x", "criteria_narrative": "x"},
    ),
    "console_pages.archive_badge": Route("POST", lambda i: f"/console/orgs/{i.slug}/badges/{i.badge}/archive", ADMINS),
    "console_pages.members": Route("GET", lambda i: f"/console/orgs/{i.slug}/members", ADMINS),
    "console_pages.invite": Route(
        "POST", lambda i: f"/console/orgs/{i.slug}/members/invite", ADMINS, {"username": "new-worker"}
    ),
    "console_pages.change_role": Route(
        "POST", lambda i: f"/console/orgs/{i.slug}/members/{i.member}/role", ADMINS, {"role": "admin"}
    ),
    "console_pages.remove_member": Route("POST", lambda i: f"/console/orgs/{i.slug}/members/{i.member}/remove", ADMINS),
    "console_pages.awards": Route("GET", lambda i: f"/console/orgs/{i.slug}/awards", ADMINS),
    "console_pages.award": Route(
        "POST",
        lambda i: f"/console/orgs/{i.slug}/awards",
        ADMINS,
        {"username": "lee-learner", "achievement": "{badge}"},
    ),
    # A one-person code is a single-use session of one card: the API lets any member open one.
    "console_pages.one_person_code": Route(
        "POST", lambda i: f"/console/orgs/{i.slug}/awards/code", MEMBERS, {"achievement": "{badge}"}
    ),
    "console_pages.revoke_award": Route("POST", lambda i: f"/console/orgs/{i.slug}/awards/{i.award}/revoke", ADMINS),
    "console_pages.issuer": Route("GET", lambda i: f"/console/orgs/{i.slug}/issuer", ADMINS),
    "console_pages.update_issuer": Route(
        "POST", lambda i: f"/console/orgs/{i.slug}/issuer", ADMINS, {"name": "Taken over", "time_zone": "UTC"}
    ),
    "console_pages.rotate_key": Route("POST", lambda i: f"/console/orgs/{i.slug}/issuer/rotate-key", ADMINS),
    "console_pages.reset_code": Route("GET", lambda i: f"/console/orgs/{i.slug}/reset-code", MEMBERS),
    # Issuing is allowed to members; for whom is recovery.check_may_issue (lee has a badge from here).
    "console_pages.issue_reset_code": Route(
        "POST", lambda i: f"/console/orgs/{i.slug}/reset-code", MEMBERS, {"username": "lee-learner"}
    ),
    "console_pages.align_badge": Route(
        "POST", lambda i: f"/console/orgs/{i.slug}/badges/{i.badge}/alignments", ADMINS, {"skill": "{item}"}
    ),
    "console_pages.unalign_badge": Route(
        "POST", lambda i: f"/console/orgs/{i.slug}/badges/{i.badge}/alignments/remove", ADMINS, {"target_url": "{item}"}
    ),
    "console_pages.pathways_list": Route("GET", lambda i: f"/console/orgs/{i.slug}/pathways", ADMINS),
    "console_pages.new_pathway": Route("GET", lambda i: f"/console/orgs/{i.slug}/pathways/new", ADMINS),
    "console_pages.create_pathway": Route(
        "POST",
        lambda i: f"/console/orgs/{i.slug}/pathways/new",
        ADMINS,
        {"name": "Taken over", "step_kind": "badge", "step_badge": "{badge}"},
    ),
    "console_pages.pathway": Route("GET", lambda i: f"/console/orgs/{i.slug}/pathways/{i.values['pathway']}", ADMINS),
    "console_pages.update_pathway": Route(
        "POST", lambda i: f"/console/orgs/{i.slug}/pathways/{i.values['pathway']}", ADMINS, {"name": "Renamed"}
    ),
    "console_pages.add_step": Route(
        "POST",
        lambda i: f"/console/orgs/{i.slug}/pathways/{i.values['pathway']}/steps",
        ADMINS,
        {"step_kind": "badge", "step_badge": "{badge}"},
    ),
    "console_pages.remove_step": Route(
        "POST", lambda i: f"/console/orgs/{i.slug}/pathways/{i.values['pathway']}/steps/0/remove", ADMINS
    ),
    "console_pages.move_step": Route(
        "POST",
        lambda i: f"/console/orgs/{i.slug}/pathways/{i.values['pathway']}/steps/0/move",
        ADMINS,
        {"direction": "down"},
    ),
    "console_pages.archive_pathway": Route(
        "POST", lambda i: f"/console/orgs/{i.slug}/pathways/{i.values['pathway']}/archive", ADMINS
    ),
    "console_pages.frameworks": Route("GET", lambda i: f"/console/orgs/{i.slug}/frameworks", ADMINS),
    "console_pages.import_framework": Route(
        "POST", lambda i: f"/console/orgs/{i.slug}/frameworks", ADMINS, {"slug": "taken-over", "text": "statement\nX"}
    ),
    "console_pages.operator_frameworks": Route("GET", lambda i: "/console/operator/frameworks", OPERATORS),
    "console_pages.operator_import_framework": Route(
        "POST", lambda i: "/console/operator/frameworks", OPERATORS, {"slug": "taken-over", "text": "statement\nX"}
    ),
    "console_pages.requestable": Route("GET", lambda i: f"/console/orgs/{i.slug}/badges/{i.badge}/requestable", ADMINS),
    "console_pages.save_requestable": Route(
        "POST",
        lambda i: f"/console/orgs/{i.slug}/badges/{i.badge}/requestable",
        ADMINS,
        {"guidance": "Taken over", "evidence": "narrative", "reviewer_role": "youth_worker"},
    ),
    "console_pages.stop_requestable": Route(
        "POST", lambda i: f"/console/orgs/{i.slug}/badges/{i.badge}/requestable/stop", ADMINS
    ),
    # Listing what the organisation endorsed is for members, as GET …/endorsements; giving is for admins.
    "console_pages.endorsements_given": Route("GET", lambda i: f"/console/orgs/{i.slug}/endorsements", MEMBERS),
    "console_pages.new_endorsement": Route("GET", lambda i: f"/console/orgs/{i.slug}/endorsements/new", ADMINS),
    "console_pages.endorse": Route(
        "POST",
        lambda i: f"/console/orgs/{i.slug}/endorsements/new",
        ADMINS,
        {"issuer": "museum-east", "comment": "Taken over"},
    ),
    "console_pages.withdraw_endorsement": Route(
        "POST", lambda i: f"/console/orgs/{i.slug}/endorsements/{i.values['endorsement']}/withdraw", ADMINS
    ),
    "console_pages.operator": Route("GET", lambda i: "/console/operator", OPERATORS),
    "console_pages.create_organisation": Route(
        "POST", lambda i: "/console/operator", OPERATORS, {"slug": "new-org", "name": "New", "admin": "new-admin"}
    ),
}


def _ids(w: ConsoleWorld) -> Ids:
    from wallet.issuing import credentials

    session_id = start_session(w.worker, w.slug, w.achievement_id, pin_on="")
    cards_id = start_session(w.worker, w.slug, w.achievement_id, mode="single_use", codes="3")
    state = w.app.extensions["wallet"]
    session = w.db.get(ClaimSession, uuid.UUID(session_id))
    assert session is not None
    token = session_qr(session, config=state.claims, now=w.clock.now).token
    learner = w.learner
    landing = learner.get(f"/c/{token}")
    assert landing.status_code == 200
    claimed = learner.post(f"/c/{token}/claim")
    assert claimed.status_code == 200, claimed.get_data(as_text=True)[:500]
    from wallet.models import Claim

    claim = w.db.query(Claim).filter(Claim.session_id == session.id).one()
    issued = credentials.award(
        w.db,
        slug=w.slug,
        actor=uuid.UUID(w.org["admin"].account_id),
        achievement_id=uuid.UUID(w.achievement_id),
        username="lee-learner",
        kek=state.secrets.key_encryption_key,
        base_url=state.settings.base_url,
        now=w.clock.now,
    )
    item = _framework_item(w)
    pathway = pathways.create_pathway(
        w.db,
        slug=w.slug,
        actor=uuid.UUID(w.org["admin"].account_id),
        name="Matrix pathway",
        steps=[
            {"kind": "badge", "achievement": w.achievement_id},
            {"kind": "skill", "framework": "matrix", "item": "i1"},
        ],
        base_url=state.settings.base_url,
        now=w.clock.now,
    )
    endorsement = endorsements.endorse(
        w.db,
        slug=w.slug,
        actor=uuid.UUID(w.org["admin"].account_id),
        issuer_slug="museum-east",
        comment="Partners.",
        kek=state.secrets.key_encryption_key,
        base_url=state.settings.base_url,
        now=w.clock.now,
    )
    w.db.commit()
    return Ids(
        slug=w.slug,
        session=session_id,
        claim=str(claim.id),
        badge=w.achievement_id,
        member=w.org["worker"].account_id,
        award=str(issued.id),
        values={"cards": cards_id, "pathway": str(pathway.id), "item": item, "endorsement": str(endorsement.id)},
    )


def _framework_item(w: ConsoleWorld) -> str:
    """A framework (imported the operator's way) and the address of one of its items."""
    parsed = formats.parse_csv(b"identifier,statement\ni1,Listens\n", title="Matrix", identifier="csv:matrix")
    skills.import_framework(w.db, slug="matrix", parsed=parsed, actor=None, organisation_slug=None, now=w.clock.now)
    return skills.item_url(w.app.extensions["wallet"].settings.base_url, "matrix", 1, "i1")


@pytest.fixture
def world(app: Flask, db: Session, clock: FakeClock, sign_up: Any, organisation: Any) -> ConsoleWorld:
    return make_world(app, db, clock, sign_up, organisation)


def test_every_console_route_is_in_the_matrix(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("console_pages.")}
    assert endpoints == set(ROUTES), {
        "missing": sorted(endpoints - set(ROUTES)),
        "stale": sorted(set(ROUTES) - endpoints),
    }


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_each_role_is_let_in_or_refused_as_the_api_would(world: ConsoleWorld, endpoint: str) -> None:
    route = ROUTES[endpoint]
    ids = _ids(world)
    path = route.path(ids)
    data = {
        key: value.replace("{badge}", ids.badge).replace("{item}", ids.values["item"])
        for key, value in route.data.items()
    }
    for role in ROLES:  # refused roles first: a refusal must change nothing the allowed ones then use
        who = world.by_role()[role]
        response = who.post(path, data) if route.method == "POST" else who.get(path)
        story = (endpoint, role, response.status_code)
        if role == "anonymous":
            assert response.status_code == 303, story
            assert response.headers["Location"].startswith("/login?next="), story
        elif role in route.allowed:
            assert response.status_code in (200, 303, 409, 422), story
            if response.status_code == 303:
                assert not response.headers["Location"].startswith("/login"), story
        else:
            expected = 404 if (route.allowed & MEMBERS and role in ("learner", "outsider", "operator")) else 403
            assert response.status_code == expected, story
            assert response.mimetype == "text/html", story
            page = response.get_data(as_text=True)
            assert 'role="alert"' in page and "data-code=" in page, story
            if expected == 403:
                assert "admin" in page or "operator" in page or "people who run this service" in page, story


def test_a_youth_worker_is_told_why_an_admin_page_is_refused(world: ConsoleWorld) -> None:
    page = world.worker.get(f"/console/orgs/{world.slug}/members")
    assert page.status_code == 403
    assert "This needs the admin role." in page.get_data(as_text=True)


def test_an_outsider_learns_nothing_about_another_organisation(world: ConsoleWorld) -> None:
    known = world.outsider.get(f"/console/orgs/{world.slug}")
    unknown = world.outsider.get("/console/orgs/no-such-org")
    assert known.status_code == unknown.status_code == 404
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)


def test_every_console_form_carries_the_csrf_token_and_a_forged_one_is_refused(world: ConsoleWorld) -> None:
    import re

    ids = _ids(world)
    pages = [
        world.admin.get(route.path(ids)).get_data(as_text=True)
        for route in ROUTES.values()
        if route.method == "GET"
        and "admin" in route.allowed
        and not route.path(ids).endswith((".csv", ".json"))
        and "display" not in route.path(ids)
        and "cards" not in route.path(ids)
    ]
    pages.append(world.operator.get("/console/operator").get_data(as_text=True))
    forms = [form for page in pages for form in re.findall(r"<form\b[^>]*>.*?</form>", page, flags=re.S | re.I)]
    assert len(forms) >= 10
    assert [form[:120] for form in forms if 'name="csrf_token"' not in form] == []
    for endpoint, route in ROUTES.items():
        if route.method != "POST":
            continue
        forged = world.admin.client.post(route.path(ids), data={"csrf_token": "forged", **route.data})
        assert forged.status_code == 400, endpoint
