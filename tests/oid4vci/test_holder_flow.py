"""A standards wallet (tests/oid4vci/holder.py) claims badges from a real server on 127.0.0.1, and fails
cleanly — with the right OAuth error and our stable code — wherever a claim must not succeed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.oid4vci.conftest import Room
from tests.oid4vci.holder import PRE_AUTHORIZED, Holder, HolderKey, OAuthFailure

WALLET_CLI = Path(sys.executable).with_name("wallet")


def wallet_verify(tmp_path: Path, credential: Any) -> subprocess.CompletedProcess[str]:
    """``wallet verify FILE`` as a user runs it (status lists and the issuer profile fetched from the server)."""
    path = tmp_path / ("badge.jwt" if isinstance(credential, str) else "badge.json")
    path.write_text(credential if isinstance(credential, str) else json.dumps(credential))
    env = {**os.environ, "WALLET_FETCH_ALLOW_PRIVATE": "true", "WALLET_INSTANCE_PATH": str(tmp_path / "cli")}
    return subprocess.run(
        [str(WALLET_CLI), "verify", "--json", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _subject(credential: Any) -> str:
    if isinstance(credential, str):
        import jwt as pyjwt

        return pyjwt.decode(credential, options={"verify_signature": False})["sub"]
    return credential["credentialSubject"]["id"]


def _count(room: Room, session: dict[str, Any]) -> int:
    return room.http.get(f"/api/v1/claim-sessions/{session['id']}/count", headers=room.worker).json()["claimed"]


def _failure(call: Any) -> OAuthFailure:
    with pytest.raises(OAuthFailure) as caught:
        call()
    return caught.value


def _token_for(holder: Holder, offer_uri: str, tx_code: str | None) -> tuple[dict[str, Any], str]:
    offer = holder.read_offer(offer_uri)
    metadata = holder.issuer_metadata(offer["credential_issuer"])
    grant = offer["grants"][PRE_AUTHORIZED]
    return metadata, holder.token(holder.token_endpoint(metadata), grant["pre-authorized_code"], tx_code)[
        "access_token"
    ]


def test_a_wallet_scans_the_rooms_qr_enters_the_pin_and_holds_a_badge_that_verifies(room: Room, tmp_path: Path) -> None:
    session = room.open(pin="4821")
    offer = room.offer(session)
    assert offer["offer"].startswith("openid-credential-offer://?credential_offer_uri=")
    holder = room.holder("did:key")

    credential = holder.claim(offer["offer"], tx_code="4821", configuration="ldp_vc")

    assert credential["credentialSubject"]["id"] == holder.key.did
    assert credential["credentialSubject"]["achievement"]["name"] == "Soldering Basics"
    assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert _count(room, session) == 1
    checked = wallet_verify(tmp_path, credential)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["outcome"] == "valid"


def test_a_p256_wallet_gets_a_vc_jwt_from_an_offer_by_value_and_it_verifies(room: Room, tmp_path: Path) -> None:
    session = room.open()
    offer = room.offer(session, by="value")
    assert offer["credential_offer"]["grants"][PRE_AUTHORIZED]["pre-authorized_code"]
    assert "tx_code" not in offer["credential_offer"]["grants"][PRE_AUTHORIZED]
    holder = room.holder("did:jwk")

    credential = holder.claim(offer["offer"], configuration="jwt_vc_json")

    assert isinstance(credential, str) and credential.count(".") == 2
    assert _subject(credential) == holder.key.did
    checked = wallet_verify(tmp_path, credential)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_key_sent_as_a_bare_jwk_is_bound_as_did_jwk(room: Room) -> None:
    session = room.open()
    holder = room.holder("jwk")
    credential = holder.claim(room.offer(session)["offer"])
    assert _subject(credential) == holder.key.did
    assert holder.key.did.startswith("did:jwk:")


def test_every_fetch_of_the_rooms_offer_gets_its_own_single_use_code(room: Room) -> None:
    session = room.open()
    uri = room.offer(session)["offer"]
    first, second = room.holder().read_offer(uri), room.holder().read_offer(uri)
    codes = {o["grants"][PRE_AUTHORIZED]["pre-authorized_code"] for o in (first, second)}
    assert len(codes) == 2
    assert first["credential_configuration_ids"] == ["OpenBadgeCredential_ldp_vc", "OpenBadgeCredential_jwt_vc_json"]


def test_a_replayed_pre_authorized_code_is_refused(room: Room) -> None:
    session = room.open()
    holder = room.holder()
    offer = holder.read_offer(room.offer(session)["offer"])
    metadata = holder.issuer_metadata(offer["credential_issuer"])
    endpoint = holder.token_endpoint(metadata)
    code = offer["grants"][PRE_AUTHORIZED]["pre-authorized_code"]
    holder.token(endpoint, code, None)

    replay = _failure(lambda: room.holder().token(endpoint, code, None))
    assert (replay.status, replay.error, replay.code) == (400, "invalid_grant", "claim.already_claimed")
    unknown = _failure(lambda: holder.token(endpoint, "not-a-code", None))
    assert (unknown.error, unknown.code) == ("invalid_grant", "claim.unknown_code")


def test_a_missing_or_wrong_pin_is_told_apart_from_an_expired_code(room: Room) -> None:
    session = room.open(pin="4821")
    holder = room.holder()
    offer = holder.read_offer(room.offer(session)["offer"])
    assert offer["grants"][PRE_AUTHORIZED]["tx_code"] == {
        "input_mode": "numeric",
        "length": 4,
        "description": "Enter the PIN the youth worker tells the room.",
    }
    metadata = holder.issuer_metadata(offer["credential_issuer"])
    endpoint = holder.token_endpoint(metadata)
    code = offer["grants"][PRE_AUTHORIZED]["pre-authorized_code"]

    missing = _failure(lambda: holder.token(endpoint, code, None))
    assert (missing.error, missing.code) == ("invalid_request", "claim.pin_required")
    wrong = _failure(lambda: holder.token(endpoint, code, "1111"))
    assert (wrong.error, wrong.code, wrong.body["attempts_left"]) == ("invalid_grant", "claim.wrong_pin", 4)
    room.running.clock.advance(minutes=11)
    expired = _failure(lambda: holder.token(endpoint, code, "4821"))
    assert (expired.error, expired.code) == ("invalid_grant", "claim.expired_code")
    assert expired.description != wrong.description


def test_repeated_wrong_pins_lock_the_code_out(room: Room) -> None:
    session = room.open(pin="4821")
    holder = room.holder()
    offer = holder.read_offer(room.offer(session)["offer"])
    endpoint = holder.token_endpoint(holder.issuer_metadata(offer["credential_issuer"]))
    code = offer["grants"][PRE_AUTHORIZED]["pre-authorized_code"]
    codes = [_failure(lambda: holder.token(endpoint, code, "0000")).code for _ in range(5)]
    assert codes == ["claim.wrong_pin"] * 4 + ["claim.locked_out"]

    locked = _failure(lambda: holder.token(endpoint, code, "4821"))
    assert (locked.error, locked.code) == ("invalid_grant", "claim.locked_out")
    assert locked.body["retry_after"] > 0
    room.running.clock.advance(minutes=9)  # the code still lives (10 min); its lockout lasts 15
    assert _failure(lambda: holder.token(endpoint, code, "4821")).code == "claim.locked_out"


def test_a_bad_missing_or_replayed_nonce_is_refused(room: Room) -> None:
    session = room.open()
    holder = room.holder()
    metadata, access = _token_for(holder, room.offer(session)["offer"], None)
    audience = metadata["credential_issuer"]
    config_id = "OpenBadgeCredential_ldp_vc"

    made_up = _failure(
        lambda: holder.request_credential(metadata, access, config_id, holder.proof(audience=audience, nonce="made-up"))
    )
    assert (made_up.error, made_up.code) == ("invalid_nonce", "oid4vci.invalid_nonce")
    missing = _failure(
        lambda: holder.request_credential(metadata, access, config_id, holder.proof(audience=audience, nonce=None))
    )
    assert missing.error == "invalid_proof"
    nonce = holder.nonce(metadata)
    holder.request_credential(metadata, access, config_id, holder.proof(audience=audience, nonce=nonce))
    replayed = _failure(
        lambda: holder.request_credential(metadata, access, config_id, holder.proof(audience=audience, nonce=nonce))
    )
    assert replayed.error == "invalid_nonce"
    room.running.clock.advance(minutes=1)
    stale = holder.nonce(metadata)
    room.running.clock.advance(minutes=6)
    late = _failure(
        lambda: holder.request_credential(metadata, access, config_id, holder.proof(audience=audience, nonce=stale))
    )
    assert late.error in ("invalid_nonce", "invalid_token")


def test_a_proof_signed_by_another_key_or_for_another_issuer_is_refused(room: Room) -> None:
    session = room.open()
    holder = room.holder()
    metadata, access = _token_for(holder, room.offer(session)["offer"], None)
    audience = metadata["credential_issuer"]
    config_id = "OpenBadgeCredential_ldp_vc"

    def attempt(**proof: Any) -> OAuthFailure:
        return _failure(
            lambda: holder.request_credential(
                metadata, access, config_id, holder.proof(nonce=holder.nonce(metadata), **proof)
            )
        )

    assert attempt(audience=audience, signer=HolderKey("did:key")).error == "invalid_proof"
    assert attempt(audience="https://elsewhere.example").error == "invalid_proof"
    assert attempt(audience=audience, typ="JWT").error == "invalid_proof"
    old = attempt(audience=audience, iat=room.running.clock.now.timestamp() - 600)
    assert (old.error, old.code) == ("invalid_proof", "oid4vci.invalid_proof")
    assert _count(room, session) == 0
    assert holder.request_credential(
        metadata, access, config_id, holder.proof(audience=audience, nonce=holder.nonce(metadata))
    )


def test_a_full_session_refuses_the_next_wallet_and_shares_its_cap_with_the_app(room: Room) -> None:
    session = room.open(cap=2)
    learner = room.http.post(
        "/api/v1/accounts", json={"username": "sam", "password": "correct horse battery", "device": {"name": "phone"}}
    ).json()
    qr = room.http.get(f"/api/v1/claim-sessions/{session['id']}/qr", headers=room.worker).json()
    redeemed = room.http.post(
        "/api/v1/claims/redeem",
        json={"code": qr["url"]},
        headers={"Authorization": f"Bearer {learner['access_token']}"},
    )
    assert redeemed.status_code == 201
    uri = room.offer(session)["offer"]
    room.holder().claim(uri)

    full = _failure(lambda: room.holder().claim(uri))
    assert (full.error, full.code) == ("credential_request_denied", "claim.session_full")
    assert _count(room, session) == 2


def test_an_ended_or_paused_session_refuses_wallets(room: Room) -> None:
    session = room.open()
    uri = room.offer(session)["offer"]
    holder = room.holder()
    offer = holder.read_offer(uri)  # a code minted while the session was open
    endpoint = holder.token_endpoint(holder.issuer_metadata(offer["credential_issuer"]))

    room.patch(session, state="paused")
    paused = _failure(lambda: room.holder().read_offer(uri))
    assert (paused.status, paused.code) == (409, "claim.paused")
    room.patch(session, state="open")
    room.running.clock.advance(hours=2, minutes=1)
    ended = _failure(lambda: room.holder().read_offer(uri))
    assert ended.code == "claim.ended"
    late = _failure(lambda: holder.token(endpoint, offer["grants"][PRE_AUTHORIZED]["pre-authorized_code"], None))
    assert (late.error, late.code) in {("invalid_grant", "claim.ended"), ("invalid_grant", "claim.expired_code")}


def test_a_second_claim_by_the_same_wallet_returns_the_same_credential(room: Room) -> None:
    session = room.open()
    holder = room.holder()
    first = holder.claim(room.offer(session)["offer"])
    again = holder.claim(room.offer(session)["offer"])
    as_jwt = holder.claim(room.offer(session)["offer"], configuration="jwt_vc_json")

    assert again == first
    import jwt as pyjwt

    assert pyjwt.decode(as_jwt, options={"verify_signature": False})["jti"] == first["id"]
    assert _count(room, session) == 1


def test_one_access_token_never_serves_two_keys(room: Room) -> None:
    session = room.open()
    holder, other = room.holder(), room.holder()
    metadata, access = _token_for(holder, room.offer(session)["offer"], None)
    audience = metadata["credential_issuer"]
    holder.request_credential(
        metadata, access, "OpenBadgeCredential_ldp_vc", holder.proof(audience=audience, nonce=holder.nonce(metadata))
    )
    stolen = _failure(
        lambda: other.request_credential(
            metadata, access, "OpenBadgeCredential_ldp_vc", other.proof(audience=audience, nonce=other.nonce(metadata))
        )
    )
    assert (stolen.error, stolen.code) == ("credential_request_denied", "oid4vci.token_bound")
    bad = _failure(lambda: holder.request_credential(metadata, "nope", "OpenBadgeCredential_ldp_vc", "x.y.z"))
    assert (bad.status, bad.error) == (401, "invalid_token")


def test_a_single_use_card_serves_one_wallet(room: Room) -> None:
    session = room.open(mode="single_use", codes=2, cap=2)
    uri = room.offer(session, card=1)["offer"]
    room.holder().claim(uri)

    spent = _failure(lambda: room.holder().claim(uri))
    assert spent.code == "claim.already_claimed"
    assert _count(room, session) == 1
    room.holder().claim(room.offer(session, card=2, by="value")["offer"])
    assert _count(room, session) == 2


def test_protocol_errors_are_oauth_json_never_html(room: Room) -> None:
    token = room.http.post("/oid4vci/token", json={"grant_type": PRE_AUTHORIZED})
    assert token.status_code == 400 and token.json()["error"] == "invalid_request"
    grant = room.http.post("/oid4vci/token", data={"grant_type": "authorization_code", "code": "x"})
    assert grant.json()["error"] == "unsupported_grant_type"
    credential = room.http.post("/oid4vci/credential", content=b"{", headers={"Content-Type": "application/json"})
    assert credential.status_code == 401 and credential.json()["error"] == "invalid_token"
    offer = room.http.get("/oid4vci/offer/NOTACODE1")
    assert offer.status_code == 404 and offer.json()["code"] == "claim.unknown_code"


def test_moderated_sessions_are_not_offered(room: Room) -> None:
    session = room.open(moderated=True)
    response = room.http.post(f"/api/v1/claim-sessions/{session['id']}/oid4vci-offer", headers=room.worker, json={})
    assert response.status_code == 409 and response.json()["code"] == "oid4vci.moderated_session"
