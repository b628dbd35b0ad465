"""OfflineWallet against the real app: offline edits, one-request sync, crashes, restores."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from wallet_client import OfflineWallet, TransportError, WalletClient
from wallet_protocol.claim_codes import InvalidClaimCode, format_fallback, new_fallback_code

from wallet.changelog import changes
from wallet.models import SyncRow, SyncWallet


def _cred(n: int) -> str:
    return "sha256:" + f"{n:064x}"


@pytest.fixture
def learner(make_client: Callable[..., WalletClient], db: Any, clock: Any) -> Callable[..., Any]:
    """A signed-up learner holding some credentials (recorded the way the credential store will)."""

    def _learner(creds: int = 2) -> tuple[Callable[..., WalletClient], uuid.UUID]:
        username = f"l{uuid.uuid4().hex[:10]}"
        first = make_client()
        account_id = uuid.UUID(first.sign_up(username, "correct horse battery")["account_id"])
        for n in range(creds):
            changes.record_entry_added(db, account_id=account_id, cred_hash=_cred(n), now=clock.now)
        db.commit()

        def device(**kwargs: Any) -> WalletClient:
            client = make_client(**kwargs)
            client.login(username, "correct horse battery")
            return client

        return device, account_id

    return _learner


def test_edits_made_offline_reach_another_device_in_one_request(learner: Any, tmp_path: Path) -> None:
    device, _ = learner()
    phone = OfflineWallet(tmp_path / "phone.db", device())
    tablet = OfflineWallet(tmp_path / "tablet.db", device())
    phone.sync()
    phone.add_tag(_cred(0), "Robotics")
    phone.set_note(_cred(0), "my first badge")
    coll = phone.create_collection("Portfolio")
    phone.add_member(coll, _cred(1))
    assert phone.credentials()[0]["tags"] == ["robotics"]

    report = phone.sync()
    assert report.requests == 1
    assert phone.pending_count() == 0

    tablet.sync()
    assert tablet.view() == phone.view()
    assert tablet.collections()[0]["members"] == [_cred(1)]


def test_a_removal_and_a_concurrent_edit_converge_on_removed(learner: Any, tmp_path: Path) -> None:
    device, _ = learner()
    phone = OfflineWallet(tmp_path / "phone.db", device())
    tablet = OfflineWallet(tmp_path / "tablet.db", device())
    phone.sync()
    tablet.sync()
    phone.remove(_cred(0))
    tablet.set_note(_cred(0), "edited meanwhile")
    phone.sync()
    tablet.sync()
    phone.sync()
    assert [c["cred"] for c in phone.credentials()] == [_cred(1)]
    assert tablet.view() == phone.view()


def test_a_crash_while_applying_a_response_loses_nothing(
    learner: Any, tmp_path: Path, db: Any, monkeypatch: Any
) -> None:
    device, account_id = learner()
    client = device()
    phone = OfflineWallet(tmp_path / "phone.db", client)
    phone.sync()
    phone.add_tag(_cred(0), "welding")
    phone.set_pinned(_cred(1), True)
    expected = phone.view()

    real_apply = OfflineWallet._apply_response

    def dying_apply(self: OfflineWallet, *args: Any) -> Any:
        monkeypatch.setattr(self, "_commit", lambda: (_ for _ in ()).throw(SystemExit("killed")))
        return real_apply(self, *args)

    monkeypatch.setattr(OfflineWallet, "_apply_response", dying_apply)
    with pytest.raises(SystemExit):
        phone.sync()
    monkeypatch.undo()
    phone.close()

    restarted = OfflineWallet(tmp_path / "phone.db", client)
    assert restarted.pending_count() == 2
    assert restarted.view() == expected
    restarted.sync()
    assert restarted.pending_count() == 0
    assert restarted.view() == expected
    tag_row = db.scalar(select(SyncRow).where(SyncRow.account_id == account_id, SyncRow.kind == "tag"))
    assert len(tag_row.state["dots"]) == 1


def test_a_queued_claim_shows_what_was_read_offline(learner: Any, tmp_path: Path) -> None:
    device, _ = learner()
    phone = OfflineWallet(tmp_path / "phone.db", device())
    code = new_fallback_code(lambda n: bytes(range(n)))
    action_id = phone.claim(format_fallback(code).lower())
    shown = phone.actions()
    assert shown[0]["action_id"] == action_id
    assert shown[0]["status"] == "queued"
    assert shown[0]["scanned"] == {"kind": "typed", "code": format_fallback(code)}
    with pytest.raises(InvalidClaimCode):
        phone.claim(code[:-1] + ("0" if code[-1] != "0" else "1"))
    with pytest.raises(InvalidClaimCode):
        phone.claim("https://evil.example/c/0123456789")
    assert len(phone.actions()) == 1


def test_a_device_whose_clock_runs_days_ahead_still_syncs(learner: Any, tmp_path: Path, clock: Any) -> None:
    device, _ = learner()
    ahead = OfflineWallet(tmp_path / "ahead.db", device(), clock=lambda: clock.now.timestamp() + 4 * 86_400)
    ahead.set_note(_cred(0), "written with a wrong clock")
    report = ahead.sync()
    assert ahead.pending_count() == 0
    assert report.rejected == []
    assert ahead.credentials()[0]["note"] == "written with a wrong clock"


def test_after_a_server_restore_devices_re_upload_what_it_lost(learner: Any, tmp_path: Path, db: Any) -> None:
    device, account_id = learner()
    phone = OfflineWallet(tmp_path / "phone.db", device())
    tablet = OfflineWallet(tmp_path / "tablet.db", device())
    phone.sync()
    phone.add_tag(_cred(0), "kept by the phone")
    coll = phone.create_collection("Portfolio")
    phone.sync()
    tablet.sync()
    expected = tablet.view()

    wallet = db.scalar(select(SyncWallet).where(SyncWallet.account_id == account_id))
    wallet.epoch = str(uuid.uuid4())
    for row in db.scalars(select(SyncRow).where(SyncRow.account_id == account_id, SyncRow.kind != "entry")):
        db.delete(row)
    db.commit()
    tablet.add_member(coll, _cred(1))

    report = tablet.sync()
    assert report.reregistered
    phone.sync()
    tablet.sync()
    assert phone.view() == tablet.view()
    assert phone.credentials()[0]["tags"] == expected["credentials"][0]["tags"]
    assert phone.collections()[0]["name"] == "Portfolio"
    assert phone.collections()[0]["members"] == [_cred(1)]


class _Outage(httpx.BaseTransport):
    """Refuses every request while ``down`` is set, like a phone that lost its signal mid-sync."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.down = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.down and request.url.path == "/api/v1/sync":
            raise httpx.ConnectError("no signal", request=request)
        return self.inner.handle_request(request)


