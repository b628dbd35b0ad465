"""The operator's `wallet` command: demo data, organisations, migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from wallet.cli import main


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, Any]:
    return {
        "WALLET_INSTANCE_PATH": str(tmp_path / "instance"),
        "WALLET_DATABASE_URL": "",
        "WALLET_PASSWORD_HASH_PROFILE": "CHEAPEST",
        "WALLET_BASE_URL": "https://wallet.test",
    }


def test_demo_seeds_something_to_see_and_is_idempotent(environment: dict[str, Any]) -> None:
    runner = CliRunner()

    first = runner.invoke(main, ["demo"], env=environment)
    second = runner.invoke(main, ["demo"], env=environment)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "badge Arduino Basics" in first.output
    assert "badge Arduino Basics" not in second.output
    share_lines = [line for line in second.output.splitlines() if "employer's view" in line]
    assert share_lines and "https://wallet.test/s/" in share_lines[0]
    assert share_lines[0] in first.output  # the same link, not a second one
    assert "PIN 2468" in second.output


def test_demo_share_link_proves_the_badge_genuine(environment: dict[str, Any], monkeypatch: Any) -> None:
    result = CliRunner().invoke(main, ["demo"], env=environment)
    url = next(line for line in result.output.splitlines() if "employer's view" in line).split()[-1]
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    from wallet.app import create_app

    page = create_app().test_client().get(url.removeprefix("https://wallet.test"))

    assert page.status_code == 200
    assert "Genuine: issued by Makerspace North to Lee" in page.get_data(as_text=True)


def test_the_demo_learner_is_half_way_along_a_pathway_and_claiming_the_workshop_badge_completes_it(
    environment: dict[str, Any], monkeypatch: Any
) -> None:
    result = CliRunner().invoke(main, ["demo"], env=environment)
    assert result.exit_code == 0, result.output
    assert "/wallet/pathways" in result.output
    claim = next(line for line in result.output.splitlines() if "Claim the 3D printing badge" in line)
    url = claim.split(": ", 1)[1].split()[0]
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    from wallet.app import create_app

    client = create_app().test_client()
    login = client.post(
        "/api/v1/auth/login",
        json={"username": "demo-learner", "password": "demo-wallet-2026", "device": {"name": "p", "platform": "web"}},
    )
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}
    before = client.get("/api/v1/me/pathways", headers=headers).json
    [young_maker] = [p for p in before["pathways"] if p["name"] == "Young Maker"]
    assert (young_maker["steps_done"], young_maker["total_steps"], young_maker["complete"]) == (1, 2, False)
    assert any(step["kind"] == "claim_session" for step in before["next_steps"])  # the workshop is the next step

    claimed = client.post("/api/v1/claims/redeem", headers=headers, json={"code": url, "pin": "2468"})
    assert claimed.status_code == 201, claimed.json

    after = client.get("/api/v1/me/pathways", headers=headers).json
    [young_maker] = [p for p in after["pathways"] if p["name"] == "Young Maker"]
    assert young_maker["complete"] and young_maker["awarded_credential_id"]
    held = client.get("/api/v1/credentials", headers=headers).json
    names = {item.get("achievement_name") for item in (held["items"] if isinstance(held, dict) else held)}
    assert {"Arduino Basics", "3D Printing Starter", "Young Maker"} <= names


def test_an_operator_creates_an_organisation_and_its_first_admin(environment: dict[str, Any]) -> None:
    runner = CliRunner()

    created = runner.invoke(
        main, ["org", "create", "--slug", "museum-east", "--name", "Museum East", "--admin", "curator"], env=environment
    )
    again = runner.invoke(
        main, ["org", "create", "--slug", "museum-east", "--name", "Museum East", "--admin", "curator"], env=environment
    )

    assert created.exit_code == 0, created.output
    assert "one-time password" in created.output
    assert again.exit_code != 0
    assert "slug is taken" in again.output


def test_db_upgrade_says_what_it_did(environment: dict[str, Any]) -> None:
    from wallet.migrate import current_heads

    runner = CliRunner()
    (head,) = current_heads("sqlite://")

    created = runner.invoke(main, ["db", "upgrade"], env=environment)
    again = runner.invoke(main, ["db", "upgrade"], env=environment)

    assert created.exit_code == 0, created.output
    assert f"Created the database at revision {head}" in created.output
    assert "latest revision" not in created.output
    assert again.exit_code == 0, again.output
    assert f"Already at the latest revision {head}" in again.output


def test_db_upgrade_names_the_revisions_it_moved_between(environment: dict[str, Any]) -> None:
    from wallet.migrate import current_heads, upgrade

    instance = Path(environment["WALLET_INSTANCE_PATH"])
    instance.mkdir(parents=True)
    upgrade(f"sqlite:///{instance / 'wallet.sqlite3'}", revision="0007")
    (head,) = current_heads("sqlite://")

    result = CliRunner().invoke(main, ["db", "upgrade"], env=environment)

    assert result.exit_code == 0, result.output
    assert f"Upgraded from revision 0007 to {head}" in result.output


def _demo_badge_file(environment: dict[str, Any], tmp_path: Path, monkeypatch: Any) -> Path:
    """Seed the demo and save Lee's badge as an employer would download it from the share page."""
    result = CliRunner().invoke(main, ["demo"], env=environment)
    assert result.exit_code == 0, result.output
    url = next(line for line in result.output.splitlines() if "employer's view" in line).split()[-1]
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    from wallet.app import create_app

    downloaded = create_app().test_client().get(url.removeprefix(environment["WALLET_BASE_URL"]) + ".json")
    assert downloaded.status_code == 200
    path = tmp_path / "arduino-basics.json"
    path.write_bytes(downloaded.data)
    return path


