"""Demo data, so a fresh install has something to see. Idempotent: running it twice changes nothing.

It goes through the same services as the API: an organisation with an admin and a youth worker,
four badges with images, one badge awarded to the demo learner with a share link an employer could
open, an open claim session (with a PIN) whose QR code the youth worker can project, and a pathway
(Arduino Basics, then 3D Printing Starter) that awards Young Maker by itself: the learner is half-way, and
claiming the workshop's badge completes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.accounts import services as accounts
from wallet.accounts.passwords import make_hasher
from wallet.claims import codes as claim_codes
from wallet.claims import sessions as claim_sessions
from wallet.claims.display import display_link
from wallet.claims.policy import claim_config
from wallet.config import Settings
from wallet.instance_secrets import for_settings as secrets_for
from wallet.issuing import achievements as badges
from wallet.issuing import credentials as issuing
from wallet.models import Account, Achievement, ClaimSession, HeldCredential, Organisation, Pathway, Role, SessionMode
from wallet.models.sharing import ShareLink, ShareTarget
from wallet.organisations import services as organisations
from wallet.pathways import services as pathways
from wallet.sharing import services as sharing

DEMO_ORG = "makerspace-north"
DEMO_PASSWORD = "demo-wallet-2026"  # noqa: S105 - printed to the operator; demo accounts only
DEMO_PIN = "2468"
DEMO_USERS = (
    ("demo-admin", "Dana (admin)", Role.ADMIN),
    ("demo-worker", "Wes (youth worker)", Role.YOUTH_WORKER),
    ("demo-learner", "Lee", None),
)
DEMO_BADGES: tuple[dict[str, Any], ...] = (
    {
        "name": "Arduino Basics",
        "colour": "#1d6fa5",
        "description": "Built and programmed a working circuit with an Arduino microcontroller.",
        "criteria_narrative": "Wire a breadboard circuit with a sensor and an LED, write a sketch that reacts to "
        "the sensor, and explain how it works to a peer.",
        "tags": ["electronics", "coding"],
        "alignments": [
            {
                "targetName": "Program microcontrollers",
                "targetFramework": "ESCO",
                "targetUrl": "https://data.europa.eu/esco/skill/5e2a1bd5-a4cd-4a53-a5bb-7a4a8f3ad0b2",
            }
        ],
    },
    {
        "name": "3D Printing Starter",
        "colour": "#2e7d32",
        "description": "Designed a simple object and printed it safely on a 3D printer.",
        "criteria_narrative": "Model an object in a CAD tool, slice it, and print it following the space's "
        "safety rules.",
        "tags": ["making", "design"],
        "alignments": [],
    },
    {
        "name": "Museum Young Guide",
        "colour": "#8e3b8e",
        "description": "Led a short tour of a gallery for visitors, in your own words.",
        "criteria_narrative": "Research three objects and guide a group of visitors for fifteen minutes.",
        "tags": ["communication", "culture"],
        "alignments": [],
    },
    {
        "name": "Young Maker",
        "colour": "#b35c00",
        "description": "Completed the Young Maker pathway: electronics and 3D printing at Makerspace North.",
        "criteria_narrative": "Earn Arduino Basics and then 3D Printing Starter; this badge is awarded "
        "automatically when both are held.",
        "tags": ["making", "pathway"],
        "alignments": [],
    },
)
DEMO_PATHWAY = "Young Maker"


class DemoMadeForAnotherAddress(Exception):
    """The demo data was seeded under another base URL: its signed badges name that address (issuer,
    images, status list), so served from this one their images break and their checks cannot finish."""

    def __init__(self, *, made_for: str, serving: str) -> None:
        super().__init__(f"the demo data was made for {made_for}, not {serving}")
        self.made_for = made_for
        self.serving = serving


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _badge_svg(name: str, colour: str) -> bytes:
    initials = "".join(word[0] for word in name.split()[:2]).upper()
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">'
        f'<circle cx="128" cy="128" r="120" fill="{colour}"/>'
        '<circle cx="128" cy="128" r="96" fill="#ffffff" fill-opacity="0.18"/>'
        f'<text x="128" y="150" font-family="sans-serif" font-size="72" font-weight="bold" '
        f'text-anchor="middle" fill="#ffffff">{initials}</text></svg>'
    ).encode()


def _account(db: Session, username: str) -> Account:
    account = db.scalar(select(Account).where(Account.username == username))
    assert account is not None
    return account


def seed_demo(
    db: Session, *, settings: Settings, now: dt.datetime, progress: Callable[[str], None] = lambda _text: None
) -> list[str]:
    hasher = make_hasher(settings.password_hash_profile)
    keys = secrets_for(settings)
    if db.scalar(select(Organisation).where(Organisation.slug == DEMO_ORG)) is None:
        progress("organisation Makerspace North")
        organisations.create_organisation(
            db,
            slug=DEMO_ORG,
            name="Makerspace North",
            description="A community makerspace running coding clubs and electronics workshops for young people.",
            url="https://example.org/makerspace-north",
            now=now,
        )
    for username, display_name, role in DEMO_USERS:
        if db.scalar(select(Account).where(Account.username == username)) is None:
            progress(f"account {username}")
            accounts.sign_up(
                db,
                username=username,
                password=DEMO_PASSWORD,
                display_name=display_name,
                email=None,
                hasher=hasher,
                now=now,
            )
            if role is not None:
                organisations.add_member(db, slug=DEMO_ORG, actor=None, username=username, role=role, now=now)
    admin, worker, learner = (_account(db, name) for name, _, _ in DEMO_USERS)
    organisation = organisations.get_by_slug(db, slug=DEMO_ORG)

    achievements = {}
    for badge in DEMO_BADGES:
        existing = db.scalar(
            select(Achievement).where(Achievement.organisation_id == organisation.id, Achievement.name == badge["name"])
        )
        if existing is None:
            progress(f"badge {badge['name']}")
            existing = badges.create_achievement(
                db,
                slug=DEMO_ORG,
                actor=admin.id,
                name=badge["name"],
                description=badge["description"],
                criteria_narrative=badge["criteria_narrative"],
                tags=badge["tags"],
                alignments=badge["alignments"],
                now=now,
            )
            badges.set_image(
                db,
                slug=DEMO_ORG,
                actor=admin.id,
                achievement_id=existing.id,
                data=_badge_svg(badge["name"], badge["colour"]),
                now=now,
            )
        achievements[badge["name"]] = existing

    if db.scalar(select(HeldCredential).where(HeldCredential.account_id == learner.id)) is None:
        progress("award Arduino Basics to demo-learner")
        issuing.award(
            db,
            slug=DEMO_ORG,
            actor=admin.id,
            achievement_id=achievements["Arduino Basics"].id,
            username=learner.username,
            kek=keys.key_encryption_key,
            base_url=settings.base_url,
            now=now,
        )
    held = db.scalar(
        select(HeldCredential).where(HeldCredential.account_id == learner.id).order_by(HeldCredential.added_at)
    )
    assert held is not None
    # The issuer is a DID now; the achievement's id is still a URL under the address the demo was made for.
    named = held.achievement_id or ""
    if named.startswith(("http://", "https://")) and _origin(named) != _origin(settings.base_url):
        raise DemoMadeForAnotherAddress(made_for=_origin(named), serving=_origin(settings.base_url))
    link = db.scalar(select(ShareLink).where(ShareLink.account_id == learner.id, ShareLink.revoked_at.is_(None)))
    if link is None:
        progress("share link for an employer")
        link = sharing.create_share(
            db,
            account_id=learner.id,
            target_kind=ShareTarget.CREDENTIAL,
            target_id=held.id,
            label="For my work-experience application",
            now=now,
        )

    config = claim_config(
        secret_key=keys.secret_key, key_encryption_key=keys.key_encryption_key, base_url=settings.base_url
    )
    session = db.scalar(select(ClaimSession).where(ClaimSession.title == "Saturday 3D printing workshop"))
    if session is None:
        progress("claim session for the 3D printing workshop")
        session = claim_sessions.open_session(
            db,
            organisation_slug=DEMO_ORG,
            achievement_id=achievements["3D Printing Starter"].id,
            actor=worker.id,
            title="Saturday 3D printing workshop",
            venue="Makerspace North, workshop room",
            starts_at=now - dt.timedelta(hours=1),
            ends_at=now + dt.timedelta(days=30),
            cap=30,
            mode=SessionMode.SHARED,
            pin=DEMO_PIN,
            config=config,
            now=now,
        )
    if (
        db.scalar(select(Pathway).where(Pathway.organisation_id == organisation.id, Pathway.name == DEMO_PATHWAY))
        is None
    ):
        progress("pathway Young Maker")
        pathways.create_pathway(
            db,
            slug=DEMO_ORG,
            actor=admin.id,
            name=DEMO_PATHWAY,
            description="From a first circuit to a first print: two workshops at Makerspace North.",
            outcome="The Young Maker badge, awarded automatically.",
            outcome_achievement_id=achievements["Young Maker"].id,
            auto_award=True,
            ordered=True,
            steps=[
                {"kind": "badge", "achievement": str(achievements["Arduino Basics"].id)},
                {"kind": "badge", "achievement": str(achievements["3D Printing Starter"].id)},
            ],
            base_url=settings.base_url,
            now=now,
        )
    qr = claim_codes.session_qr(session, config=config, now=now)
    display, _ = display_link(db, session_id=session.id, actor=worker.id, config=config, now=now)
    db.flush()
    return [
        "Demo data is ready.",
        f"  Learners: open {settings.base_url}/ on a phone (the wallet: {settings.base_url}/wallet) and sign in as",
        f"  demo-learner, demo-worker or demo-admin with password {DEMO_PASSWORD!r}.",
        f"  Organisation: {DEMO_ORG}. API docs: {settings.base_url}/docs",
        f"  An employer's view of Lee's badge: {sharing.share_url(settings.base_url, link.slug)}",
        f"  Claim the 3D printing badge: {qr.url}  (typed code {qr.fallback}, PIN {DEMO_PIN})",
        f"  Lee's pathway (claiming that badge completes it): {settings.base_url}/wallet/pathways",
        f"  Projector page for the youth worker (12 h): {display}",
        f"  Issuer profile: {settings.base_url}/issuers/{DEMO_ORG}/about",
    ]
