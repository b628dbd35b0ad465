"""``wallet-client``: a small command line over the SDK, showing a full offline → online cycle.

    wallet-client --server http://127.0.0.1:5000 signup sam   # asks for a password (or --password-stdin)
    wallet-client claim K7Q-M3X-PDR              # a typed claim code, queued; redeemed at the next sync
    wallet-client sync                           # one request: push, pull
    wallet-client list                           # your badges: id, name, issuer, date (works offline)
    wallet-client tag 3f9a1c robotics            # offline: queued locally (a badge's id or a unique prefix)
    wallet-client note 3f9a1c "my first badge"
    wallet-client share 3f9a1c --days 30         # a link for an employer (made at the next sync)
    wallet-client show 3f9a1c                    # one badge, readable; --json for the raw replica

State (tokens and the local replica) lives in ``--home`` (default ``~/.wallet-client``). A badge's id here
is its ``content_hash`` (``sha256:…``, docs/api.md "Identifiers"); any unique prefix of its hex works.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import getpass
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from wallet_client.client import FileTokenStore, WalletClient
from wallet_client.errors import WalletError
from wallet_client.offline import OfflineWallet

SHORT_ID = 12


class UsageError(ValueError):
    """Something typed on the command line that we can say how to fix."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wallet-client", description="Learner Wallet from the command line")
    parser.add_argument("--server", default="http://127.0.0.1:5000", help="the wallet's base URL")
    parser.add_argument("--home", default=str(Path.home() / ".wallet-client"), help="where state is kept")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("signup", "make an account (no email)"), ("login", "sign in on this computer")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("username")
        sub.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input, not a prompt"
        )
        if name == "signup":
            sub.add_argument("--name", default="", help="your name on badges (default: the username)")
    commands.add_parser("logout", help="sign out and forget this computer's tokens")
    commands.add_parser("sync", help="push pending edits and pull changes")
    commands.add_parser("list", help="your badges: id, name, issuer, date (works offline)")
    show = commands.add_parser("show", help="one badge, or the whole wallet, readable (works offline)")
    show.add_argument("cred", nargs="?", help="a badge id or unique prefix (default: everything)")
    show.add_argument("--json", action="store_true", help="the raw replica view as JSON")
    commands.add_parser("devices", help="your signed-in devices")
    tag = commands.add_parser("tag", help="tag a badge (offline)")
    tag.add_argument("cred")
    tag.add_argument("tag")
    note = commands.add_parser("note", help="set a badge's note (offline)")
    note.add_argument("cred")
    note.add_argument("note")
    claim = commands.add_parser("claim", help="queue a claim from a QR URL or typed code (offline)")
    claim.add_argument("code")
    claim.add_argument("--pin")
    share = commands.add_parser("share", help="a link to one badge for an employer (made at the next sync)")
    share.add_argument("cred")
    share.add_argument("--label", help="a name for the link, shown only to you")
    share.add_argument("--days", type=int, help="the link stops working after this many days (1-365)")
    share.add_argument("--offline", action="store_true", help="only queue it; do not sync now")
    importing = commands.add_parser("import", help="add a credential file received offline")
    importing.add_argument("file", type=Path)
    return parser


def _password(args: argparse.Namespace, *, confirm: bool, stdin: TextIO) -> str:
    """The password from a prompt that does not echo (never from argv: shell history keeps it)."""
    if args.password_stdin:
        password = stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Password again: ") != password:
            raise UsageError("the two passwords differ; nothing was changed")
    if not password:
        raise UsageError("no password given")
    return password


def resolve_cred(wallet: OfflineWallet, given: str) -> str:
    """The full ``sha256:…`` id of the badge ``given`` names: the id itself or a unique prefix of its hex."""
    wanted = given.strip().lower().removeprefix("sha256:")
    held = [item["cred"] for item in wallet.credentials()]
    matches = [cred for cred in held if cred.removeprefix("sha256:").startswith(wanted)] if wanted else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"no badge with id {given!r} here; `wallet-client list` shows their ids")
    raise UsageError(f"{given!r} matches {len(matches)} badges; type more of its id")


