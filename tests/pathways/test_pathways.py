"""Pathways across organisations: publishing, progress, next steps, the outcome award, and who may do what."""

from __future__ import annotations

import json
from typing import Any

from tests.pathways.conftest import CASE_PACKAGE, City


def _pathway(city: City, **overrides: Any) -> Any:
    body = {
        "name": "Maker to Museum",
        "description": "From the workbench to the gallery.",
        "outcome": "A reference for a paid museum placement",
        "outcome_achievement_id": city.badges["outcome"],
        "auto_award": True,
        "partners": ["museum"],
        "steps": [
            {"kind": "badge", "achievement": city.badges["solder"]},
            {"kind": "any_of", "n": 1, "achievements": [city.badges["guide"], city.badges["curator"]]},
        ],
        **overrides,
    }
    return city.post(city.north["admin"], "/api/v1/organisations/north/pathways", json=body)


def _held(city: City, learner: Any) -> list[dict[str, Any]]:
    body = city.client.get("/api/v1/credentials", headers=learner.headers).json
    return body["items"] if isinstance(body, dict) else body


def test_a_pathway_is_published_as_ob3_achievements_with_clr_associations(city: City) -> None:
    created = _pathway(city, ordered=True)
    assert created.status_code == 201, created.json
    document = city.client.get(f"/api/v1/pathways/{created.json['definition']['id']}").json
    assert document["achievement"]["achievementType"] == "LearningProgram"
    assert document["achievement"]["type"] == ["Achievement"]
    solder = f"https://wallet.test/achievements/{city.badges['solder']}"
    guide = f"https://wallet.test/achievements/{city.badges['guide']}"
    kinds = {(a["associationType"], a["sourceId"], a["targetId"]) for a in document["associations"]}
    assert ("isChildOf", solder, document["id"]) in kinds
    assert ("isParentOf", document["id"], guide) in kinds
    assert ("precedes", solder, guide) in kinds
    assert {a["name"] for a in document["achievements"]} >= {"Maker to Museum", "Soldering", "Gallery Guide"}
    page = city.client.get(f"/pathways/{created.json['definition']['id']}")
    assert page.status_code == 200 and "Maker to Museum" in page.get_data(as_text=True)


def test_completing_a_pathway_across_two_organisations_awards_the_outcome_once(city: City, sign_up, clock) -> None:
    pathway_id = _pathway(city).json["definition"]["id"]
    learner = sign_up("sam-path")
    city.award(city.north, "solder", learner)
    mine = city.client.get("/api/v1/me/pathways", headers=learner.headers).json["pathways"]
    assert [(p["name"], p["steps_done"], p["next_step"], p["complete"]) for p in mine] == [
        ("Maker to Museum", 1, 1, False)
    ]
    assert len(_held(city, learner)) == 1
    guide = city.award(city.museum, "guide", learner)
    held = _held(city, learner)
    names = sorted(item["achievement_name"] for item in held)
    assert names == ["Gallery Guide", "Maker Pathway Graduate", "Soldering"]
    clock.advance(minutes=5)
    city.award(city.museum, "curator", learner)
    assert sorted(item["achievement_name"] for item in _held(city, learner)).count("Maker Pathway Graduate") == 1
    progress = city.client.get(f"/api/v1/me/pathways/{pathway_id}", headers=learner.headers).json
    assert progress["complete"] and progress["awarded_credential_id"]
    assert progress["steps"][1]["by"] == [guide["credential_id"]]
    outcome = next(item for item in held if item["achievement_name"] == "Maker Pathway Graduate")
    raw = json.loads(city.client.get(f"/api/v1/credentials/{outcome['id']}/raw", headers=learner.headers).data)
    assert raw["issuer"]["name"] == "Makerspace North"
    evidence_text = json.dumps(raw["evidence"])
    assert guide["credential_id"] in evidence_text and "Maker to Museum" in evidence_text


