"""A full offline → online cycle with the Python SDK, against a running Learner Wallet server.

    wallet demo && wallet serve                       # a server with demo data on 127.0.0.1:5000
    python client_sdk/examples/offline_cycle.py --base-url http://127.0.0.1:5000 \\
        --username demo-learner --password demo-wallet-2026 [--claim <QR URL or typed code> --pin 2468]

1. Online: sign in and sync — the device gets a replica of the wallet (one request).
2. Offline (the network is unplugged in-process): tag, annotate, pin, make a collection, and queue a
   claim scanned from a QR code. Everything shows at once; a sync attempt fails and loses nothing.
3. Online again: one sync pushes the queued edits and the claim, and brings back the claim's outcome.

The replica lives in ``--home`` (default: a fresh temporary folder), so running the script twice with
the same ``--home`` continues where it left off.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import httpx
from wallet_client import OfflineWallet, TransportError, WalletClient
from wallet_client.client import FileTokenStore


class Unplugged(httpx.BaseTransport):
    """Airplane mode: every request fails to connect, as on a phone with no signal."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no network (airplane mode)", request=request)


def _show(title: str, wallet: OfflineWallet) -> None:
    shown = wallet.view()
    print(f"\n== {title} ({wallet.pending_count()} edits waiting to sync)")
    for credential in shown["credentials"]:
        facts = credential["facts"] or {}
        flags = " pinned" if credential["pinned"] else ""
        print(
            f"  {credential['cred'][:19]}…  tags={credential['tags']} note={credential['note']!r}{flags}"
            f" verified={facts.get('outcome', '-')}"
        )
    for collection in shown["collections"]:
        print(f"  collection {collection['name']!r}: {len(collection['members'])} credential(s)")
    for action in wallet.actions():
        print(f"  action {action['action']} → {action['status']} {action['code'] or ''} {action['result'] or ''}")


def run(base_url: str, username: str, password: str, home: Path, claim: str | None, pin: str | None) -> dict[str, Any]:
    home.mkdir(parents=True, exist_ok=True)
    tokens = FileTokenStore(home / "tokens.json")
    online = WalletClient(base_url, token_store=tokens)
    if tokens.load() is None:
        online.login(username, password, device_name="offline_cycle example")
    wallet = OfflineWallet(home / "replica.sqlite3", online)
    try:
        report = wallet.sync()
        _show(f"online: first sync took {report.requests} request(s), {report.changes} change(s)", wallet)

        wallet.client = WalletClient(base_url, token_store=tokens, transport=Unplugged(), max_retries=1)
        credentials = wallet.credentials()
        if credentials:
            first = credentials[0]["cred"]
            wallet.add_tag(first, "Offline demo")
            wallet.set_note(first, "edited with no signal")
            wallet.set_pinned(first, True)
            portfolio = wallet.create_collection("Shown to employers")
            wallet.add_member(portfolio, first)
        if claim:
            wallet.claim(claim, pin=pin)
        try:
            wallet.sync()
        except TransportError as error:
            print(f"\n(offline) sync failed as expected: {error.code}; nothing was lost")
        _show("offline: edits show at once", wallet)

        wallet.client.close()
        wallet.client = online
        report = wallet.sync()
        _show(f"online again: {report.requests} request(s), {len(report.rejected)} rejected", wallet)
        return {"pending": wallet.pending_count(), "actions": wallet.actions(), "view": wallet.view()}
    finally:
        wallet.close()
        online.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Learner Wallet SDK: an offline → online cycle")
    parser.add_argument("--base-url", default="http://127.0.0.1:5000")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--home", type=Path, default=None, help="where the replica and tokens are kept")
    parser.add_argument("--claim", default=None, help="a claim QR URL or typed code to queue while offline")
    parser.add_argument("--pin", default=None, help="the claim session's PIN, if it has one")
    parser.add_argument("--json", action="store_true", help="print the final state as JSON too")
    args = parser.parse_args(argv)
    home = args.home or Path(tempfile.mkdtemp(prefix="wallet-example-"))
    result = run(args.base_url, args.username, args.password, home, args.claim, args.pin)
    if args.json:
        print(json.dumps(result, indent=2))
    return 0 if result["pending"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
