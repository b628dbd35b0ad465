"""``wallet verify FILE``: 0 valid, 1 invalid (naming the check), 2 could not be checked — never 0 then."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.holding.factories import badge, json_reply, signed, status_list_credential
from wallet.cli import main
from wallet.credentials.baking import bake_png
from wallet.holding.exporting import generated_png


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify", *args], env={"WALLET_FETCH_ALLOW_PRIVATE": "true"})
    return result.exit_code, result.output


def test_a_valid_credential_exits_0_and_lists_every_check(tmp_path: Path):
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(signed(badge(name="Welding 101")), indent=2))
    code, output = run(str(path))
    assert code == 0, output
    for name in ("proof", "issuer_key", "validity", "status", "shape"):
        assert name in output
    assert "Welding 101" in output
    assert "Result: VALID" in output


def test_one_tampered_byte_exits_1_naming_the_proof(tmp_path: Path):
    text = json.dumps(signed(badge(name="Welding 101")))
    path = tmp_path / "tampered.json"
    path.write_text(text.replace("Welding 101", "Welding 109", 1))
    code, output = run(str(path))
    assert code == 1, output
    assert any(line.split()[:2] == ["proof", "failed"] for line in output.splitlines())
    assert "Result: INVALID" in output


def test_a_baked_png_is_read(tmp_path: Path):
    path = tmp_path / "badge.png"
    path.write_bytes(bake_png(generated_png("Baked"), json.dumps(signed(badge(name="Baked")))))
    code, output = run("--json", str(path))
    assert code == 0, output
    report = json.loads(output)
    assert report["outcome"] == "valid"
    assert report["credential"]["achievement_name"] == "Baked"


def test_an_unreachable_status_list_exits_2_never_0(tmp_path: Path, server):
    server.routes["/status"] = (503, {"Content-Type": "text/plain"}, b"down")
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(signed(badge(status_url=server.url("/status")))))
    code, output = run(str(path))
    assert code == 2, output
    assert "Result: INDETERMINATE" in output
    server.routes["/status"] = json_reply(status_list_credential(server.url("/status"), revoked=False))
    assert run(str(path))[0] == 0


def test_offline_checks_nothing_on_the_network(tmp_path: Path, server):
    server.routes["/status"] = json_reply(status_list_credential(server.url("/status"), revoked=False))
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(signed(badge(status_url=server.url("/status")))))
    code, output = run("--offline", "--json", str(path))
    assert code == 2
    checks = {check["name"]: check["outcome"] for check in json.loads(output)["checks"]}
    assert checks["status"] == "indeterminate"
    assert checks["proof"] == "passed"


def test_a_file_that_is_no_credential_exits_2(tmp_path: Path):
    path = tmp_path / "notes.txt"
    path.write_text("shopping list: eggs")
    code, output = run(str(path))
    assert code == 2
    assert "Could not check" in output
