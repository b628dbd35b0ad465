"""Who may do what with a badge request: the learner with their own, the organisation's reviewers with
theirs; another learner, another organisation's reviewer and an anonymous caller learn nothing — every
one is answered 404 ``badge_request.not_found`` (or 401), never a hint that the request exists."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.requests.conftest import png_bytes

LEARNER_OPS = [
    ("GET", "/api/v1/me/badge-requests/{rid}", None),
    ("POST", "/api/v1/me/badge-requests/{rid}/replies", {"body": "hello"}),
    ("POST", "/api/v1/me/badge-requests/{rid}/withdraw", None),
    ("GET", "/api/v1/me/badge-requests/{rid}/files/{fid}", None),
    ("DELETE", "/api/v1/me/badge-requests/{rid}/files/{fid}", None),
    ("POST", "/api/v1/me/badge-requests/{rid}/files?filename=x.png", "png"),
]
REVIEW_OPS = [
    ("GET", "/api/v1/organisations/{slug}/badge-requests/{rid}", None),
    ("GET", "/api/v1/organisations/{slug}/badge-requests/{rid}/files/{fid}", None),
    ("POST", "/api/v1/organisations/{slug}/badge-requests/{rid}/approve", {}),
    ("POST", "/api/v1/organisations/{slug}/badge-requests/{rid}/reject", {"reason": "no"}),
    ("POST", "/api/v1/organisations/{slug}/badge-requests/{rid}/ask", {"question": "more?"}),
]


@pytest.fixture
def scene(client: FlaskClient, sign_up: Any, requestable: Any, ask: Any) -> dict[str, Any]:
    org = requestable("makerspace-north")
    other_org = requestable("city-museum", name="Museum guide")
    learner = sign_up("sam-owner")
    made = ask(learner, org["achievement_id"])
    stored = client.post(
        f"/api/v1/me/badge-requests/{made['id']}/files?filename=a.png",
        headers={**learner.headers, "Content-Type": "image/png"},
        data=png_bytes(),
    )
    assert stored.status_code == 201
    return {
        "org": org,
        "other_org": other_org,
        "learner": learner,
        "stranger": sign_up("kim-stranger"),
        "rid": made["id"],
        "fid": stored.json["id"],
    }


def _call(client: FlaskClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    if body == "png":
        return client.open(path, method=method, headers={**headers, "Content-Type": "image/png"}, data=png_bytes())
    return client.open(path, method=method, headers=headers, json=body)


@pytest.mark.parametrize(("method", "path", "body"), LEARNER_OPS)
@pytest.mark.parametrize("who", ["stranger", "reviewer", "other_reviewer", "anonymous"])
def test_nobody_but_the_learner_reaches_their_request(
    client: FlaskClient, scene: dict[str, Any], who: str, method: str, path: str, body: Any
) -> None:
    headers = {
        "stranger": scene["stranger"].headers,
        "reviewer": scene["org"]["worker"].headers,
        "other_reviewer": scene["other_org"]["admin"].headers,
        "anonymous": {},
    }[who]
    response = _call(client, method, path.format(rid=scene["rid"], fid=scene["fid"]), body, headers)
    if who == "anonymous":
        assert response.status_code == 401
    else:
        assert (response.status_code, response.json["code"]) == (404, "badge_request.not_found")
    mine = client.get(f"/api/v1/me/badge-requests/{scene['rid']}", headers=scene["learner"].headers).json
    assert mine["status"] == "submitted" and len(mine["files"]) == 1 and len(mine["thread"]) == 1


@pytest.mark.parametrize(("method", "path", "body"), REVIEW_OPS)
@pytest.mark.parametrize("who", ["learner", "stranger", "other_reviewer", "anonymous"])
def test_nobody_but_the_organisations_reviewers_reaches_the_review(
    client: FlaskClient, scene: dict[str, Any], who: str, method: str, path: str, body: Any
) -> None:
    headers = {
        "learner": scene["learner"].headers,
        "stranger": scene["stranger"].headers,
        "other_reviewer": scene["other_org"]["admin"].headers,
        "anonymous": {},
    }[who]
    response = _call(
        client, method, path.format(slug="makerspace-north", rid=scene["rid"], fid=scene["fid"]), body, headers
    )
    assert response.status_code == (401 if who == "anonymous" else 404)
    # Another organisation's reviewer asking under their own slug finds nothing either.
    if who == "other_reviewer":
        own = _call(client, method, path.format(slug="city-museum", rid=scene["rid"], fid=scene["fid"]), body, headers)
        assert (own.status_code, own.json["code"]) == (404, "badge_request.not_found")
    mine = client.get(f"/api/v1/me/badge-requests/{scene['rid']}", headers=scene["learner"].headers).json
    assert mine["status"] == "submitted"


def test_an_admins_only_badge_is_not_reviewed_by_a_youth_worker(
    client: FlaskClient, sign_up: Any, requestable: Any, ask: Any
) -> None:
    org = requestable(reviewer_role="admin")
    made = ask(sign_up(), org["achievement_id"])
    base = f"/api/v1/organisations/{org['slug']}/badge-requests"

    listed = client.get(base, headers=org["worker"].headers)
    approve = client.post(f"{base}/{made['id']}/approve", headers=org["worker"].headers, json={})

    assert listed.json == []
    assert approve.status_code == 404
    assert client.post(f"{base}/{made['id']}/approve", headers=org["admin"].headers, json={}).status_code == 200


def test_only_admins_make_badges_requestable_and_lists_show_no_other_organisations_requests(
    client: FlaskClient, scene: dict[str, Any]
) -> None:
    org, other = scene["org"], scene["other_org"]
    path = f"/api/v1/organisations/{org['slug']}/achievements/{org['achievement_id']}/requestable"
    body = {"evidence_wanted": ["narrative"], "reviewer_role": "admin"}

    assert client.put(path, headers=org["worker"].headers, json=body).status_code == 403
    assert client.put(path, headers=other["admin"].headers, json=body).status_code == 404
    assert client.put(path, headers=scene["learner"].headers, json=body).status_code == 404
    assert client.put(path, json=body).status_code == 401
    assert client.delete(path, headers=org["worker"].headers).status_code == 403
    assert (
        client.get(f"/api/v1/organisations/{other['slug']}/badge-requests", headers=other["admin"].headers).json == []
    )
    assert (
        client.get(f"/api/v1/organisations/{org['slug']}/badge-requests", headers=other["admin"].headers).status_code
        == 404
    )
    assert client.get("/api/v1/me/badge-requests", headers=scene["stranger"].headers).json == []
    assert client.get("/api/v1/requestable-badges").status_code == 401


def test_no_public_address_mentions_requests(client: FlaskClient, scene: dict[str, Any]) -> None:
    """The issuer page, profile and achievement document list badges, never who asked for them."""
    learner = scene["learner"]
    for path in (
        "/issuers/makerspace-north/about",
        "/issuers/makerspace-north",
        f"/achievements/{scene['org']['achievement_id']}",
    ):
        page = client.get(path)
        assert page.status_code == 200
        assert learner.username.encode() not in page.data and b"I fixed three lamps" not in page.data
