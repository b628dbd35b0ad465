"""What youth workers project and print decodes with a real QR decoder and claims; offline rules hold."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pypdfium2
from flask.testing import FlaskClient

from tests.claims.conftest import Venue, redeem
from tests.qr_scan import scan_texts


def test_the_png_and_svg_qr_decode_to_the_claim_url_and_are_cached_by_etag(venue: Venue, client: FlaskClient) -> None:
    import cairosvg

    session = venue.open()
    url = venue.qr(session)["url"]
    base = f"/api/v1/claim-sessions/{session['id']}"
    png = client.get(f"{base}/qr.png?box_size=6&error_correction=Q", headers=venue.worker.headers)
    assert png.mimetype == "image/png"
    assert scan_texts(png.data) == [url]
    again = client.get(
        f"{base}/qr.png?box_size=6&error_correction=Q",
        headers={**venue.worker.headers, "If-None-Match": png.headers["ETag"]},
    )
    assert again.status_code == 304
    other = client.get(f"{base}/qr.png?box_size=6&error_correction=H", headers=venue.worker.headers)
    assert other.headers["ETag"] != png.headers["ETag"]
    svg = client.get(f"{base}/qr.svg", headers=venue.worker.headers)
    assert svg.mimetype == "image/svg+xml"
    assert scan_texts(cairosvg.svg2png(bytestring=svg.data)) == [url]
    bad = client.get(f"{base}/qr.png?box_size=400", headers=venue.worker.headers)
    assert bad.status_code == 422


def test_every_printed_card_scans_and_claims(venue: Venue, client: FlaskClient, sign_up: Any) -> None:
    session = venue.open(mode="single_use", codes=9, cap=None)
    pdf = client.get(f"/api/v1/claim-sessions/{session['id']}/cards.pdf", headers=venue.worker.headers)
    assert pdf.mimetype == "application/pdf"
    document = pypdfium2.PdfDocument(pdf.data)
    assert len(document) == 2  # eight cards per page
    urls: list[str] = []
    for page in document:
        urls += scan_texts(page.render(scale=3).to_pil())
    assert len(set(urls)) == 9
    for index, url in enumerate(urls):
        assert redeem(client, sign_up(f"learner{index}"), url).status_code == 201
    count = client.get(f"/api/v1/claim-sessions/{session['id']}/count", headers=venue.worker.headers).json
    assert count["claimed"] == 9


def test_a_rotating_code_dies_after_the_grace_but_the_display_shows_a_fresh_one(
    venue: Venue, client: FlaskClient, sign_up: Any
) -> None:
    session = venue.open(rotating=30)
    first = venue.qr(session)
    venue.clock.advance(seconds=60)
    assert redeem(client, sign_up("sam"), first["url"]).status_code == 201  # within two periods
    venue.clock.advance(seconds=60)
    late = redeem(client, sign_up("kim"), first["url"])
    assert (late.status_code, late.json["code"]) == (410, "claim.expired_code")
    assert redeem(client, sign_up("kim2"), venue.qr(session)["url"]).status_code == 201


def test_an_offline_scan_is_judged_at_its_scan_time_within_the_grace(
    venue: Venue, client: FlaskClient, sign_up: Any
) -> None:
    now = venue.clock.now
    session = venue.open(rotating=30, pin="4821", ends_at=(now + dt.timedelta(hours=1)).isoformat())
    shown = venue.qr(session)
    scanned_at = venue.clock.now
    sam, kim, lee = sign_up("sam"), sign_up("kim"), sign_up("lee")
    venue.clock.advance(hours=3)  # the bus home, then wifi
    queued = redeem(client, sam, shown["url"], pin="4821", scanned_at=scanned_at.isoformat())
    assert queued.status_code == 201
    lied = redeem(client, kim, shown["url"], pin="4821", scanned_at=(scanned_at + dt.timedelta(minutes=50)).isoformat())
    assert lied.json["code"] == "claim.expired_code"  # the step was not fresh at that claimed time
    wrong_pin = redeem(client, lee, shown["url"], pin="0000", scanned_at=scanned_at.isoformat())
    assert wrong_pin.json["code"] == "claim.wrong_pin"


def test_an_offline_scan_too_old_or_from_the_future_is_not_believed(
    venue: Venue, client: FlaskClient, sign_up: Any
) -> None:
    now = venue.clock.now
    session = venue.open(ends_at=(now + dt.timedelta(hours=1)).isoformat())
    url = venue.qr(session)["url"]
    sam, kim, lee = sign_up("sam"), sign_up("kim"), sign_up("lee")
    venue.clock.advance(hours=12, minutes=45)
    too_old = redeem(client, sam, url, scanned_at=now.isoformat())
    assert (too_old.status_code, too_old.json["code"]) == (410, "claim.expired_code")
    future = redeem(client, kim, url, scanned_at=(now + dt.timedelta(minutes=50)).isoformat())
    assert future.status_code == 201  # a scan during the session, queued under 12 hours
    tomorrow = redeem(client, lee, url, scanned_at=(venue.clock.now + dt.timedelta(days=1)).isoformat())
    assert tomorrow.json["code"] == "claim.ended"  # a future scanned_at counts as now


def test_the_qr_payload_fits_a_small_qr_version(venue: Venue) -> None:
    from wallet.qr.render import qr_version

    static = venue.qr(venue.open())
    rotating = venue.qr(venue.open(rotating=30))
    assert qr_version(static["url"], "M") <= 5 and qr_version(rotating["url"], "M") <= 5
    assert len(static["fallback"].replace("-", "")) == 9
