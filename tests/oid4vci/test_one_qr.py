"""One QR for both worlds: the projector toggles to the OpenID4VCI offer, the landing page offers it too,
and what the QRs hold — decoded with a real decoder — is what a standards wallet claims with."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import cairosvg
import httpx

from tests.oid4vci.conftest import Room
from tests.qr_scan import scan


def _scan(svg: bytes) -> str:
    results = scan(cairosvg.svg2png(bytestring=svg))
    assert len(results) == 1
    return results[0].text


def test_the_projector_shows_either_qr_and_a_wallet_claims_from_the_offer_one(room: Room) -> None:
    session = room.open(pin="4821")
    link = room.http.post(f"/api/v1/claim-sessions/{session['id']}/display-link", headers=room.worker).json()["url"]
    path = urlsplit(link).path + "?" + urlsplit(link).query

    page = room.http.get(path).text
    ours = _scan(room.http.get(re.search(r'id="qr" src="([^"]+)"', page).group(1).replace("&amp;", "&")).content)
    assert ours.lower().startswith(room.running.url + "/c/")
    toggled = room.http.get(path + "&qr=oid4vci").text
    assert "<strong>other wallet apps</strong>" in toggled
    offer = _scan(room.http.get(re.search(r'id="qr" src="([^"]+)"', toggled).group(1).replace("&amp;", "&")).content)
    assert offer.startswith("openid-credential-offer://?credential_offer_uri=")

    credential = room.holder().claim(offer, tx_code="4821")
    assert credential["credentialSubject"]["achievement"]["name"] == "Soldering Basics"
    status = room.http.get(re.search(r'data-status-url="([^"]+)"', toggled).group(1).replace("&amp;", "&")).json()
    assert status["claimed"] == 1 and "qr=oid4vci" in status["qr"]


def test_the_landing_page_adds_the_badge_to_another_wallet_app(room: Room) -> None:
    session = room.open()
    url = room.http.get(f"/api/v1/claim-sessions/{session['id']}/qr", headers=room.worker).json()["url"]
    landing = room.http.get(urlsplit(url).path).text
    other = re.search(r'href="([^"]+/wallet-app)">Add to another wallet app', landing).group(1)

    page = room.http.get(other)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    link = re.search(r'href="(openid-credential-offer://[^"]+)"', page.text).group(1).replace("&amp;", "&")
    qr = _scan(room.http.get(other + "/qr.svg").content)
    assert qr == link
    assert room.holder("did:jwk").claim(qr, configuration="jwt_vc_json").count(".") == 2


def test_metadata_is_served_where_wallets_look_for_it(room: Room) -> None:
    issuer = httpx.get(room.running.url + "/.well-known/openid-credential-issuer").json()
    assert issuer["credential_issuer"] == room.running.url
    assert issuer["credential_endpoint"] == room.running.url + "/oid4vci/credential"
    server = httpx.get(room.running.url + "/.well-known/oauth-authorization-server").json()
    assert server["token_endpoint"] == room.running.url + "/oid4vci/token"