def describe(raw: bytes | None) -> dict[str, str]:
    """Name, issuer and date of a held credential, for display only (verification is the server's job)."""
    if raw is None:
        return {"name": "(not downloaded yet: sync)", "issuer": "", "date": ""}
    document = _credential_document(raw)
    if document is None:
        return {"name": "(not a credential we can read)", "issuer": "", "date": ""}
    subject = document.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement") if isinstance(subject, dict) else None
    badge = document.get("badge") if isinstance(document.get("badge"), dict) else None  # Open Badges 2.0
    name = _text((achievement or {}).get("name")) or _text((badge or {}).get("name")) or _text(document.get("name"))
    issuer = document.get("issuer") or (badge or {}).get("issuer")
    issuer_name = _text(issuer.get("name") or issuer.get("id")) if isinstance(issuer, dict) else _text(issuer)
    date = _text(document.get("validFrom") or document.get("issuanceDate") or document.get("issuedOn"))
    return {"name": name or "(unnamed badge)", "issuer": issuer_name, "date": date[:10]}


def _credential_document(raw: bytes) -> dict[str, Any] | None:
    text = raw.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None
    parts = text.split(".")
    if len(parts) == 3:  # a VC-JWT: the payload, read (not verified) for its name
        try:
            payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except (ValueError, binascii.Error):
            return None
        if isinstance(payload, dict):
            vc = payload.get("vc", payload)
            return vc if isinstance(vc, dict) else None
    return None


def _text(value: object) -> str:
    if isinstance(value, dict):  # a language map or a nested object
        value = value.get("en") or value.get("@value") or next(iter(value.values()), "")
    return value.strip() if isinstance(value, str) else ""


def _short(cred: str) -> str:
    return cred.removeprefix("sha256:")[:SHORT_ID]


OUTCOMES = {
    "valid": "genuine",
    "invalid": "NOT genuine",
    "indeterminate": "could not fully check",
    "revoked": "revoked by its issuer",
}


def _state_word(item: dict[str, Any]) -> str:
    """The server's latest word on the badge (``facts``), or that it has not checked it yet."""
    facts = item.get("facts") or {}
    outcome = facts.get("outcome")
    if not outcome:
        return "not checked yet (sync)"
    when = str(facts.get("checked_at") or "")[:10]
    return f"{OUTCOMES.get(str(outcome), str(outcome))}{f' (checked {when})' if when else ''}"


def print_list(wallet: OfflineWallet, out: TextIO) -> None:
    items = wallet.credentials()
    if not items:
        out.write("No badges here yet. Claim one (`wallet-client claim CODE`), then `wallet-client sync`.\n")
        return
    rows = [(_short(item["cred"]), describe(wallet.credential_bytes(item["cred"]))) for item in items]
    width = max(len(row[1]["name"]) for row in rows)
    width = min(max(width, 4), 48)
    out.write(f"{'ID':<{SHORT_ID}}  {'BADGE':<{width}}  {'DATE':<10}  ISSUER\n")
    for short, info in rows:
        out.write(f"{short:<{SHORT_ID}}  {info['name'][:width]:<{width}}  {info['date']:<10}  {info['issuer']}\n")


def print_badge(wallet: OfflineWallet, cred: str, out: TextIO) -> None:
    item = next(entry for entry in wallet.credentials() if entry["cred"] == cred)
    info = describe(wallet.credential_bytes(cred))
    out.write(f"{info['name']}\n")
    out.write(f"  id:       {cred}\n")
    out.write(f"  issuer:   {info['issuer'] or '(unknown)'}\n")
    out.write(f"  issued:   {info['date'] or '(no date)'}\n")
    out.write(f"  checked:  {_state_word(item)}\n")
    if item.get("tags"):
        out.write(f"  tags:     {', '.join(item['tags'])}\n")
    if item.get("note"):
        out.write(f"  note:     {item['note']}\n")
    if item.get("pinned"):
        out.write("  pinned\n")


