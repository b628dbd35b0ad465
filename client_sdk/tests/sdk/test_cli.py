"""``wallet-client`` as a learner types it, against a real HTTP server: sign up with a prompted password,
claim, sync, list, show, tag and share — what docs/sync.md "The command line" promises."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from test_sdk_end_to_end import PASSWORD, _open_claim_session
from wallet_client import cli

from tests.conftest import FakeClock
from tests.live_server import Running, live_server
from wallet.config import Settings


@pytest.fixture
def server(settings: Settings, engine: Engine) -> Iterator[Running]:
    import datetime as dt

    with live_server(settings, engine, FakeClock(dt.datetime.now(dt.UTC).replace(microsecond=0))) as running:
        yield running


def _run(server: Running, home: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(["--server", server.url, "--home", str(home), *args], stdin=io.StringIO(stdin), out=out)
    return code, out.getvalue()


def test_a_learner_signs_up_claims_lists_shows_and_shares_from_the_command_line(
    server: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim_url = _open_claim_session(server)
    prompts: list[str] = []
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: prompts.append(prompt) or PASSWORD)

    code, said = _run(server, tmp_path, "signup", "sam-cli", "--name", "Sam")
    assert code == 0 and "signed in" in said
    assert prompts == ["Password: ", "Password again: "]  # asked, never taken from argv

    assert _run(server, tmp_path, "claim", claim_url)[0] == 0
    code, said = _run(server, tmp_path, "sync")
    assert code == 0 and "Synced" in said

    code, listing = _run(server, tmp_path, "list")
    assert code == 0
    header, row = listing.strip().splitlines()
    assert header.split() == ["ID", "BADGE", "DATE", "ISSUER"]
    assert "Soldering Basics" in row and "Makerspace" in row
    short = row.split()[0]

    assert _run(server, tmp_path, "tag", short[:6], "electronics")[0] == 0
    code, shown = _run(server, tmp_path, "show", short)
    assert code == 0
    assert "Soldering Basics" in shown and "electronics" in shown and "sha256:" + short in shown
    code, whole = _run(server, tmp_path, "show")
    assert code == 0 and "Soldering Basics" in whole and "claim.redeem" in whole and "done" in whole

    code, link = _run(server, tmp_path, "share", short, "--days", "7", "--label", "for Acme")
    assert code == 0
    url = link.strip()
    assert url.startswith(server.url + "/s/")
    assert "Soldering Basics" in httpx.get(url, timeout=10).text


def test_the_password_can_come_from_standard_input_for_scripts(server: Running, tmp_path: Path) -> None:
    code, said = _run(server, tmp_path, "signup", "sam-stdin", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0
    other = tmp_path / "laptop"
    code, said = _run(server, other, "login", "sam-stdin", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and "Signed in as sam-stdin" in said
    code, _ = _run(server, other, "login", "sam-stdin", "--password-stdin", stdin="wrong password\n")
    assert code == 1


def test_an_unknown_or_ambiguous_badge_id_says_how_to_find_the_right_one(
    server: Running, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(server, tmp_path, "signup", "sam-ids", "--password-stdin", stdin=PASSWORD + "\n")
    code, _ = _run(server, tmp_path, "tag", "abcdef", "x")
    assert code == 1
    assert "wallet-client list" in capsys.readouterr().err


def test_an_empty_wallet_lists_what_to_do_next(server: Running, tmp_path: Path) -> None:
    _run(server, tmp_path, "signup", "sam-empty", "--password-stdin", stdin=PASSWORD + "\n")
    code, said = _run(server, tmp_path, "list")
    assert code == 0 and "No badges here yet" in said
