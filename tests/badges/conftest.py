"""Fixtures for the learner's badge pages: a learner holding a real, signed badge an organisation here
awarded (the sharing suite's fixture), and a browser (Flask test client) signed in as them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.sharing.conftest import Awarded, award_badge, settings  # noqa: F401


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


class Browser:
    """A signed-in browser: GETs pages and posts forms with the page's own CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self._csrf: str | None = None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def csrf(self) -> str:
        """This browser's CSRF token, read from a page (it lasts as long as the sign-in)."""
        if self._csrf is None:
            self._csrf = csrf_of(self.client.get("/wallet/shares").get_data(as_text=True))
        return self._csrf

    def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf(), **(data or {})}, **kwargs)

    def html(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response.get_data(as_text=True)


@pytest.fixture
def browser_for(app: Flask) -> Callable[[Any], Browser]:
    """A new browser signed in (through /login) as ``learner``."""

    def _browser(learner: Any) -> Browser:
        client = app.test_client()
        token = csrf_of(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login", data={"csrf_token": token, "username": learner.username, "password": learner.password}
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        return Browser(client)

    return _browser


@pytest.fixture
def holder(award_badge: Any, browser_for: Callable[[Any], Browser]) -> tuple[Awarded, Browser]:  # noqa: F811
    awarded = award_badge()
    return awarded, browser_for(awarded.learner)