def test_verify_trusts_the_services_own_plain_http_origin(
    environment: dict[str, Any], tmp_path: Path, monkeypatch: Any
) -> None:
    local = {**environment, "WALLET_BASE_URL": "http://127.0.0.1:5019"}
    badge = _demo_badge_file(local, tmp_path, monkeypatch)

    result = CliRunner().invoke(main, ["verify", str(badge)], env=local)

    assert result.exit_code == 0, result.output
    assert "Result: VALID" in result.output


def test_verify_says_why_a_plain_http_issuer_could_not_be_checked(
    environment: dict[str, Any], tmp_path: Path, monkeypatch: Any
) -> None:
    local = {**environment, "WALLET_BASE_URL": "http://127.0.0.1:5019"}
    badge = _demo_badge_file(local, tmp_path, monkeypatch)

    result = CliRunner().invoke(main, ["verify", str(badge)], env={**local, "WALLET_BASE_URL": "https://other.test"})

    assert result.exit_code == 2, result.output
    assert "Result: INDETERMINATE" in result.output
    assert "only fetched over https" in result.output
    assert "WALLET_BASE_URL=http://127.0.0.1:5019" in result.output


def test_an_operator_invites_a_youth_worker_who_can_sign_in_once_with_the_printed_password(
    environment: dict[str, Any], monkeypatch: Any
) -> None:
    runner = CliRunner()
    runner.invoke(
        main, ["org", "create", "--slug", "museum-east", "--name", "Museum East", "--admin", "curator"], env=environment
    )

    invited = runner.invoke(
        main,
        ["org", "invite", "--slug", "museum-east", "--username", "wes", "--role", "youth_worker", "--name", "Wes"],
        env=environment,
    )
    again = runner.invoke(main, ["org", "invite", "--slug", "museum-east", "--username", "wes"], env=environment)
    nowhere = runner.invoke(main, ["org", "invite", "--slug", "no-such-org", "--username", "ada"], env=environment)

    assert invited.exit_code == 0, invited.output
    password = invited.output.split("One-time password (shown only now): ", 1)[1].split()[0]
    assert again.exit_code != 0 and "wallet org add-member --slug museum-east --username wes" in again.output
    assert nowhere.exit_code != 0
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    from wallet.app import create_app

    client = create_app().test_client()
    signed_in = client.post(
        "/api/v1/auth/login", json={"username": "wes", "password": password, "device": {"name": "laptop"}}
    )
    assert signed_in.status_code == 200, signed_in.json
    headers = {"Authorization": f"Bearer {signed_in.json['access_token']}"}
    first = client.get("/api/v1/me/organisations", headers=headers)
    assert first.status_code == 403 and first.json["code"] == "account.password_change_required"
    reused = client.post("/api/v1/auth/login", json={"username": "wes", "password": password, "device": {"name": "x"}})
    assert reused.status_code == 401  # the printed password works once only
    changed = client.post(
        "/api/v1/me/password",
        headers=headers,
        json={"current_password": password, "new_password": "a secret of my own 42"},
    )
    assert changed.status_code == 204, changed.json
    mine = client.get("/api/v1/me/organisations", headers=headers).json
    assert [(org["slug"], org["role"]) for org in mine] == [("museum-east", "youth_worker")]
    assert (
        client.post(
            "/api/v1/auth/login", json={"username": "ada", "password": password, "device": {"name": "laptop"}}
        ).status_code
        == 401
    )


def test_a_demo_made_for_one_port_is_not_served_on_another_without_saying_how_to_fix_it(
    environment: dict[str, Any],
) -> None:
    runner = CliRunner()
    made = runner.invoke(main, ["demo"], env={**environment, "WALLET_BASE_URL": "http://127.0.0.1:5000"})

    moved = runner.invoke(main, ["demo"], env={**environment, "WALLET_BASE_URL": "http://127.0.0.1:5019"})

    assert made.exit_code == 0, made.output
    assert moved.exit_code != 0
    assert "made for http://127.0.0.1:5000, not http://127.0.0.1:5019" in moved.output
    assert "PORT=5000 scripts/serve" in moved.output
    assert f"rm -r {environment['WALLET_INSTANCE_PATH']}" in moved.output
