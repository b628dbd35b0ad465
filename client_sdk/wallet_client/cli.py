"""``wallet-client``: a small command line over the SDK, showing a full offline → online cycle.

    wallet-client --server http://127.0.0.1:5000 signup sam 'correct horse battery'
    wallet-client tag sha256:… robotics          # offline: queued locally
    wallet-client note sha256:… "my first badge"
    wallet-client claim K7Q-M3X-PDR              # a typed claim code, redeemed at the next sync
    wallet-client sync                           # one request: push, pull
    wallet-client show

State (tokens and the local replica) lives in ``--home`` (default ``~/.wallet-client``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from wallet_client.client import FileTokenStore, WalletClient
from wallet_client.errors import WalletError
from wallet_client.offline import OfflineWallet


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wallet-client", description="Learner Wallet from the command line")
    parser.add_argument("--server", default="http://127.0.0.1:5000", help="the wallet's base URL")
    parser.add_argument("--home", default=str(Path.home() / ".wallet-client"), help="where state is kept")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("signup", "login"):
        sub = commands.add_parser(name)
        sub.add_argument("username")
        sub.add_argument("password")
    commands.add_parser("sync", help="push pending edits and pull changes")
    commands.add_parser("show", help="the wallet as this device sees it (works offline)")
    commands.add_parser("devices", help="your signed-in devices")
    tag = commands.add_parser("tag", help="tag a credential (offline)")
    tag.add_argument("cred")
    tag.add_argument("tag")
    note = commands.add_parser("note", help="set a credential's note (offline)")
    note.add_argument("cred")
    note.add_argument("note")
    claim = commands.add_parser("claim", help="queue a claim from a QR URL or typed code (offline)")
    claim.add_argument("code")
    claim.add_argument("--pin")
    importing = commands.add_parser("import", help="add a credential file received offline")
    importing.add_argument("file", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    home = Path(args.home)
    home.mkdir(parents=True, exist_ok=True)
    client = WalletClient(args.server, token_store=FileTokenStore(home / "tokens.json"))
    wallet = OfflineWallet(home / "replica.sqlite3", client)
    try:
        if args.command == "signup":
            client.sign_up(args.username, args.password, device_name="wallet-client")
        elif args.command == "login":
            client.login(args.username, args.password, device_name="wallet-client")
        elif args.command == "sync":
            report = wallet.sync()
            print(
                json.dumps(
                    {
                        "requests": report.requests,
                        "changes": report.changes,
                        "reset": report.reset,
                        "rejected": report.rejected,
                        "pending": wallet.pending_count(),
                    },
                    indent=2,
                )
            )
        elif args.command == "show":
            print(
                json.dumps({**wallet.view(), "actions": wallet.actions(), "pending": wallet.pending_count()}, indent=2)
            )
        elif args.command == "devices":
            print(json.dumps(client.devices(), indent=2))
        elif args.command == "tag":
            wallet.add_tag(args.cred, args.tag)
        elif args.command == "note":
            wallet.set_note(args.cred, args.note)
        elif args.command == "claim":
            print(wallet.claim(args.code, pin=args.pin))
        elif args.command == "import":
            print(wallet.import_credential(args.file.read_bytes()))
    except (WalletError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        wallet.close()
        client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