def print_wallet(wallet: OfflineWallet, out: TextIO) -> None:
    print_list(wallet, out)
    for collection in wallet.collections():
        names = [describe(wallet.credential_bytes(member))["name"] for member in _members(collection)]
        out.write(f"\nCollection {collection.get('name') or '(unnamed)'}: {', '.join(names) or '(empty)'}\n")
    actions = wallet.actions()
    if actions:
        out.write("\nRequests to the server:\n")
        for action in actions:
            outcome = action["status"] + (f" ({action['code']})" if action.get("code") else "")
            url = action.get("result", {}).get("url")
            out.write(f"  {action['action']:<14} {outcome}{'  ' + url if url else ''}\n")
    pending = wallet.pending_count()
    if pending:
        out.write(f"\n{pending} edit(s) wait for the next sync.\n")


def _members(collection: dict[str, Any]) -> list[str]:
    members = collection.get("members") or []
    return [m["cred"] if isinstance(m, dict) else str(m) for m in members]


def _share(args: argparse.Namespace, wallet: OfflineWallet, out: TextIO) -> None:
    cred = resolve_cred(wallet, args.cred)
    action_id = wallet.share(creds=[cred], label=args.label, expires_in_days=args.days)
    if args.offline:
        out.write("Queued: the link is made at the next `wallet-client sync`.\n")
        return
    try:
        wallet.sync()
    except WalletError as error:
        out.write(f"Queued (could not reach the server: {error}); the link is made at the next sync.\n")
        return
    outcome = next((a for a in wallet.actions() if a["action_id"] == action_id), None)
    if outcome and outcome["status"] == "done":
        out.write(f"{outcome['result']['url']}\n")
    elif outcome and outcome["status"] in ("failed", "rejected"):
        raise UsageError(f"the server refused the link: {outcome.get('code')}")
    else:
        out.write("Queued: the link is made at the next `wallet-client sync`.\n")


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    args = _parser().parse_args(argv)
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    home = Path(args.home)
    home.mkdir(parents=True, exist_ok=True)
    client = WalletClient(args.server, token_store=FileTokenStore(home / "tokens.json"))
    wallet = OfflineWallet(home / "replica.sqlite3", client)
    try:
        if args.command == "signup":
            password = _password(args, confirm=True, stdin=stdin)
            client.sign_up(args.username, password, display_name=args.name, device_name="wallet-client")
            out.write(f"Account {args.username} made and signed in on this computer. Next: `wallet-client sync`.\n")
        elif args.command == "login":
            client.login(args.username, _password(args, confirm=False, stdin=stdin), device_name="wallet-client")
            out.write(f"Signed in as {args.username}. Next: `wallet-client sync`.\n")
        elif args.command == "logout":
            client.logout()
            out.write("Signed out; this computer's tokens are gone (its replica stays until you delete --home).\n")
        elif args.command == "sync":
            report = wallet.sync()
            out.write(
                f"Synced in {report.requests} request(s): {report.changes} change(s) received"
                f"{', wallet replaced from the server' if report.reset else ''}"
                f"{f', {len(report.rejected)} edit(s) refused' if report.rejected else ''};"
                f" {wallet.pending_count()} edit(s) still waiting.\n"
            )
        elif args.command == "list":
            print_list(wallet, out)
        elif args.command == "show":
            if args.json:
                view = {**wallet.view(), "actions": wallet.actions(), "pending": wallet.pending_count()}
                out.write(json.dumps(view, indent=2) + "\n")
            elif args.cred:
                print_badge(wallet, resolve_cred(wallet, args.cred), out)
            else:
                print_wallet(wallet, out)
        elif args.command == "devices":
            for device in client.devices():
                current = "  (this computer)" if device.get("current") else ""
                out.write(f"{device['name']} · {device['platform']} · last seen {device['last_seen_at']}{current}\n")
        elif args.command == "tag":
            wallet.add_tag(resolve_cred(wallet, args.cred), args.tag)
        elif args.command == "note":
            wallet.set_note(resolve_cred(wallet, args.cred), args.note)
        elif args.command == "claim":
            wallet.claim(args.code, pin=args.pin)
            out.write("Queued: the badge is claimed at the next `wallet-client sync` (within 12 hours of now).\n")
        elif args.command == "share":
            _share(args, wallet, out)
        elif args.command == "import":
            cred = wallet.import_credential(args.file.read_bytes())
            out.write(f"Added {_short(cred)}; it is checked at the next sync.\n")
    except (WalletError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        wallet.close()
        client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