def test_an_imported_credential_counts_when_its_achievement_matches(city: City, sign_up, db) -> None:
    _pathway(city, auto_award=False)
    other = sign_up("elsewhere")
    city.award(city.north, "solder", other)
    raw = city.client.get(f"/api/v1/credentials/{_held(city, other)[0]['id']}/raw", headers=other.headers).data
    learner = sign_up("importer")
    imported = city.client.post(
        "/api/v1/credentials/import", headers={**learner.headers, "Content-Type": "application/json"}, data=raw
    )
    assert imported.status_code in (200, 201), imported.json
    mine = city.client.get("/api/v1/me/pathways", headers=learner.headers).json["pathways"]
    assert [p["steps_done"] for p in mine] == [1]


def test_a_skill_step_is_done_by_a_badge_aligned_to_the_skill(city: City, sign_up) -> None:
    city.import_case(city.north["admin"], CASE_PACKAGE)
    city.align(city.museum, "curator", "item-teamwork")
    created = _pathway(city, auto_award=False, steps=[{"kind": "skill", "framework": "leeds", "item": "item-teamwork"}])
    assert created.status_code == 201, created.json
    learner = sign_up("skilled")
    city.award(city.museum, "curator", learner)
    mine = city.client.get("/api/v1/me/pathways", headers=learner.headers).json["pathways"]
    assert mine[0]["complete"]
    skills = city.client.get("/api/v1/me/skills", headers=learner.headers).json
    assert [(s["code"], s["framework"], [b["name"] for b in s["badges"]]) for s in skills] == [
        ("COM-2", "Leeds Skills Framework", ["Young Curator"])
    ]


def test_next_steps_name_open_claim_sessions_that_advance_a_started_pathway(city: City, sign_up, clock) -> None:
    _pathway(city, auto_award=False)
    learner = sign_up("next-stepper")
    city.award(city.north, "solder", learner)
    import datetime as dt

    session = city.post(
        city.museum["worker"],
        "/api/v1/organisations/museum/claim-sessions",
        json={
            "achievement_id": city.badges["guide"],
            "title": "Saturday gallery tour",
            "venue": "Main hall",
            "cap": 30,
            "starts_at": (clock.now - dt.timedelta(minutes=5)).isoformat(),
            "ends_at": (clock.now + dt.timedelta(hours=2)).isoformat(),
        },
    )
    assert session.status_code == 201, session.json
    steps = city.client.get("/api/v1/me/pathways", headers=learner.headers).json["next_steps"]
    assert [(s["kind"], s["organisation"], s["step_index"]) for s in steps] == [("claim_session", "City Museum", 1)]
    assert "Saturday gallery tour" in steps[0]["title"]


def test_next_steps_name_requestable_badges_until_the_learner_has_asked(city: City, sign_up) -> None:
    _pathway(city, auto_award=False)
    learner = sign_up("asker")
    city.award(city.north, "solder", learner)
    policy = city.client.put(
        f"/api/v1/organisations/museum/achievements/{city.badges['curator']}/requestable",
        headers=city.museum["admin"].headers,
        json={"guidance": "Show us the display you made.", "evidence_wanted": ["narrative"], "reviewer_role": "admin"},
    )
    assert policy.status_code == 200, policy.json
    steps = city.client.get("/api/v1/me/pathways", headers=learner.headers).json["next_steps"]
    assert [(s["kind"], s["title"], s["organisation"], s["step_index"], s["achievement_id"]) for s in steps] == [
        ("requestable", "Young Curator", "City Museum", 1, city.badges["curator"])
    ]
    _sign_in_on_the_page(city, learner)
    page = city.client.get("/wallet/pathways").get_data(as_text=True)
    assert f'<a href="/wallet/requests/new?achievement={city.badges["curator"]}">Ask for Young Curator</a>' in page
    asked = city.client.post(
        "/api/v1/me/badge-requests",
        headers=learner.headers,
        json={"achievement_id": city.badges["curator"], "narrative": "I curated the fossils case."},
    )
    assert asked.status_code == 201, asked.json
    assert city.client.get("/api/v1/me/pathways", headers=learner.headers).json["next_steps"] == []
    assert "Ask for Young Curator" not in city.client.get("/wallet/pathways").get_data(as_text=True)
    someone_else = sign_up("not-asked-yet")
    city.award(city.north, "solder", someone_else)
    assert len(city.client.get("/api/v1/me/pathways", headers=someone_else.headers).json["next_steps"]) == 1


