"""A console world for page tests: one organisation's admin and youth worker, another organisation's
youth worker, a learner and an operator, each signed in in their own browser (test client)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.claims.conftest import make_achievement
from tests.conftest import FakeClock
from wallet.organisations import services as organisations

PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1)


@dataclass
class Browser:
    """One signed-in browser; ``post`` sends the form with this browser's CSRF token."""

    client: FlaskClient
    username: str | None
    account_id: str | None
    csrf: str

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)


def browser(app: Flask, signed_in: Any | None = None, *, password: str = PASSWORD) -> Browser:
    client = app.test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    if signed_in is None:
        return Browser(client, None, None, token)
    username = signed_in if isinstance(signed_in, str) else signed_in.username
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    token = _fresh_token(client)
    account_id = getattr(signed_in, "account_id", None)
    return Browser(client, username, account_id, token)


def _fresh_token(client: FlaskClient) -> str:
    """A sign-in starts a fresh session (and CSRF token): read it from a page that shows forms."""
    client.get("/code")  # any page that renders a template mints the token
    with client.session_transaction() as session:
        return str(session["csrf"])


@dataclass
class ConsoleWorld:
    app: Flask
    db: Session
    clock: FakeClock
    slug: str
    achievement_id: str
    anonymous: Browser
    learner: Browser
    outsider: Browser
    """A youth worker of another organisation."""
    worker: Browser
    admin: Browser
    operator: Browser
    org: dict[str, Any]

    def by_role(self) -> dict[str, Browser]:
        return {
            "anonymous": self.anonymous,
            "learner": self.learner,
            "outsider": self.outsider,
            "worker": self.worker,
            "admin": self.admin,
            "operator": self.operator,
        }


def make_world(app: Flask, db: Session, clock: FakeClock, sign_up: Any, organisation: Any) -> ConsoleWorld:
    org = organisation()
    other = organisation("museum-east", "Museum East")
    learner = sign_up("lee-learner", display_name="Lee")
    operator = sign_up("olu-operator")
    organisations.set_operator(db, username="olu-operator", is_operator=True)
    db.commit()
    achievement_id = make_achievement(db, org, now=clock.now)
    return ConsoleWorld(
        app=app,
        db=db,
        clock=clock,
        slug=org["slug"],
        achievement_id=achievement_id,
        anonymous=browser(app),
        learner=browser(app, learner),
        outsider=browser(app, other["worker"]),
        worker=browser(app, org["worker"]),
        admin=browser(app, org["admin"]),
        operator=browser(app, operator),
        org=org,
    )


def start_session(who: Browser, slug: str, achievement_id: str, **fields: Any) -> str:
    """Start a session from the console's form with its defaults; the new session's id."""
    data = {"achievement": achievement_id, "mode": "shared", "cap": "30", "duration": "120", "pin_on": "on"}
    data.update(fields)
    response = who.post(f"/console/orgs/{slug}/sessions/new", data)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    match = re.search(r"/console/sessions/([0-9a-f-]{36})$", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def new_uuid() -> str:
    return str(uuid.uuid4())
