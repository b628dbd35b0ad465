"""Sign-in must not tell unknown usernames apart by its cost: a wrong password costs one argon2
verification whether or not the username exists (counted, not timed: timed assertions flake)."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient

from wallet.accounts.passwords import make_hasher


class CountingHasher(PasswordHasher):
    """A real argon2 hasher that counts the expensive calls."""

    def __init__(self, base: PasswordHasher) -> None:
        super().__init__(
            time_cost=base.time_cost,
            memory_cost=base.memory_cost,
            parallelism=base.parallelism,
            hash_len=base.hash_len,
            salt_len=base.salt_len,
            type=base.type,
        )
        self.calls: list[str] = []

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.calls.append("hash")
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.calls.append("verify")
        return super().verify(hash, password)


@pytest.mark.parametrize("endpoint", ["api", "page"])
def test_a_wrong_password_costs_the_same_for_a_real_and_an_unknown_username(
    app: Any, client: FlaskClient, sign_up: Any, endpoint: str
) -> None:
    real = sign_up("sam-timing")
    counting = CountingHasher(make_hasher("CHEAPEST"))
    app.extensions["wallet"].hasher = counting

    def attempt(username: str) -> list[str]:
        counting.calls.clear()
        if endpoint == "api":
            body = {"username": username, "password": "wrong password here", "device": {"name": "p", "platform": "web"}}
            assert client.post("/api/v1/auth/login", json=body).status_code == 401
        else:
            client.get("/login")
            with client.session_transaction() as session:
                csrf = session["csrf"]
            form = {"csrf_token": csrf, "username": username, "password": "wrong password here"}
            assert client.post("/login", data=form).status_code == 401
        return list(counting.calls)

    attempt("nobody-here")  # the decoy is made once per hasher, before any attempt is compared
    assert attempt(real.username) == attempt("nobody-here") == attempt("Not A Valid Name!") == ["verify"]
