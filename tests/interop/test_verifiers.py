"""The server's credentials verify in the verifiers people use, as shipped, and a revocation shows there.

Through the real server (tests/live_server.py): an in-app claim, an admin award, both OpenID4VCI formats
as claimed by two third-party holders (test_holders.py), and the status list credential itself, checked
by the DCC's verifier-core and Digital Bazaar's vc.js (Data Integrity) and did-jwt-vc (VC-JWT).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.interop.conftest import Interop

pytestmark = pytest.mark.slow  # node and a live server: once, in the SQLite pass


def _issued(interop: Interop) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """An in-app claim, an award, and the status list credential they point at."""
    learner = interop.sign_up("sam")
    interop.sign_up("kim")
    claimed = interop.claim_in_app(learner, interop.open_session(pin="4821"), pin="4821")["credential"]
    award = interop.award("kim")
    list_url = award["credential"]["credentialStatus"]["statusListCredential"]
    status_list = interop.client.get(list_url.removeprefix(interop.running.url)).json
    return claimed, award, status_list


def _assert_genuine(result: dict[str, Any], *, revoked: bool = False) -> None:
    core, vcjs = result["verifierCore"], result["vcJs"]
    assert core["verified"], core
    assert vcjs["signature"], vcjs
    if revoked:
        assert core["revoked"] is True, core
        assert vcjs["revoked"] is True, vcjs
    else:
        assert core["revoked"] in (False, None), core
        assert vcjs["verified"], vcjs


def test_did_web_badges_verify_in_verifier_core_and_vc_js_and_show_a_revocation(did_web_server: Interop) -> None:
    claimed, award, status_list = _issued(did_web_server)
    assert claimed["issuer"]["id"].startswith("did:web:wallet.example%3A")
    items = [
        {"name": "claim", "credential": claimed},
        {"name": "award", "credential": award["credential"]},
        {"name": "status-list", "credential": status_list},
    ]

    before = did_web_server.node("verify.mjs", {"items": items})

    for name in ("claim", "award", "status-list"):
        _assert_genuine(before[name])
    assert before["claim"]["verifierCore"]["revoked"] is False

    did_web_server.revoke(award["id"])
    after = did_web_server.node("verify.mjs", {"items": items[:2]})

    _assert_genuine(after["award"], revoked=True)
    _assert_genuine(after["claim"])


def test_did_key_badges_verify_in_verifier_core_and_vc_js_and_show_a_revocation(did_key_server: Interop) -> None:
    claimed, award, status_list = _issued(did_key_server)
    assert claimed["issuer"]["id"] == claimed["proof"]["verificationMethod"].split("#")[0]
    items = [
        {"name": "claim", "credential": claimed},
        {"name": "award", "credential": award["credential"]},
        {"name": "status-list", "credential": status_list},
    ]

    before = did_key_server.node("verify.mjs", {"items": items})

    for name in ("claim", "award", "status-list"):
        _assert_genuine(before[name])

    did_key_server.revoke(award["id"])
    after = did_key_server.node("verify.mjs", {"items": items[:2]})

    _assert_genuine(after["award"], revoked=True)
    _assert_genuine(after["claim"])


def test_openid4vci_credentials_verify_in_verifier_core_vc_js_and_did_jwt_vc(did_key_server: Interop) -> None:
    """Both formats, claimed with a PIN over OpenID4VCI (our test holder), checked by the three libraries."""
    import httpx

    from tests.oid4vci.holder import Holder, HolderKey

    session = did_key_server.open_session(pin="4821")
    with httpx.Client(base_url=did_key_server.running.url, timeout=30) as http:
        clock = did_key_server.running.clock
        ldp = Holder(http, lambda: clock.now.timestamp(), HolderKey("did:key")).claim(
            did_key_server.offer(session), tx_code="4821", configuration="ldp_vc"
        )
        jwt = Holder(http, lambda: clock.now.timestamp(), HolderKey("did:key")).claim(
            did_key_server.offer(session), tx_code="4821", configuration="jwt_vc_json"
        )

    results = did_key_server.node(
        "verify.mjs", {"items": [{"name": "ldp", "credential": ldp}, {"name": "jwt", "credential": jwt}]}
    )

    _assert_genuine(results["ldp"])
    assert results["jwt"]["didJwtVc"]["verified"], results["jwt"]
    assert results["jwt"]["didJwtVc"]["issuer"] == ldp["issuer"]["id"], results["jwt"]


def test_sphereons_holder_claims_both_formats_with_a_pin_and_the_badges_verify(did_key_server: Interop) -> None:
    session = did_key_server.open_session(pin="4821")
    offers = [
        {"name": fmt, "offer": did_key_server.offer(session), "pin": "4821", "format": fmt}
        for fmt in ("ldp_vc", "jwt_vc_json")
    ]

    claimed = did_key_server.node("holders.mjs", {"offers": offers})

    ldp, jwt = claimed["ldp_vc"], claimed["jwt_vc_json"]
    assert ldp["credential"]["credentialSubject"]["id"] == ldp["holder"]
    assert isinstance(jwt["credential"], str) and jwt["credential"].count(".") == 2
    results = did_key_server.node(
        "verify.mjs",
        {"items": [{"name": "ldp", "credential": ldp["credential"]}, {"name": "jwt", "credential": jwt["credential"]}]},
    )
    _assert_genuine(results["ldp"])
    assert results["jwt"]["didJwtVc"]["verified"], results["jwt"]


def test_the_openwallet_foundation_holder_claims_both_formats_with_a_pin_and_the_badges_verify(
    did_web_server: Interop,
) -> None:
    """@openid4vc/openid4vci (oid4vc-ts): offer by reference, metadata, tx_code, a did:key JWT proof.

    It accepts only an https credential issuer, so it claims from the did:web server (real TLS).
    """
    session = did_web_server.open_session(pin="4821")
    offers = [
        {"name": fmt, "offer": did_web_server.offer(session), "pin": "4821", "format": fmt}
        for fmt in ("ldp_vc", "jwt_vc_json")
    ]

    claimed = did_web_server.node("owf_holder.mjs", {"offers": offers})

    ldp, jwt = claimed["ldp_vc"], claimed["jwt_vc_json"]
    assert ldp["credential"]["credentialSubject"]["id"] == ldp["holder"]
    assert isinstance(jwt["credential"], str) and jwt["credential"].count(".") == 2
    results = did_web_server.node(
        "verify.mjs",
        {"items": [{"name": "ldp", "credential": ldp["credential"]}, {"name": "jwt", "credential": jwt["credential"]}]},
    )
    _assert_genuine(results["ldp"])
    assert results["jwt"]["didJwtVc"]["verified"], results["jwt"]
