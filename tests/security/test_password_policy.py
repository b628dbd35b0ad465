"""The password blocklist refuses the passwords people really pick (zxcvbn's most common, 8+ characters)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from wallet.accounts import passwords


@pytest.mark.parametrize(
    "password", ["qwertyuiop", "iloveyou", "trustno1", "1qaz2wsx", "Sunshine", "starwars", "q1w2e3r4t5", "princess"]
)
def test_common_passwords_are_refused_at_sign_up(client: FlaskClient, password: str) -> None:
    response = client.post(
        "/api/v1/accounts",
        json={"username": "newcomer", "password": password, "device": {"name": "phone", "platform": "android"}},
    )

    assert response.status_code == 422
    assert response.json["code"] == "account.weak_password"


def test_the_blocklist_holds_thousands_of_entries_and_a_passphrase_is_not_one() -> None:
    blocklist = passwords._blocklist()

    assert len(blocklist) > 10_000
    passwords.check_policy("purple otter kayak", username="sam")