def test_who_may_create_and_change_pathways(city: City, sign_up) -> None:
    outsider = sign_up("outsider")
    body = {"name": "x", "steps": [{"kind": "badge", "achievement": city.badges["solder"]}]}
    assert city.post(outsider, "/api/v1/organisations/north/pathways", json=body).status_code == 404
    assert city.post(city.north["worker"], "/api/v1/organisations/north/pathways", json=body).status_code == 403
    created = _pathway(city)
    pathway_id = created.json["definition"]["id"]
    partner_edit = city.client.patch(
        f"/api/v1/pathways/{pathway_id}", headers=city.museum["admin"].headers, json={"name": "Maker to Gallery"}
    )
    assert (partner_edit.status_code, partner_edit.json["name"]) == (200, "Maker to Gallery")
    partner_outcome = city.client.patch(
        f"/api/v1/pathways/{pathway_id}", headers=city.museum["admin"].headers, json={"auto_award": False}
    )
    assert partner_outcome.status_code == 403
    stranger = city.client.patch(f"/api/v1/pathways/{pathway_id}", headers=outsider.headers, json={"name": "mine"})
    assert stranger.status_code == 403
    foreign_outcome = _pathway(city, outcome_achievement_id=city.badges["guide"])
    assert (foreign_outcome.status_code, foreign_outcome.json["code"]) == (422, "pathway.invalid")


def test_a_bad_step_is_a_422_with_the_field(city: City) -> None:
    bad = _pathway(city, steps=[{"kind": "any_of", "n": 3, "achievements": [city.badges["guide"]]}])
    assert (bad.status_code, bad.json["code"]) == (422, "pathway.invalid")
    assert "steps[0].n" in bad.json["errors"]


def test_the_learner_pages_show_progress_and_skills(city: City, sign_up) -> None:
    _pathway(city, auto_award=False)
    learner = sign_up("page-learner", password="correct horse battery")
    city.award(city.north, "solder", learner)
    assert city.client.get("/wallet/pathways").status_code == 303
    page = city.client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    signed = city.client.post(
        "/login", data={"username": learner.username, "password": "correct horse battery", "csrf_token": token}
    )
    assert signed.status_code in (302, 303)
    text = city.client.get("/wallet/pathways").get_data(as_text=True)
    assert "Maker to Museum" in text and "1 of 2 steps done" in text
    assert city.client.get("/wallet/skills").status_code == 200


def test_a_learner_shares_their_skills_summary_by_link_and_can_revoke_it(city: City, sign_up) -> None:
    city.import_case(city.north["admin"], CASE_PACKAGE)
    city.align(city.museum, "guide", "item-listening")
    learner = sign_up("skill-sharer", display_name="Sam")
    city.award(city.museum, "guide", learner)
    share = city.post(learner, "/api/v1/shares", json={"skills": True})
    assert share.status_code == 201, share.json
    slug = share.json["url"].rsplit("/", 1)[-1]
    text = city.client.get(f"/s/{slug}").get_data(as_text=True)
    assert "Skills of Sam" in text and "Listens actively to others" in text and "Gallery Guide" in text
    assert city.client.get(f"/s/{slug}.json").json["skills"][0]["code"] == "COM-1"
    both = city.post(learner, "/api/v1/shares", json={"skills": True, "credential_id": "x"})
    assert both.status_code == 422
    city.post(learner, f"/api/v1/shares/{share.json['id']}/revoke")
    assert city.client.get(f"/s/{slug}").status_code == 410


