"""Getting back in without e-mail: recovery codes from sign-up, reset codes a youth worker hands over."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from tests.claims.conftest import Venue, redeem
from tests.claims.conftest import venue as venue
from tests.conftest import FakeClock
from wallet.accounts import recovery

NEW_PASSWORD = "a brand new passphrase"


def _sign_up(client: FlaskClient, username: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/accounts",
        json={"username": username, "password": "correct horse battery", "device": {"name": "p", "platform": "web"}},
    )
    assert response.status_code == 201, response.json
    return response.json


def _reset(client: FlaskClient, username: str, code: str, password: str = NEW_PASSWORD) -> Any:
    return client.post(
        "/api/v1/auth/password-reset", json={"username": username, "code": code, "new_password": password}
    )


def _login(client: FlaskClient, username: str, password: str) -> int:
    response = client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": password, "device": {"name": "p", "platform": "web"}},
    )
    return response.status_code


def _claimed(venue: Venue, client: FlaskClient, sign_up: Any) -> Any:
    """A learner who claimed the venue's badge (so its staff met them)."""
    learner = sign_up()
    session = venue.open()
    code = venue.qr(session)["url"].rsplit("/", 1)[1]
    assert redeem(client, learner, code).status_code in (200, 201)
    return learner


def test_sign_up_answers_ten_recovery_codes_each_works_once(client: FlaskClient) -> None:
    body = _sign_up(client, "robin")
    codes = body["recovery_codes"]
    assert len(codes) == recovery.RECOVERY_CODE_COUNT and len(set(codes)) == len(codes)
    assert all(len(code) == 19 and code.count("-") == 3 for code in codes)

    assert _reset(client, "robin", codes[0].lower().replace("-", " ")).status_code == 204
    assert _login(client, "robin", "correct horse battery") == 401
    assert _login(client, "robin", NEW_PASSWORD) == 200
    again = _reset(client, "robin", codes[0], "yet another passphrase")
    assert again.status_code == 401 and again.json["code"] == "auth.invalid_reset_code"
    assert _reset(client, "robin", codes[1], "yet another passphrase").status_code == 204


def test_a_reset_signs_out_every_device(client: FlaskClient) -> None:
    body = _sign_up(client, "robin")
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert _reset(client, "robin", body["recovery_codes"][3]).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_weak_new_password_does_not_spend_the_code(client: FlaskClient) -> None:
    codes = _sign_up(client, "robin")["recovery_codes"]
    weak = _reset(client, "robin", codes[0], "robin123456")
    assert weak.status_code == 422 and "username" in weak.json["detail"]
    assert _reset(client, "robin", codes[0]).status_code == 204


def test_wrong_codes_and_unknown_usernames_get_the_same_answer(client: FlaskClient) -> None:
    codes = _sign_up(client, "robin")["recovery_codes"]
    answers = [
        _reset(client, "robin", "AAAA-AAAA-AAAA-AAAA"),
        _reset(client, "nobody-here", codes[0]),
        _reset(client, "robin", "not a code"),
        _reset(client, "robin", codes[0] + "X"),
    ]
    assert {(r.status_code, r.json["code"]) for r in answers} == {(401, "auth.invalid_reset_code")}


def test_guessing_codes_is_judged_by_the_sign_in_limit_for_that_username(client: FlaskClient) -> None:
    codes = _sign_up(client, "robin")["recovery_codes"]
    for _ in range(5):
        assert _login(client, "robin", "wrong password") == 401
    refused = _reset(client, "robin", codes[0])
    assert refused.status_code == 429 and "Retry-After" in refused.headers


def test_regenerating_needs_the_password_and_retires_the_old_codes(client: FlaskClient) -> None:
    body = _sign_up(client, "robin")
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    wrong = client.post("/api/v1/me/recovery-codes", headers=headers, json={"password": "nope"})
    assert wrong.status_code == 401
    fresh = client.post("/api/v1/me/recovery-codes", headers=headers, json={"password": "correct horse battery"})
    assert fresh.status_code == 201 and len(fresh.json["recovery_codes"]) == recovery.RECOVERY_CODE_COUNT
    assert _reset(client, "robin", body["recovery_codes"][0]).status_code == 401
    assert _reset(client, "robin", fresh.json["recovery_codes"][0]).status_code == 204


def test_a_youth_worker_resets_a_learner_their_organisation_gave_a_badge(
    venue: Venue, client: FlaskClient, sign_up: Any, clock: FakeClock
) -> None:
    learner = _claimed(venue, client, sign_up)
    issued = client.post(f"/api/v1/accounts/{learner.username.upper()}/reset-code", headers=venue.worker.headers)
    assert issued.status_code == 201, issued.json
    assert issued.json["username"] == learner.username
    code = issued.json["code"]
    assert len(code) == 11 and code[5] == "-"
    assert _reset(client, learner.username, code.replace("0", "O")).status_code == 204
    assert _login(client, learner.username, NEW_PASSWORD) == 200
    assert _reset(client, learner.username, code, "yet another passphrase").status_code == 401


def test_a_reset_code_expires_and_a_new_one_cancels_the_old(
    venue: Venue, client: FlaskClient, sign_up: Any, clock: FakeClock
) -> None:
    learner = _claimed(venue, client, sign_up)
    url = f"/api/v1/accounts/{learner.username}/reset-code"
    first = client.post(url, headers=venue.worker.headers).json["code"]
    second = client.post(url, headers=venue.worker.headers).json["code"]
    assert _reset(client, learner.username, first).status_code == 401
    clock.advance(seconds=recovery.RESET_CODE_TTL.total_seconds() + 1)
    assert _reset(client, learner.username, second).status_code == 401


