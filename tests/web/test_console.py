"""The console as its users meet it: a youth worker runs a session from sign-in to CSV, an admin
onboards a youth worker whose one-time password works once, an operator creates an organisation."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from tests.conftest import FakeClock
from tests.web.console_world import ConsoleWorld, browser, csrf_of, make_world, start_session
from wallet.claims.codes import session_qr
from wallet.models import Account, ClaimSession, SessionMode, SessionState


@pytest.fixture
def world(app: Flask, db: Session, clock: FakeClock, sign_up: Any, organisation: Any) -> ConsoleWorld:
    return make_world(app, db, clock, sign_up, organisation)


def _session(w: ConsoleWorld, session_id: str) -> ClaimSession:
    w.db.expire_all()
    session = w.db.get(ClaimSession, uuid.UUID(session_id))
    assert session is not None
    return session


def _claim_as(w: ConsoleWorld, learner: Any, session_id: str, **form: str) -> Any:
    token = session_qr(_session(w, session_id), config=w.app.extensions["wallet"].claims, now=w.clock.now).token
    assert learner.get(f"/c/{token}").status_code == 200
    return learner.post(f"/c/{token}/claim", form)


def test_the_session_form_defaults_to_now_for_two_hours_with_a_pin(world: ConsoleWorld) -> None:
    page = world.worker.get(f"/console/orgs/{world.slug}/sessions/new").get_data(as_text=True)
    assert 'value="120" selected' in page and 'name="pin_on" value="on" checked' in page
    assert "Times are in UTC" in page
    session = _session(world, start_session(world.worker, world.slug, world.achievement_id))
    assert session.starts_at == world.clock.now
    assert session.ends_at == world.clock.now + dt.timedelta(hours=2)
    assert session.pin_hash is not None and session.mode is SessionMode.SHARED and session.cap == 30
    assert session.title == "Soldering Basics"  # the badge's name when no title is given


def test_times_are_read_in_the_organisations_time_zone(world: ConsoleWorld) -> None:
    saved = world.admin.post(
        f"/console/orgs/{world.slug}/issuer", {"name": "Makerspace North", "time_zone": "Europe/Helsinki"}
    )
    assert saved.status_code == 303
    session_id = start_session(
        world.worker, world.slug, world.achievement_id, start_date="2026-11-24", start_time="09:00", duration="60"
    )
    session = _session(world, session_id)
    assert session.starts_at == dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC)  # 09:00 in Helsinki (UTC+2)
    assert session.ends_at == dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)
    page = world.worker.get(f"/console/sessions/{session_id}").get_data(as_text=True)
    assert "Tue 24 Nov, 09:00" in page and "Europe/Helsinki" in page


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"achievement": "not-a-badge"}, "Pick the badge"),
        ({"achievement": str(uuid.uuid4())}, "No such achievement"),
        ({"duration": "7"}, "Pick how long"),
        ({"start_time": "25:99"}, "pickers"),
        ({"start_date": "2020-01-01", "start_time": "10:00"}, "in the past"),
        ({"cap": "lots"}, "whole number"),
        ({"cap": "0"}, "The cap is from 1"),
        ({"mode": "telepathy"}, "Pick how learners"),
        ({"title": "x" * 201}, "under 200"),
    ],
)
def test_bad_session_forms_are_refused_with_a_reason_and_nothing_opens(
    world: ConsoleWorld, fields: dict[str, str], says: str
) -> None:
    data = {"achievement": world.achievement_id, "mode": "shared", "cap": "30", "duration": "120", **fields}
    response = world.worker.post(f"/console/orgs/{world.slug}/sessions/new", data)
    assert response.status_code == 422
    assert says in response.get_data(as_text=True)
    assert world.db.query(ClaimSession).count() == 0


def test_a_youth_worker_runs_a_moderated_session_to_the_csv(world: ConsoleWorld, sign_up: Any) -> None:
    session_id = start_session(world.worker, world.slug, world.achievement_id, pin_on="", moderated="on")
    first = sign_up("ann-learner", display_name="Ann")
    second = sign_up("bo-learner", display_name='=HYPERLINK("http://evil")')
    assert _claim_as(world, browser(world.app, first), session_id).status_code == 202
    world.clock.advance(seconds=1)
    assert _claim_as(world, browser(world.app, second), session_id).status_code == 202

    status = world.worker.get(f"/console/sessions/{session_id}/live.json").json
    assert status["pending"] == 2 and [c["name"] for c in status["claims"]] == ["Ann", '=HYPERLINK("http://evil")']
    assert set(status["claims"][0]) == {"id", "name", "status"}  # display names only, never usernames

    ann, bo = (c["id"] for c in status["claims"])
    assert world.worker.post(f"/console/sessions/{session_id}/claims/{ann}", {"decision": "approve"}).status_code == 303
    assert world.worker.post(f"/console/sessions/{session_id}/claims/{bo}", {"decision": "reject"}).status_code == 303
    assert world.worker.post(f"/console/sessions/{session_id}/claims/{ann}", {"decision": "revoke"}).status_code == 303
    wrong = world.worker.post(f"/console/sessions/{session_id}/claims/{bo}", {"decision": "approve"})
    assert wrong.status_code == 409 and "rejected" in wrong.get_data(as_text=True)
    assert world.worker.post(f"/console/sessions/{session_id}/claims/{ann}", {"decision": "?"}).status_code == 422

    exported = world.worker.get(f"/console/sessions/{session_id}/claims.csv")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[0] == ["display_name", "claimed_at", "status"]
    assert [(r[0], r[2]) for r in rows[1:]] == [("Ann", "revoked"), ('\'=HYPERLINK("http://evil")', "rejected")]


def test_pause_resume_close_and_reopen_from_the_live_page(world: ConsoleWorld, sign_up: Any) -> None:
    session_id = start_session(world.worker, world.slug, world.achievement_id, pin_on="")
    state = f"/console/sessions/{session_id}/state"
    assert world.worker.post(state, {"action": "pause"}).status_code == 303
    assert _session(world, session_id).state is SessionState.PAUSED
    learner = browser(world.app, sign_up("cy-learner"))
    assert "paused" in _claim_as(world, learner, session_id).get_data(as_text=True)
    world.worker.post(state, {"action": "resume"})
    world.worker.post(state, {"action": "close"})
    assert _session(world, session_id).state is SessionState.CLOSED
    assert "closed" in world.worker.get(f"/console/sessions/{session_id}").get_data(as_text=True).lower()
    world.clock.advance(hours=3)
    assert world.worker.post(state, {"action": "reopen"}).status_code == 303
    reopened = _session(world, session_id)
    assert reopened.state is SessionState.OPEN and reopened.ends_at == world.clock.now + dt.timedelta(hours=2)
    assert world.worker.post(state, {"action": "explode"}).status_code == 422


def test_one_click_to_the_display_and_to_printable_cards(world: ConsoleWorld) -> None:
    shared = start_session(world.worker, world.slug, world.achievement_id, venue="Room 2")
    to_display = world.worker.get(f"/console/sessions/{shared}/display")
    assert to_display.status_code == 303 and f"/claims/{shared}/display?t=" in to_display.headers["Location"]
    path = to_display.headers["Location"].split("wallet.test", 1)[1]
    display = world.anonymous.get(path).get_data(as_text=True)
    assert "wallet.test/code" in display and "Room 2" in display and "Mon 23 Nov, 10:00" in display

    cards = start_session(world.worker, world.slug, world.achievement_id, mode="single_use", codes="3")
    pdf = world.worker.get(f"/console/sessions/{cards}/cards.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    no_cards = world.worker.get(f"/console/sessions/{shared}/cards.pdf")
    assert no_cards.status_code == 409


def test_an_admin_invites_a_youth_worker_whose_one_time_password_works_once(world: ConsoleWorld) -> None:
    invited = world.admin.post(
        f"/console/orgs/{world.slug}/members/invite", {"username": "jo-worker", "display_name": "Jo"}
    )
    page = invited.get_data(as_text=True)
    password = re.search(r'id="invited-password">([^<]+)<', page)
    assert invited.status_code == 200 and password, page[:3000]

    jo = browser(world.app)
    signed_in = jo.client.post(
        "/login?next=/console/", data={"csrf_token": jo.csrf, "username": "jo-worker", "password": password[1]}
    )
    assert signed_in.status_code == 303
    sent = jo.client.get("/console/")
    assert sent.status_code == 303 and sent.headers["Location"].startswith("/console/first-password")
    form = jo.client.get("/console/first-password?next=/console/").get_data(as_text=True)
    mismatch = jo.client.post(
        "/console/first-password",
        data={"csrf_token": csrf_of(form), "password": "a brand new secret", "password_again": "different"},
    )
    assert mismatch.status_code == 422
    chosen = jo.client.post(
        "/console/first-password?next=/console/",
        data={"csrf_token": csrf_of(form), "password": "a brand new secret", "password_again": "a brand new secret"},
    )
    assert chosen.status_code == 303
    assert jo.client.get("/console/").headers["Location"] == f"/console/orgs/{world.slug}"

    again = browser(world.app)
    reused = again.client.post(
        "/login", data={"csrf_token": again.csrf, "username": "jo-worker", "password": password[1]}
    )
    assert reused.status_code == 401  # the one-time password is spent
    assert browser(world.app, "jo-worker", password="a brand new secret").username == "jo-worker"


def test_a_one_time_password_used_once_by_the_api_only_lets_the_password_change(
    world: ConsoleWorld, client: Any
) -> None:
    invited = world.admin.post(f"/console/orgs/{world.slug}/members/invite", {"username": "kai-worker"})
    password = re.search(r'id="invited-password">([^<]+)<', invited.get_data(as_text=True))[1]  # type: ignore[index]
    login = {"username": "kai-worker", "password": password, "device": {"name": "phone", "platform": "android"}}
    tokens = client.post("/api/v1/auth/login", json=login).json
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    refused = client.get("/api/v1/me/organisations", headers=headers)
    assert refused.status_code == 403 and refused.json["code"] == "account.password_change_required"
    assert client.post("/api/v1/auth/login", json=login).status_code == 401  # spent
    changed = client.post(
        "/api/v1/me/password", headers=headers, json={"current_password": password, "new_password": "my own secret"}
    )
    assert changed.status_code == 204
    assert client.get("/api/v1/me/organisations", headers=headers).json[0]["slug"] == world.slug


def test_members_change_role_and_leave_but_the_last_admin_stays(world: ConsoleWorld) -> None:
    worker_id = world.org["worker"].account_id
    admin_id = world.org["admin"].account_id
    base = f"/console/orgs/{world.slug}/members"
    assert world.admin.post(f"{base}/{worker_id}/role", {"role": "admin"}).status_code == 303
    assert world.admin.post(f"{base}/{worker_id}/role", {"role": "youth_worker"}).status_code == 303
    last = world.admin.post(f"{base}/{admin_id}/role", {"role": "youth_worker"})
    assert last.status_code == 409 and "at least one admin" in last.get_data(as_text=True)
    assert world.admin.post(f"{base}/{worker_id}/role", {"role": "owner"}).status_code == 422
    assert world.admin.post(f"{base}/{worker_id}/remove").status_code == 303
    assert world.worker.get(f"/console/orgs/{world.slug}").status_code == 404
    taken = world.admin.post(f"{base}/invite", {"username": "lee-learner"})
    assert taken.status_code == 409 and "already have an account" in taken.get_data(as_text=True)
    added = world.admin.post(f"{base}/invite", {"username": "lee-learner", "existing": "yes"})
    assert added.status_code == 200 and "is invited" in added.get_data(as_text=True)
    assert world.worker.get(f"/console/orgs/{world.slug}").status_code == 404  # not staff until they say yes


def test_an_admin_creates_a_badge_awards_it_and_revokes_it(world: ConsoleWorld) -> None:
    from tests.browser.test_share_pages import _badge_png

    created = world.admin.post(
        f"/console/orgs/{world.slug}/badges/new",
        {
            "name": "Young Curator",
            "description": "Curated a display case.",
            "criteria_narrative": "Curate one case.",
            "tags": "curating, teamwork",
            "align-0-targetName": "Teamwork",
            "align-0-targetUrl": "https://esco.example/teamwork",
            "align-0-targetFramework": "ESCO",
            "image": (io.BytesIO(_badge_png()), "badge.png"),
        },
        content_type="multipart/form-data",
    )
    assert created.status_code == 303, created.get_data(as_text=True)[:2000]
    from wallet.models import Achievement

    badge = world.db.query(Achievement).filter(Achievement.name == "Young Curator").one()
    assert badge.tags == ["curating", "teamwork"] and badge.alignments[0]["targetFramework"] == "ESCO"
    assert badge.image_media_type == "image/png"
    bad_image = world.admin.post(
        f"/console/orgs/{world.slug}/badges/{badge.id}",
        {
            "name": "Young Curator",
            "description": "x",
            "criteria_narrative": "x",
            "image": (io.BytesIO(b"<html>not an image</html>"), "x.png"),
        },
        content_type="multipart/form-data",
    )
    assert bad_image.status_code == 422
    no_criteria = world.admin.post(f"/console/orgs/{world.slug}/badges/new", {"name": "X", "description": "Y"})
    assert no_criteria.status_code == 422 and "criteria" in no_criteria.get_data(as_text=True)

    awarded = world.admin.post(
        f"/console/orgs/{world.slug}/awards", {"username": "lee-learner", "achievement": str(badge.id)}
    )
    assert awarded.status_code == 200 and "is in lee-learner" in awarded.get_data(as_text=True)
    nobody = world.admin.post(
        f"/console/orgs/{world.slug}/awards", {"username": "nobody-here", "achievement": str(badge.id)}
    )
    assert nobody.status_code == 404 and "No account" in nobody.get_data(as_text=True)
    from wallet.models import IssuedCredential

    issued = world.db.query(IssuedCredential).one()
    revoked = world.admin.post(f"/console/orgs/{world.slug}/awards/{issued.id}/revoke", {"reason": "wrong learner"})
    assert revoked.status_code == 303
    world.db.expire_all()
    assert world.db.get(IssuedCredential, issued.id).revocation_reason == "wrong learner"
    listing = world.admin.get(f"/console/orgs/{world.slug}/awards").get_data(as_text=True)
    assert "revoked" in listing and "wrong learner" in listing


def test_a_one_person_code_is_a_single_card_to_hand_over(world: ConsoleWorld) -> None:
    made = world.admin.post(f"/console/orgs/{world.slug}/awards/code", {"achievement": world.achievement_id})
    assert made.status_code == 303
    page = world.admin.get(made.headers["Location"]).get_data(as_text=True)
    code = re.search(r'The code: <strong class="code">([A-Z0-9-]+)</strong>', page)
    assert code, page[:3000]
    typed = world.learner.post("/code", {"code": code[1]})
    assert typed.status_code == 303
    landing = typed.headers["Location"]
    assert world.learner.post(f"{landing}/claim").status_code == 200


def test_the_issuer_page_shows_the_key_history_and_makes_a_new_key(world: ConsoleWorld) -> None:
    world.admin.post(
        f"/console/orgs/{world.slug}/awards", {"username": "lee-learner", "achievement": world.achievement_id}
    )
    assert world.admin.post(f"/console/orgs/{world.slug}/issuer/rotate-key").status_code == 303
    page = world.admin.get(f"/console/orgs/{world.slug}/issuer").get_data(as_text=True)
    assert page.count("retired") == 1 and "in use" in page
    bad = world.admin.post(f"/console/orgs/{world.slug}/issuer", {"name": "M", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 422 and "time zone" in bad.get_data(as_text=True)


def test_an_operator_creates_an_organisation_and_its_first_admin(world: ConsoleWorld) -> None:
    made = world.operator.post(
        "/console/operator",
        {"slug": "youth-centre", "name": "Youth Centre", "admin": "yc-admin", "time_zone": "Europe/Lisbon"},
    )
    page = made.get_data(as_text=True)
    password = re.search(r'id="created-password">([^<]+)<', page)
    assert made.status_code == 200 and password
    admin = browser(world.app, "yc-admin", password=password[1])
    assert admin.get("/console/").headers["Location"].startswith("/console/first-password")
    taken = world.operator.post("/console/operator", {"slug": "youth-centre", "name": "Again", "admin": "x-admin"})
    assert taken.status_code == 409
    bad = world.operator.post("/console/operator", {"slug": "Bad Slug!", "name": "B", "admin": "b-admin"})
    assert bad.status_code == 422 and "lower-case" in bad.get_data(as_text=True)


def test_the_first_admin_made_by_the_operator_signs_in_once_with_the_printed_password(
    world: ConsoleWorld, db: Session
) -> None:
    from wallet.accounts.passwords import make_hasher
    from wallet.organisations import services as organisations

    _, password = organisations.create_with_first_admin(
        db,
        actor=None,
        slug="cli-org",
        name="CLI Org",
        admin_username="cli-admin",
        hasher=make_hasher("CHEAPEST"),
        now=world.clock.now,
    )
    db.commit()
    assert password and db.query(Account).filter(Account.username == "cli-admin").one().must_change_password
    browser(world.app, "cli-admin", password=password)
    again = browser(world.app)
    assert (
        again.client.post(
            "/login", data={"csrf_token": again.csrf, "username": "cli-admin", "password": password}
        ).status_code
        == 401
    )


def test_a_youth_worker_hands_a_learner_a_reset_code_the_learner_types_at_reset(world: ConsoleWorld) -> None:
    refused = world.worker.post(f"/console/orgs/{world.slug}/reset-code", {"username": "lee-learner"})
    assert refused.status_code == 403  # lee has no badge from here yet: the worker never met them
    session_id = start_session(world.worker, world.slug, world.achievement_id, pin_on="")
    assert _claim_as(world, world.learner, session_id).status_code == 200
    issued = world.worker.post(f"/console/orgs/{world.slug}/reset-code", {"username": "lee-learner"})
    code = re.search(r'id="reset-code">([A-Z0-9-]+)<', issued.get_data(as_text=True))
    assert issued.status_code == 200 and code
    colleague = world.worker.post(f"/console/orgs/{world.slug}/reset-code", {"username": world.org["admin"].username})
    assert colleague.status_code == 403  # a youth worker never takes over a staff account