def _names(city: City, learner: Any) -> list[str]:
    return sorted(item["achievement_name"] for item in _held(city, learner))


def _import(city: City, learner: Any, raw: bytes) -> Any:
    return city.client.post(
        "/api/v1/credentials/import", headers={**learner.headers, "Content-Type": "application/json"}, data=raw
    )


def _own_badge_from_elsewhere(city: City, learner: Any, badge: str) -> bytes:
    """A badge issued here to ``learner`` that left the wallet (kept in another wallet app) and comes back."""
    awarded = city.award(city.north if badge in ("solder", "coding") else city.museum, badge, learner)
    held_id = next(item["id"] for item in _held(city, learner) if item["credential_id"] == awarded["credential_id"])
    raw = city.client.get(f"/api/v1/credentials/{held_id}/raw", headers=learner.headers).data
    assert city.client.delete(f"/api/v1/credentials/{held_id}", headers=learner.headers).status_code == 204
    return raw


def test_importing_your_own_badge_completes_a_pathway_and_awards_the_outcome_at_once(city: City, sign_up) -> None:
    _pathway(city)
    learner = sign_up("back-from-lcw")
    raw = _own_badge_from_elsewhere(city, learner, "solder")
    city.award(city.museum, "guide", learner)
    assert _names(city, learner) == ["Gallery Guide"]
    imported = _import(city, learner, raw)
    assert imported.status_code == 201, imported.json
    assert imported.json["binding"]["by"] == "subject"
    assert _names(city, learner) == ["Gallery Guide", "Maker Pathway Graduate", "Soldering"]
    assert _import(city, learner, raw).status_code == 409  # a second try changes nothing
    assert _names(city, learner).count("Maker Pathway Graduate") == 1


def test_a_copy_of_someone_elses_badge_shows_progress_but_never_earns_the_outcome(city: City, sign_up) -> None:
    _pathway(city)
    owner = sign_up("real-solderer")
    city.award(city.north, "solder", owner)
    raw = city.client.get(f"/api/v1/credentials/{_held(city, owner)[0]['id']}/raw", headers=owner.headers).data
    copier = sign_up("copier")
    city.award(city.museum, "guide", copier)
    assert _import(city, copier, raw).status_code == 201
    progress = city.client.get("/api/v1/me/pathways", headers=copier.headers).json["pathways"]
    assert [(p["steps_done"], p["complete"]) for p in progress] == [(2, True)]
    assert "Maker Pathway Graduate" not in _names(city, copier)
    city.award(city.museum, "curator", copier)  # a later delivery judges again: still not earned
    assert "Maker Pathway Graduate" not in _names(city, copier)


def test_a_self_signed_badge_naming_our_achievement_never_earns_the_outcome(city: City, sign_up) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from tests.credential_factories import ob3_badge, sign_as
    from wallet.credentials import multikey

    _pathway(city)
    forger = sign_up("forger")
    city.award(city.museum, "guide", forger)
    subject_id = city.client.get("/api/v1/me", headers=forger.headers).json["subject_id"]
    key = ed25519.Ed25519PrivateKey.generate()
    forged = ob3_badge(
        credential_id="urn:uuid:0f0f0f0f-1111-4222-8333-777777777777",
        issuer_name="Makerspace North",
        valid_from="2026-10-01T09:00:00Z",
        name="Soldering",
        achievement_id=f"https://wallet.test/achievements/{city.badges['solder']}",
        achievement_name="Soldering",
        description="Soldering done.",
        narrative="Take part.",
    )
    forged["issuer"]["id"] = multikey.did_key_for(key)
    forged["credentialSubject"]["id"] = subject_id
    imported = _import(city, forger, json.dumps(sign_as(forged, created="2026-10-01T09:00:00Z", key=key)).encode())
    assert imported.status_code == 201, imported.json
    assert imported.json["binding"]["by"] == "subject" and imported.json["outcome"] == "valid"
    assert "Maker Pathway Graduate" not in _names(city, forger)
    city.award(city.museum, "curator", forger)
    assert "Maker Pathway Graduate" not in _names(city, forger)


