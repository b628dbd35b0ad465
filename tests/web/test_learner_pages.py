"""The learner's web app around the badges, through the Flask client: home, account, add, reset, offline JSON."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.claims.conftest import Venue
from tests.claims.conftest import venue as venue
from tests.holding.factories import badge, signed, signed_bytes, tamper
from wallet.models import Account, HeldCredential

PASSWORD = "correct horse battery"


def _csrf(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1)


def _sign_up(client: FlaskClient, username: str = "sam") -> list[str]:
    """Sign up in the browser; the recovery codes the page shows once."""
    answer = client.post(
        "/signup", data={"csrf_token": _csrf(client, "/signup"), "username": username, "password": PASSWORD}
    )
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/account/recovery-codes/new")
    shown = client.get(answer.headers["Location"])
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    return re.findall(r"<li>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</li>", shown.get_data(as_text=True))


def test_the_home_page_shows_each_visitor_the_way_in(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    for link in ['href="/signup"', 'href="/login"', 'href="/code"', 'href="/console"', 'href="/docs"']:
        assert link in html
    _sign_up(client)
    html = client.get("/").get_data(as_text=True)
    assert 'href="/wallet"' in html and "Make an account" not in html
    assert 'aria-label="Wallet"' in html and 'href="/account"' in html and 'href="/wallet/add"' in html


def test_sign_up_shows_the_recovery_codes_once_then_continues_to_the_wallet(client: FlaskClient) -> None:
    codes = _sign_up(client)
    assert len(codes) == 10
    again = client.get("/account/recovery-codes/new")
    assert again.status_code == 303 and codes[0] not in again.get_data(as_text=True)


def test_a_refused_sign_up_keeps_what_was_typed_and_says_which_rule(client: FlaskClient) -> None:
    csrf = _csrf(client, "/signup")
    answer = client.post(
        "/signup", data={"csrf_token": csrf, "username": "robin", "display_name": "Robin H", "password": "robin-robin"}
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "must not contain your username" in html
    assert 'value="robin"' in html and 'value="Robin H"' in html and "robin-robin" not in html
    short = client.post("/signup", data={"csrf_token": csrf, "username": "robin", "password": "short"})
    assert "at least 8 characters" in short.get_data(as_text=True)
    bad_name = client.post("/signup", data={"csrf_token": csrf, "username": "r!", "password": PASSWORD})
    assert "3 to 40 characters" in bad_name.get_data(as_text=True)


def test_forgot_password_a_recovery_code_sets_a_new_one_and_signs_in(client: FlaskClient) -> None:
    codes = _sign_up(client, "sam")
    client.post("/logout", data={"csrf_token": _csrf(client, "/account")})
    csrf = _csrf(client, "/reset")
    wrong = client.post(
        "/reset",
        data={"csrf_token": csrf, "username": "sam", "code": "AAAA-AAAA-AAAA-AAAA", "password": "new long password"},
    )
    assert wrong.status_code == 401 and "check the username and the code" in wrong.get_data(as_text=True)
    assert 'value="sam"' in wrong.get_data(as_text=True)
    done = client.post(
        "/reset", data={"csrf_token": csrf, "username": "sam", "code": codes[0], "password": "new long password"}
    )
    assert done.status_code == 200 and "new password is set" in done.get_data(as_text=True)
    assert client.get("/account").status_code == 200  # signed in
    client.post("/logout", data={"csrf_token": _csrf(client, "/account")})
    login = client.post(
        "/login", data={"csrf_token": _csrf(client), "username": "sam", "password": "new long password"}
    )
    assert login.status_code == 303


def test_the_account_page_lists_this_browser_and_the_phone_and_revokes_the_phone(client: FlaskClient) -> None:
    _sign_up(client)
    phone = client.post(
        "/api/v1/auth/login",
        json={"username": "sam", "password": PASSWORD, "device": {"name": "Sam's phone", "platform": "android"}},
    ).json
    html = client.get("/account").get_data(as_text=True)
    assert "this browser" in html and "Sam&#39;s phone" in html
    revoke = client.post(
        f"/account/devices/{phone['device_id']}/revoke", data={"csrf_token": _csrf(client, "/account")}
    )
    assert revoke.status_code == 303
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {phone['access_token']}"}).status_code == 401
    assert "Sam&#39;s phone" not in client.get("/account").get_data(as_text=True)


def test_revoking_this_browser_signs_it_out_and_clears_the_site(client: FlaskClient, db: Any) -> None:
    _sign_up(client)
    html = client.get("/account").get_data(as_text=True)
    device_id = re.search(r'/account/devices/([0-9a-f-]+)/revoke"', html)[1]
    answer = client.post(f"/account/devices/{device_id}/revoke", data={"csrf_token": _csrf(client, "/account")})
    assert answer.status_code == 303 and "storage" in answer.headers["Clear-Site-Data"]
    assert client.get("/account").status_code == 303


def test_another_learners_device_cannot_be_revoked(client: FlaskClient, sign_up: Any) -> None:
    other = sign_up("kim")
    _sign_up(client)
    answer = client.post(f"/account/devices/{other.device_id}/revoke", data={"csrf_token": _csrf(client, "/account")})
    assert answer.status_code == 404
    assert client.get("/api/v1/me", headers=other.headers).status_code == 200
    assert (
        client.post("/account/devices/not-a-uuid/revoke", data={"csrf_token": _csrf(client, "/account")}).status_code
        == 404
    )


def test_name_and_password_change_with_plain_reasons(client: FlaskClient) -> None:
    _sign_up(client)
    csrf = _csrf(client, "/account")
    assert client.post("/account/name", data={"csrf_token": csrf, "display_name": "Sam K."}).status_code == 303
    assert 'value="Sam K."' in client.get("/account").get_data(as_text=True)
    assert client.post("/account/name", data={"csrf_token": csrf, "display_name": "x" * 81}).status_code == 422
    wrong = client.post(
        "/account/password", data={"csrf_token": csrf, "current_password": "nope", "new_password": "another long one"}
    )
    assert wrong.status_code == 401 and "current password is wrong" in wrong.get_data(as_text=True)
    weak = client.post(
        "/account/password", data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": "sam12345678"}
    )
    assert weak.status_code == 422 and "username" in weak.get_data(as_text=True)
    ok = client.post(
        "/account/password", data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": "another long one"}
    )
    assert ok.status_code == 303 and client.get("/account").status_code == 200  # this browser stays signed in


def test_regenerating_recovery_codes_needs_the_password(client: FlaskClient) -> None:
    old = _sign_up(client)
    csrf = _csrf(client, "/account")
    assert client.post("/account/recovery-codes", data={"csrf_token": csrf, "password": "nope"}).status_code == 401
    fresh = client.post("/account/recovery-codes", data={"csrf_token": csrf, "password": PASSWORD})
    html = fresh.get_data(as_text=True)
    assert (
        fresh.status_code == 200 and fresh.headers["Cache-Control"] == "no-store" and "old codes no longer work" in html
    )
    assert old[0] not in html


def test_download_all_my_data(client: FlaskClient) -> None:
    _sign_up(client)
    answer = client.get("/account/export.json")
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    assert json.loads(answer.data)["account"]["username"] == "sam"


def test_deleting_the_account_needs_the_box_and_the_password(client: FlaskClient, db: Any) -> None:
    _sign_up(client)
    csrf = _csrf(client, "/account")
    assert client.post("/account/delete", data={"csrf_token": csrf, "password": PASSWORD}).status_code == 422
    assert (
        client.post("/account/delete", data={"csrf_token": csrf, "confirm": "yes", "password": "no"}).status_code == 401
    )
    assert db.scalar(select(Account).where(Account.username == "sam")) is not None
    gone = client.post("/account/delete", data={"csrf_token": csrf, "confirm": "yes", "password": PASSWORD})
    assert gone.status_code == 303 and gone.headers["Location"] == "/?deleted=1" and "Clear-Site-Data" in gone.headers
    db.expire_all()
    assert db.scalar(select(Account).where(Account.username == "sam")) is None
    assert client.get("/account").status_code == 303


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/account/name", {"display_name": "Mallory"}),
        ("/account/password", {"current_password": PASSWORD, "new_password": "mallory's new one"}),
        ("/account/recovery-codes", {"password": PASSWORD}),
        ("/account/delete", {"confirm": "yes", "password": PASSWORD}),
        ("/wallet/add/code", {"code": "K7Q-M3X-PDR"}),
        ("/wallet/add/url", {"url": "https://example.org/badge"}),
        ("/reset", {"username": "sam", "code": "AAAAA-AAAAA", "password": "whatever long"}),
    ],
)
def test_every_form_refuses_a_forged_or_missing_csrf_token(
    client: FlaskClient, path: str, data: dict[str, str]
) -> None:
    _sign_up(client)
    for token in (None, "forged"):
        body = {**data, **({"csrf_token": token} if token else {})}
        assert client.post(path, data=body).status_code == 400, (path, token)
    assert client.get("/account").status_code == 200


@pytest.mark.parametrize("path", ["/account", "/wallet/add", "/account/export.json"])
def test_pages_need_a_signed_in_browser(client: FlaskClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    "value", ["a\x00b", "x" * 200_000, "\uffff", "<script>alert(1)</script>", "../../etc/passwd", " "]
)
@pytest.mark.parametrize(
    "path,field",
    [
        ("/account/name", "display_name"),
        ("/wallet/add/code", "code"),
        ("/wallet/add/url", "url"),
        ("/reset", "code"),
        ("/reset", "username"),
    ],
)
def test_bad_input_gets_a_plain_answer_never_a_500(client: FlaskClient, path: str, field: str, value: str) -> None:
    _sign_up(client)
    answer = client.post(path, data={"csrf_token": _csrf(client, "/account"), field: value})
    assert answer.status_code < 500, (path, field, answer.status_code)
    if answer.status_code == 303:  # accepted (a name may be anything printable): shown escaped
        answer = client.get(answer.headers["Location"])
    else:
        assert answer.status_code >= 400, (path, field, answer.status_code)
    assert "<script>alert" not in answer.get_data(as_text=True)


def test_typing_a_code_on_add_goes_to_its_claim_page(venue: Venue, client: FlaskClient) -> None:
    session = venue.open()
    fallback = venue.qr(session)["fallback"]
    _sign_up(client)
    csrf = _csrf(client, "/wallet/add")
    typed = client.post("/wallet/add/code", data={"csrf_token": csrf, "code": fallback.lower().replace("-", " ")})
    assert typed.status_code == 303 and typed.headers["Location"].lower().startswith("/c/")
    link = client.post("/wallet/add/code", data={"csrf_token": csrf, "code": venue.qr(session)["url"]})
    assert link.status_code == 303 and link.headers["Location"].lower().startswith("/c/")
    elsewhere = client.post("/wallet/add/code", data={"csrf_token": csrf, "code": "https://evil.example/c/ABC"})
    assert elsewhere.status_code == 422 and "another website" in elsewhere.get_data(as_text=True)
    typo = client.post(
        "/wallet/add/code", data={"csrf_token": csrf, "code": fallback[:-1] + ("0" if fallback[-1] != "0" else "1")}
    )
    assert typo.status_code == 422


def test_adding_a_badge_file_checks_it_like_the_api(client: FlaskClient, db: Any) -> None:
    _sign_up(client)
    csrf = _csrf(client, "/wallet/add")

    def upload(data: bytes, name: str) -> Any:
        return client.post(
            "/wallet/add/file",
            data={"csrf_token": csrf, "file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )

    document = signed_bytes(name="Welding 101")
    added = upload(document, "badge.json")
    html = added.get_data(as_text=True)
    assert added.status_code == 201 and "Added: Welding 101" in html and "/wallet/badges/" in html
    assert upload(document, "again.json").status_code == 409
    forged = upload(json.dumps(tamper(signed(badge(name="Forged")))).encode(), "forged.json")
    assert forged.status_code == 422 and "didn&#39;t pass its checks" in forged.get_data(as_text=True)
    assert upload(b"\x00\x01 not a badge", "x.bin").status_code in (415, 422)
    assert upload(b"", "empty.json").status_code == 422
    held = db.scalars(select(HeldCredential)).all()
    assert [c.achievement_name for c in held] == ["Welding 101"]


def test_queued_offline_claim_redeems_once_through_the_json_endpoint(
    venue: Venue, client: FlaskClient, clock: Any
) -> None:
    session = venue.open()
    fallback = venue.qr(session)["fallback"]
    _sign_up(client)
    html = client.get("/wallet/add").get_data(as_text=True)
    token = re.search(r'data-csrf="([^"]+)"', html)[1]
    scanned = int(clock.now.timestamp() * 1000) - 60_000
    body = {"code": fallback, "scanned_at": scanned}

    assert client.post("/app/claims/redeem", json=body).status_code == 403  # no CSRF header
    first = client.post("/app/claims/redeem", json=body, headers={"X-CSRF-Token": token})
    assert first.status_code == 200, first.json
    assert first.json == {"status": "issued", "repeat": False, "badge": "Soldering Basics"}
    again = client.post("/app/claims/redeem", json=body, headers={"X-CSRF-Token": token})
    assert again.status_code == 200 and again.json["repeat"] is True  # a lost answer is safe to resend


def test_a_code_kept_offline_longer_than_the_limit_is_refused_and_said_so(
    venue: Venue, client: FlaskClient, clock: Any
) -> None:
    session = venue.open(ends_at=(clock.now.replace(year=clock.now.year + 1)).isoformat())
    fallback = venue.qr(session)["fallback"]
    _sign_up(client)
    token = re.search(r'data-csrf="([^"]+)"', client.get("/wallet/add").get_data(as_text=True))[1]
    stale = int(clock.now.timestamp() * 1000) - 13 * 3600 * 1000
    answer = client.post(
        "/app/claims/redeem", json={"code": fallback, "scanned_at": stale}, headers={"X-CSRF-Token": token}
    )
    assert (
        answer.status_code == 410
        and answer.json["code"] == "claim.expired_code"
        and "12 hours" in answer.json["detail"]
    )


@pytest.mark.parametrize(
    "body",
    [
        {"code": "A\x00B"},
        {"code": "x" * 5000},
        {"code": 7},
        {"code": "K7QM3XPDR", "scanned_at": "yesterday"},
        {"code": "K7QM3XPDR", "scanned_at": 10**30},
        {"code": "K7QM3XPDR", "pin": "12ab"},
        {"code": "K7QM3XPDR", "extra": 1},
        [],
    ],
)
def test_the_redeem_endpoint_answers_bad_input_with_a_problem(client: FlaskClient, body: Any) -> None:
    _sign_up(client)
    token = re.search(r'data-csrf="([^"]+)"', client.get("/account").get_data(as_text=True))[1]
    answer = client.post("/app/claims/redeem", json=body, headers={"X-CSRF-Token": token})
    assert 400 <= answer.status_code < 500 and answer.mimetype == "application/problem+json", answer.data


def test_the_redeem_endpoint_needs_the_token_then_a_signed_in_browser(client: FlaskClient) -> None:
    forged = client.post("/app/claims/redeem", json={"code": "K7QM3XPDR"}, headers={"X-CSRF-Token": "forged"})
    assert forged.status_code == 403 and forged.json["code"] == "auth.forbidden"
    token = re.search(r'data-csrf="([^"]+)"', client.get("/login").get_data(as_text=True))[1]
    answer = client.post("/app/claims/redeem", json={"code": "K7QM3XPDR"}, headers={"X-CSRF-Token": token})
    assert answer.status_code == 401 and answer.json["code"] == "auth.required"


def test_a_lost_answer_does_not_sign_the_browser_out(client: FlaskClient) -> None:
    """The browser keeps the cookie it had when an answer never arrived: that cookie must still work."""
    _sign_up(client)
    kept = client.get_cookie("session")
    assert kept is not None
    for path in ("/account", "/wallet/add", "/account/export.json"):
        client.get(path)  # answers the browser may never have received
    csrf = _csrf(client, "/account")
    client.post("/account/name", data={"csrf_token": csrf, "display_name": "Sam again"})
    client.set_cookie("session", kept.value, domain=kept.domain or "localhost")
    assert client.get("/account").status_code == 200
    assert client.post("/account/name", data={"csrf_token": csrf, "display_name": "Sam"}).status_code == 303


def test_the_app_installs_from_its_manifest_with_local_icons(client: FlaskClient) -> None:
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = manifest.json
    assert body["start_url"] == "/wallet" and body["display"] == "standalone"
    for icon in body["icons"]:
        assert icon["src"].startswith("/")
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
    worker = client.get("/sw.js")
    assert worker.mimetype == "text/javascript" and worker.headers["Service-Worker-Allowed"] == "/"


def test_the_claim_success_screen_leads_into_the_wallet(venue: Venue, client: FlaskClient) -> None:
    session = venue.open()
    path = venue.qr(session)["url"].split("WALLET.TEST", 1)[1]
    _sign_up(client)
    html = client.get(path).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]
    claimed = client.post(f"{path}/claim", data={"csrf_token": csrf}).get_data(as_text=True)
    assert claimed.index('href="/wallet"') < claimed.index("learnerwallet://")


def test_signing_up_on_a_claim_page_shows_the_codes_then_returns_there(venue: Venue, client: FlaskClient) -> None:
    session = venue.open()
    path = venue.qr(session)["url"].split("WALLET.TEST", 1)[1]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))[1]
    answer = client.post(f"{path}/sign-up", data={"csrf_token": csrf, "username": "kim", "password": PASSWORD})
    codes = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Keep these recovery codes" in codes and f'href="{path}"' in codes


def test_sign_out_clears_the_site(client: FlaskClient) -> None:
    _sign_up(client)
    answer = client.post("/logout", data={"csrf_token": _csrf(client, "/account")})
    assert answer.status_code == 303 and '"storage"' in answer.headers["Clear-Site-Data"]


def test_an_invitation_to_be_staff_waits_on_the_account_page_until_the_learner_says_yes(
    client: FlaskClient, organisation: Any
) -> None:
    org = organisation()
    _sign_up(client, "sam-staff")
    invited = client.post(
        "/api/v1/organisations/makerspace-north/members",
        headers=org["admin"].headers,
        json={"username": "sam-staff", "role": "youth_worker"},
    )
    assert invited.status_code == 202
    page = client.get("/account").get_data(as_text=True)
    assert "Makerspace North" in page and "asks you to be a youth worker" in page
    assert client.get("/console/orgs/makerspace-north").status_code == 404  # not staff yet
    accept = re.search(r'action="(/account/invitations/[^"]+/accept)"', page)
    assert accept
    someone_else = client.post(
        accept.group(1).replace("accept", "promote"), data={"csrf_token": _csrf(client, "/account")}
    )
    assert someone_else.status_code == 404
    said_yes = client.post(accept.group(1), data={"csrf_token": _csrf(client, "/account")})
    assert said_yes.status_code == 303
    assert "You are now a member" in client.get(said_yes.headers["Location"]).get_data(as_text=True)
    assert client.get("/console/orgs/makerspace-north").status_code == 200
