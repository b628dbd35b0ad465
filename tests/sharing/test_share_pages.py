"""What an employer sees when a learner sends them a link, and what the learner controls."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest

from tests.credential_factories import ISSUER, LocalServer, json_reply, ob3_badge, sign_as
from tests.qr_scan import scan_texts
from tests.sharing.conftest import path_of, revoke_badge, share
from wallet.credentials.baking import unbake_png
from wallet.credentials.status_list import MIN_BITS, build_status_list_credential
from wallet.holding.services import add_credential


def sentence(response: Any) -> str:
    match = re.search(r'id="verdict-sentence">(.*?)</p>', response.get_data(as_text=True), re.S)
    assert match, response.get_data(as_text=True)[:500]
    return match.group(1).replace("&#39;", "'")


def rows(response: Any) -> dict[str, str]:
    html = response.get_data(as_text=True).replace("&#39;", "'")
    return dict(re.findall(r"<strong>([^<]+):</strong> ([^<]+)</span>", html))


def test_a_share_page_proves_the_badge_genuine_in_one_sentence(client: Any, award_badge: Any) -> None:
    awarded = award_badge()
    link = share(client, awarded, label="for Acme interview")
    page = client.get(path_of(link))
    assert page.status_code == 200
    assert sentence(page) == "Genuine: issued by Makerspace North to Sam Rivera on 23 November 2026."
    assert rows(page) == {
        "Signature": "Valid: the badge has not been altered since it was signed",
        "Issuer's key": "Matches: signed with a key Makerspace North publishes",
        "Revocation": "Not revoked: checked with the issuer's status list",
        "Expiry": "Not expired: no expiry date",
        "Issuer": "Known: Makerspace North issues badges on this service",
        "Issued to": "Sam Rivera, who is sharing it: it names their wallet account here",
    }
    html = page.get_data(as_text=True)
    for text in (
        "Welding 101",
        "Completed 40 hours of supervised MIG welding.",
        "Pass the practical assessment.",
        "MIG welding",
        "Last checked 23 November 2026 at 10:00 UTC",
    ):
        assert text in html
    assert 'href="/issuers/makerspace-north/about"' in html
    assert "for Acme interview" not in html  # the label is the learner's note, not the employer's


def test_the_page_is_private_by_default_and_indexable_only_when_the_learner_says_so(
    client: Any, award_badge: Any
) -> None:
    awarded = award_badge()
    private = client.get(path_of(share(client, awarded)))
    assert private.headers["X-Robots-Tag"].startswith("noindex")
    assert '<meta name="robots" content="noindex' in private.get_data(as_text=True)
    public = client.get(path_of(share(client, awarded, allow_indexing=True)))
    assert "noindex" not in public.headers["X-Robots-Tag"]
    assert '<meta name="robots" content="index, follow">' in public.get_data(as_text=True)


def test_the_page_loads_nothing_from_anyone_else(client: Any, award_badge: Any) -> None:
    page = client.get(path_of(share(client, award_badge())))
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "img-src 'self'" in csp
    html = page.get_data(as_text=True)
    assert "<script" not in html and "style=" not in html
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"  # the slug never leaks to linked sites


def test_link_previews_have_open_graph_and_twitter_tags(client: Any, award_badge: Any) -> None:
    link = share(client, award_badge())
    html = client.get(path_of(link)).get_data(as_text=True)
    assert f'<meta property="og:url" content="{link["url"]}">' in html
    assert '<meta property="og:title" content="Welding 101 · Makerspace North">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    assert re.search(r'<meta property="og:description" content="Genuine: issued by', html)


def test_the_employers_page_offers_no_add_to_linkedin(client: Any, award_badge: Any) -> None:
    """Adding a badge to a LinkedIn profile is the owner's act: it lives on their own share page
    (tests/badges/test_badge_pages.py), not on the page the employer reads."""
    link = share(client, award_badge())
    html = client.get(path_of(link)).get_data(as_text=True)
    assert "Genuine" in html
    assert "linkedin" not in html.lower()


def test_views_are_counted_for_the_learner(client: Any, award_badge: Any, clock: Any) -> None:
    awarded = award_badge()
    link = share(client, awarded)
    assert (link["view_count"], link["last_viewed_at"]) == (0, None)
    client.get(path_of(link))
    clock.advance(minutes=5)
    client.get(path_of(link))
    client.get(path_of(link) + ".json")  # machine reads are not page views
    mine = client.get(f"/api/v1/shares/{link['id']}", headers=awarded.learner.headers).json
    assert mine["view_count"] == 2
    assert mine["last_viewed_at"].startswith("2026-11-23T10:05")


def test_the_same_url_gives_machines_the_credential_exactly_as_issued(client: Any, award_badge: Any, db: Any) -> None:
    from wallet.models import HeldCredential

    awarded = award_badge()
    link = share(client, awarded)
    held = db.get(HeldCredential, awarded.held_id)
    negotiated = client.get(path_of(link), headers={"Accept": "application/ld+json"})
    assert negotiated.status_code == 200
    assert negotiated.mimetype == "application/ld+json"
    assert negotiated.get_data() == held.raw
    assert client.get(path_of(link) + ".json").get_data() == held.raw
    assert "Accept" in negotiated.headers["Vary"]


def test_the_png_download_carries_the_credential_baked_in(client: Any, award_badge: Any, db: Any) -> None:
    from wallet.models import HeldCredential

    awarded = award_badge()
    link = share(client, awarded)
    png = client.get(path_of(link) + ".png")
    assert png.mimetype == "image/png"
    assert unbake_png(png.get_data()).encode("utf-8") == db.get(HeldCredential, awarded.held_id).raw


def test_the_qr_code_opens_the_share_link(client: Any, award_badge: Any) -> None:
    link = share(client, award_badge())
    qr = client.get(path_of(link) + "/qr.png")
    assert scan_texts(qr.get_data()) == [link["url"]]


def test_a_revoked_badge_is_shown_as_revoked_at_the_next_view(
    app: Any, client: Any, db: Any, award_badge: Any, clock: Any
) -> None:
    awarded = award_badge()
    link = share(client, awarded)
    assert sentence(client.get(path_of(link))).startswith("Genuine:")
    clock.advance(minutes=1)
    revoke_badge(app, db, awarded, clock.now)
    page = client.get(path_of(link))
    assert page.status_code == 200
    assert sentence(page) == (
        "Revoked: Makerspace North has withdrawn this badge, which was issued by "
        "Makerspace North to Sam Rivera on 23 November 2026."
    )
    assert rows(page)["Revocation"] == "Revoked by the issuer"


def test_an_expired_badge_is_shown_as_expired_while_the_link_still_works(
    client: Any, award_badge: Any, clock: Any
) -> None:
    link = share(client, award_badge(validity_days=30))
    assert sentence(client.get(path_of(link))).startswith("Genuine:")
    clock.advance(days=31)
    page = client.get(path_of(link))
    assert page.status_code == 200
    assert sentence(page) == (
        "Expired: genuine, issued by Makerspace North to Sam Rivera on 23 November 2026, "
        "but it expired on 23 December 2026."
    )
    assert rows(page)["Expiry"] == "Expired on 23 December 2026"


def test_an_expired_link_is_a_friendly_410_and_never_the_badges_expiry(
    client: Any, award_badge: Any, clock: Any
) -> None:
    link = share(client, award_badge(), expires_at="2026-11-24T10:00:00Z")
    assert client.get(path_of(link)).status_code == 200
    clock.advance(days=2)
    page = client.get(path_of(link))
    assert page.status_code == 410
    assert "This link has expired" in page.get_data(as_text=True)
    assert "Welding 101" not in page.get_data(as_text=True)
    machine = client.get(path_of(link), headers={"Accept": "application/ld+json"})
    assert (machine.status_code, machine.json["code"]) == (410, "share.expired")


def test_the_learner_can_revoke_a_link_at_any_time(client: Any, award_badge: Any) -> None:
    awarded = award_badge()
    link = share(client, awarded)
    revoked = client.post(f"/api/v1/shares/{link['id']}/revoke", headers=awarded.learner.headers)
    assert (revoked.status_code, revoked.json["state"]) == (200, "revoked")
    for suffix in ("", ".json", ".png", "/qr.png", "/image"):
        assert client.get(path_of(link) + suffix).status_code == 410, suffix
    assert "turned the link off" in client.get(path_of(link)).get_data(as_text=True)
    again = client.post(f"/api/v1/shares/{link['id']}/revoke", headers=awarded.learner.headers).json
    assert again["revoked_at"] == revoked.json["revoked_at"]
    changed = client.patch(f"/api/v1/shares/{link['id']}", headers=awarded.learner.headers, json={"label": "x"})
    assert (changed.status_code, changed.json["code"]) == (410, "share.revoked")


def test_deleting_the_credential_ends_its_links(client: Any, award_badge: Any, db: Any, clock: Any) -> None:
    from wallet.holding.services import delete_credential

    awarded = award_badge()
    link = share(client, awarded)
    delete_credential(
        db, account_id=uuid.UUID(awarded.learner.account_id), credential_id=awarded.held_id, now=clock.now
    )
    db.commit()
    assert client.get(path_of(link)).status_code == 410


def test_evidence_is_shown_only_when_the_learner_chooses(client: Any, award_badge: Any) -> None:
    from tests.sharing.conftest import EVIDENCE

    awarded = award_badge(evidence=EVIDENCE)
    hidden = client.get(path_of(share(client, awarded))).get_data(as_text=True)
    shown = client.get(path_of(share(client, awarded, show_evidence=True))).get_data(as_text=True)
    assert "Photos of the practical" not in hidden
    assert "Photos of the practical" in shown
    assert 'href="https://portfolio.example/weld-photos"' in shown


def test_a_link_never_carries_the_learners_details(client: Any, award_badge: Any, sign_up: Any) -> None:
    learner = sign_up("jordan-lee", display_name="Jordan")
    link = share(client, award_badge(learner))
    slug = link["url"].rsplit("/s/", 1)[1]
    assert len(slug) >= 22 and "jordan" not in slug.lower() and learner.account_id not in link["url"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", slug)


def test_unknown_slugs_are_404_and_too_many_guesses_are_refused(client: Any, award_badge: Any) -> None:
    link = share(client, award_badge())
    assert client.get("/s/not-a-real-slug").status_code == 404
    for _ in range(40):
        client.get(f"/s/{uuid.uuid4().hex}")
    limited = client.get(path_of(link))
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0


def test_the_issuer_page_shows_who_they_are_their_keys_and_badges(client: Any, award_badge: Any, db: Any) -> None:
    from wallet.models import IssuerKey

    award_badge(name="Laser cutting basics")
    page = client.get("/issuers/makerspace-north/about")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<h1 id="issuer-name">Makerspace North</h1>' in html
    assert "Laser cutting basics" in html
    key = db.query(IssuerKey).one()
    assert "did:web:wallet.test:issuers:makerspace-north" in html
    assert f"did:web:wallet.test:issuers:makerspace-north#{key.public_key_multibase}" in html
    assert client.get("/issuers/nobody/about").status_code == 404


# --- a badge from an issuer elsewhere, whose status list goes down ----------------------------------------


def _remote_badge(status_url: str) -> dict[str, Any]:
    credential = ob3_badge(
        credential_id="urn:uuid:2b0e9a1c-5d4f-4c1e-9a7b-3f1d2c4b5a69",
        issuer_name="Riverside College",
        valid_from="2026-01-15T09:00:00Z",
        name="Introduction to Welding",
        achievement_id="https://riverside.example/achievements/welding-101",
        achievement_name="Welding 101",
        description="Forty hours of MIG welding.",
        narrative="Pass the practical.",
        status_url=status_url,
        status_index=7,
    )
    return sign_as(credential, created="2026-01-15T09:00:00Z")


def _status_list() -> dict[str, Any]:
    return sign_as(
        build_status_list_credential(
            list_id="urn:example:list",
            issuer=ISSUER,
            purpose="revocation",
            bits=bytearray(MIN_BITS // 8),
            valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        ),
        created="2026-01-01T00:00:00Z",
    )


@pytest.fixture
def remote_issuer() -> Any:
    with LocalServer() as server:
        server.routes["/status/1"] = json_reply(_status_list())
        yield server


def test_an_unreachable_status_list_is_could_not_check_never_not_revoked(
    client: Any, db: Any, sign_up: Any, clock: Any, remote_issuer: Any
) -> None:
    learner = sign_up(display_name="Ana")
    raw = json.dumps(_remote_badge(remote_issuer.url("/status/1"))).encode()
    held = add_credential(
        db,
        account_id=uuid.UUID(learner.account_id),
        raw=raw,
        media_type="application/json",
        source="import",
        now=clock.now,
    )
    db.commit()
    response = client.post("/api/v1/shares", headers=learner.headers, json={"credential_id": str(held.id)})
    link = response.json
    unbound = " It is not bound to Ana, who is sharing it: nothing shows it was issued to them."
    assert sentence(client.get(path_of(link))) == (
        "Genuine: issued by Riverside College to someone identified only by did:example:learner-7 on "
        "15 January 2026." + unbound
    )
    remote_issuer.routes["/status/1"] = (503, {"Content-Type": "text/plain"}, b"down")
    clock.advance(minutes=10)  # past the remote list's cache bucket
    page = client.get(path_of(link))
    assert sentence(page) == (
        "Could not fully check: this badge says it was issued by Riverside College to someone identified only "
        "by did:example:learner-7 on 15 January 2026, but we could not check whether it has been revoked." + unbound
    )
    assert rows(page)["Revocation"] == "Could not check: the issuer's status list could not be reached"
    assert "Not revoked" not in page.get_data(as_text=True)


def test_repeated_views_reuse_the_cached_result_until_the_status_list_changes(
    app: Any, client: Any, db: Any, award_badge: Any, clock: Any
) -> None:
    awarded = award_badge()
    link = share(client, awarded)
    cache = app.extensions["wallet"].sharing.reports
    client.get(path_of(link))
    clock.advance(minutes=1)
    second = client.get(path_of(link))
    assert (cache.misses, cache.hits) == (1, 1)
    assert "Last checked 23 November 2026 at 10:00 UTC" in second.get_data(as_text=True)
    revoke_badge(app, db, awarded, clock.now)
    client.get(path_of(link))
    assert cache.misses == 2