def test_a_badge_a_phone_brings_back_by_sync_awards_the_outcome_in_that_sync(city: City, sign_up, clock) -> None:
    import base64
    import hashlib

    from tests.sync.conftest import Device

    _pathway(city)
    learner = sign_up("offline-importer")
    raw = _own_badge_from_elsewhere(city, learner, "solder")
    city.award(city.museum, "guide", learner)
    registered = city.client.post("/api/v1/sync/clients", json={}, headers=learner.headers)
    phone = Device(city.client, learner.headers, registered.json["client_id"], now_ms=int(clock.now.timestamp() * 1000))
    phone.sync()
    cred = "sha256:" + hashlib.sha256(raw).hexdigest()
    answer = phone.sync([phone.op("entry.add", cred=cred, dot=None)], blobs={cred: base64.b64encode(raw).decode()})
    assert answer["rejected"] == []
    outcome = next(item for item in _held(city, learner) if item["achievement_name"] == "Maker Pathway Graduate")
    arrived = {change["id"][0] for change in answer["changes"] if change["k"] == "entry"}
    assert outcome["content_hash"] in arrived  # the outcome badge reaches the phone in this very sync


def test_adding_your_badge_on_the_wallet_page_says_which_pathway_it_completed(city: City, sign_up) -> None:
    import io
    import re

    _pathway(city)
    learner = sign_up("page-importer")
    raw = _own_badge_from_elsewhere(city, learner, "solder")
    city.award(city.museum, "guide", learner)
    _sign_in_on_the_page(city, learner)
    page = city.client.get("/wallet/add").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    added = city.client.post(
        "/wallet/add/file",
        data={"csrf_token": token, "file": (io.BytesIO(raw), "soldering.json")},
        content_type="multipart/form-data",
    )
    html = added.get_data(as_text=True)
    assert added.status_code == 201, html
    assert "It completes the pathway <strong>Maker to Museum</strong>" in html
    assert "Maker Pathway Graduate" in _names(city, learner)


def _sign_in_on_the_page(city: City, learner: Any) -> None:
    import re

    page = city.client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    signed_in = city.client.post(
        "/login", data={"csrf_token": token, "username": learner.username, "password": learner.password}
    )
    assert signed_in.status_code == 303


def test_the_nightly_re_check_awards_what_a_pathway_made_later_finds_complete(city: City, sign_up, clock, db) -> None:
    import datetime as dt

    from wallet.fetching import build_fetcher
    from wallet.holding import services as holding

    learner = sign_up("early-bird")
    raw = _own_badge_from_elsewhere(city, learner, "solder")
    city.award(city.museum, "guide", learner)
    assert _import(city, learner, raw).status_code == 201
    created = _pathway(city)  # made after the learner already held both badges
    assert created.status_code == 201, created.json
    assert "Maker Pathway Graduate" not in _names(city, learner)

    clock.advance(days=2)
    state = city.client.application.extensions["wallet"]
    recognise, fetcher = state.recognise, build_fetcher(state.settings, session=lambda: db)  # as wallet/jobs.py
    day = dt.timedelta(days=1)
    checked = holding.refresh_stale_verifications(
        db, now=clock.now, max_age=day, fetcher=fetcher, limit=50, recognise=recognise
    )
    assert checked >= 1
    assert _names(city, learner).count("Maker Pathway Graduate") == 1
    clock.advance(days=2)
    holding.refresh_stale_verifications(db, now=clock.now, max_age=day, fetcher=fetcher, limit=50, recognise=recognise)
    assert _names(city, learner).count("Maker Pathway Graduate") == 1  # judged again: never a second award
