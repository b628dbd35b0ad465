"""Fixtures for the learner's store: a real HTTP server on 127.0.0.1 and an OB 2.0 issuer on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.holding.factories import LocalServer, Ob2Issuer


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as local:
        yield local


@pytest.fixture
def ob2_issuer(server: LocalServer) -> Ob2Issuer:
    return Ob2Issuer(server)
