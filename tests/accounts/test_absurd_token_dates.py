"""An access token whose ``exp`` no date can hold is a bad token (401), never a server fault (#18 item 8)."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from flask import Flask


@pytest.mark.parametrize("exp", [1e20, -1e20, 1e300, 10**30, -(10**30), 253402300800 * 1000])
def test_a_signed_token_with_an_absurd_expiry_is_refused_as_invalid(
    app: Flask, client: Any, sign_up: Any, exp: float
) -> None:
    learner = sign_up()
    claims = jwt.decode(learner.access_token, options={"verify_signature": False})
    key = app.extensions["wallet"].token_policy.access_key
    forged = jwt.encode({**claims, "exp": exp}, key, algorithm="HS256")

    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 401
    assert response.json["code"] == "auth.invalid_token"