def test_staff_cannot_reset_a_stranger_themselves_or_another_youth_worker(
    venue: Venue, client: FlaskClient, sign_up: Any, organisation: Any
) -> None:
    stranger = sign_up()
    other = organisation("museum", "City Museum")
    for username, headers in [
        (stranger.username, venue.worker.headers),  # never met: no badge, no claim
        (venue.worker.username, venue.worker.headers),  # themselves
        (venue.org["admin"].username, venue.worker.headers),  # a youth worker over their admin
        (other["worker"].username, venue.org["admin"].headers),  # an admin over another organisation's staff
        (stranger.username, stranger.headers),  # a learner over anyone
    ]:
        refused = client.post(f"/api/v1/accounts/{username}/reset-code", headers=headers)
        assert refused.status_code == 403 and refused.json["code"] == "auth.forbidden", username
    assert client.post("/api/v1/accounts/nobody-here/reset-code", headers=venue.worker.headers).status_code == 404
    assert client.post(f"/api/v1/accounts/{stranger.username}/reset-code").status_code == 401


def test_an_admin_resets_a_youth_worker_of_their_organisation(venue: Venue, client: FlaskClient) -> None:
    worker = venue.worker
    issued = client.post(f"/api/v1/accounts/{worker.username}/reset-code", headers=venue.org["admin"].headers)
    assert issued.status_code == 201
    assert _reset(client, worker.username, issued.json["code"]).status_code == 204


def test_issuing_reset_codes_is_rate_limited_per_staff_account(
    venue: Venue, client: FlaskClient, sign_up: Any, app: Any
) -> None:
    state = app.extensions["wallet"]
    state.settings = dataclasses.replace(state.settings, ratelimit_reset_codes_per_staff_per_hour=2)
    learner = _claimed(venue, client, sign_up)
    url = f"/api/v1/accounts/{learner.username}/reset-code"
    assert [client.post(url, headers=venue.worker.headers).status_code for _ in range(3)] == [201, 201, 429]


def test_the_operator_may_issue_for_anyone_and_codes_are_hashed_at_rest(client: FlaskClient, db: Any) -> None:
    from sqlalchemy import select

    from wallet.models import Account, AccountCode

    body = _sign_up(client, "robin")
    account = db.scalar(select(Account).where(Account.username == "robin"))
    code = recovery.issue_reset_code(db, account_id=account.id, issued_by=None, now=dt.datetime.now(dt.UTC))
    db.commit()
    stored = " ".join(row.code_hash for row in db.scalars(select(AccountCode)))
    for plain in [code, *body["recovery_codes"]]:
        assert recovery.normalise_code(plain) not in stored and plain not in stored


@given(st.text(max_size=80))
def test_normalise_code_never_raises_and_only_answers_codes(text: str) -> None:
    canonical = recovery.normalise_code(text)
    assert canonical is None or (
        len(canonical) in (recovery.RECOVERY_CODE_LENGTH, recovery.RESET_CODE_LENGTH)
        and recovery.normalise_code(recovery.format_code(canonical)) == canonical
    )


@pytest.mark.parametrize("field", ["username", "code", "new_password"])
def test_bad_input_is_a_problem_not_a_500(client: FlaskClient, field: str) -> None:
    body = {"username": "robin", "code": "AAAAA-AAAAA", "new_password": NEW_PASSWORD}
    for value in ["x\x00y", "x" * 100_000, 17, None]:
        response = client.post("/api/v1/auth/password-reset", json={**body, field: value})
        assert 400 <= response.status_code < 500 and response.mimetype == "application/problem+json", value


def test_the_scheduler_deletes_spent_and_expired_reset_codes_and_keeps_live_ones(
    committed_app: Any, clock: FakeClock
) -> None:
    from sqlalchemy import func, select

    from wallet import jobs
    from wallet.models import Account, AccountCode

    client = committed_app.test_client()
    for name in ("robin", "kim", "ash"):
        _sign_up(client, name)
    factory = committed_app.extensions["wallet"].session_factory
    with factory.begin() as db:
        ids = {a.username: a.id for a in db.scalars(select(Account))}
        spent = recovery.issue_reset_code(db, account_id=ids["robin"], issued_by=None, now=clock.now)
        recovery.issue_reset_code(db, account_id=ids["kim"], issued_by=None, now=clock.now)  # left to expire
    assert _reset(client, "robin", spent).status_code == 204
    clock.advance(minutes=20)
    with factory.begin() as db:
        live = recovery.issue_reset_code(db, account_id=ids["ash"], issued_by=None, now=clock.now)
    clock.advance(minutes=15)  # kim's has expired (30 minutes), ash's has 15 left

    settings = committed_app.extensions["wallet"].settings
    assert jobs.run_all(factory, settings=settings, now=clock.now)["accounts.purge_spent_codes"] == 2  # robin's, kim's
    with factory() as db:
        kinds = db.scalar(select(func.count()).where(AccountCode.kind == recovery.RESET))
    assert kinds == 1
    assert _reset(client, "ash", live).status_code == 204  # the live one still works