def test_edits_queued_after_a_failed_sync_go_out_in_the_next_sync(learner: Any, tmp_path: Path) -> None:
    device, _ = learner()
    networks: list[_Outage] = []
    phone = OfflineWallet(
        tmp_path / "phone.db", device(wrap=lambda inner: networks.append(_Outage(inner)) or networks[-1], max_retries=1)
    )
    tablet = OfflineWallet(tmp_path / "tablet.db", device())
    networks[0].down = True
    with pytest.raises(TransportError):
        phone.sync()  # the request is kept in flight, to be resent identically
    networks[0].down = False
    phone.create_collection("Portfolio")

    phone.sync()
    tablet.sync()

    assert phone.pending_count() == 0
    assert [c["name"] for c in tablet.collections()] == ["Portfolio"]


def test_the_servers_verification_facts_show_on_every_device_until_the_credential_is_removed(
    learner: Any, tmp_path: Path, db: Any, clock: Any
) -> None:
    device, account_id = learner()
    phone = OfflineWallet(tmp_path / "phone.db", device())
    tablet = OfflineWallet(tmp_path / "tablet.db", device())
    revoked = {"outcome": "invalid", "checks": {"status": "failed"}, "checked_at": clock.now.isoformat()}
    changes.record_server_facts(db, account_id=account_id, cred_hash=_cred(0), facts=revoked, now=clock.now)
    db.commit()
    phone.sync()
    tablet.sync()
    assert phone.credentials()[0]["facts"] == revoked
    assert phone.facts(_cred(0)) == revoked
    assert tablet.view() == phone.view()

    phone.remove(_cred(0))
    phone.sync()
    tablet.sync()
    assert phone.facts(_cred(0)) is None
    tablet.add(_cred(0))
    tablet.sync()
    phone.sync()
    assert [c["facts"] for c in phone.credentials() if c["cred"] == _cred(0)] == [None]
    assert tablet.view() == phone.view()
