"""The offline replica: a local SQLite copy of the wallet that reads and edits with no network, then syncs.

Local tables (docs/sync.md §12): ``base_rows`` (row states the server confirmed), ``snapshot_rows`` (the
pages of a reset snapshot, swapped into ``base_rows`` after its last page), ``pending_ops`` (local
edits not yet acknowledged), ``blobs`` (credential bytes by hash, each checked against its hash),
``blob_misses`` (ids the server could not serve, asked again later), ``blob_uploads`` (ids the server
said it lacks, sent from ``blobs`` in the next requests), ``rejections`` (ops the server
refused, for the UI) and ``meta`` (client id, cursor, next op_seq, clock, the in-flight request); with a
:class:`ReplicaTokenStore` on the same file, ``auth_tokens`` holds the device's tokens.
What the learner sees is ``view(base ⊕ pending)``: the pending ops applied to the base with the same
shared merge functions the server uses (``wallet_protocol.sync``), so the optimistic view and the
server can only differ by ops the server has not seen yet.

Durability: every local change and every applied sync response is one SQLite transaction. The request
being sent is stored before it leaves; if its response is lost (or the process dies before applying
it), the next :meth:`OfflineWallet.sync` resends the identical request — the server dedupes ops by
``op_seq`` and answers the same cursor with the same changes — so nothing is lost and nothing is
applied twice (I2, I4).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wallet_protocol import claim_codes
from wallet_protocol.pathways import BadgeIndex, PathwayProgress, pathway_rule, progress, wallet_badges
from wallet_protocol.sync import (
    Hlc,
    apply_op,
    change_from_wire,
    join,
    key_for_position,
    normalise_tag,
    receive,
    row_from_wire,
    row_to_wire,
    send,
    validate_op,
    view,
)
from wallet_protocol.sync.blobs import MAX_BINARY_CREDS
from wallet_protocol.sync.ops import SERVER_ACTIONS, affected_keys
from wallet_protocol.sync.state import (
    CLIENT_ROW_KINDS,
    ENTRY,
    EntryState,
    FactsState,
    MemberState,
    TagState,
    entry_key,
    facts_key,
    member_key,
    tag_key,
)
from wallet_protocol.sync.wire import (
    DEFAULT_LIMIT_V2,
    MAX_BLOBS_PER_FETCH,
    MAX_BLOBS_PER_REQUEST,
    MAX_OPS_PER_REQUEST,
    PROTOCOL_VERSION,
    ops_to_join,
)

from wallet_client.client import Tokens, WalletClient
from wallet_client.errors import NotFound, ValidationFailed

DEFAULT_BATCH = 200
DEFAULT_LIMIT = 500
"""Changes per sync response asked of the server in protocol 1 (protocol 2 asks for ``DEFAULT_LIMIT_V2``)."""
MAX_BLOB_BATCHES = 100
"""Bound on the binary batches one sync fetches (each up to 8 MiB)."""
BLOB_RETRY_SECONDS = 24 * 3600
"""How long to wait before asking again for credential bytes the server could not serve."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS base_rows (kind TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL,
                                      PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS pending_ops (op_seq INTEGER PRIMARY KEY, op TEXT NOT NULL,
                                        with_blob INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS snapshot_rows (kind TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL,
                                          PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS blobs (cred TEXT PRIMARY KEY, raw BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS blob_misses (cred TEXT PRIMARY KEY, retry_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS blob_uploads (cred TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS rejections (client_id TEXT NOT NULL, op_seq INTEGER NOT NULL, code TEXT NOT NULL,
                                       detail TEXT, op TEXT, PRIMARY KEY (client_id, op_seq));
CREATE TABLE IF NOT EXISTS action_notes (action_id TEXT PRIMARY KEY, note TEXT NOT NULL);
"""

_BASE_SQL = (
    "SELECT state FROM base_rows WHERE kind = ? AND id = ?",
    "INSERT OR REPLACE INTO base_rows (kind, id, state) VALUES (?, ?, ?)",
)
_SNAPSHOT_SQL = (
    "SELECT state FROM snapshot_rows WHERE kind = ? AND id = ?",
    "INSERT OR REPLACE INTO snapshot_rows (kind, id, state) VALUES (?, ?, ?)",
)


class ReplicaTokenStore:
    """A :class:`~wallet_client.client.TokenStore` in the replica's own SQLite file (table ``auth_tokens``).

    Give it the same path as the :class:`OfflineWallet`, so the tokens and the edits they will push live
    and die together, and a fresh process on the same file carries on where a killed one stopped::

        client = WalletClient(url, token_store=ReplicaTokenStore("wallet.sqlite3"))
        wallet = OfflineWallet("wallet.sqlite3", client)

    Every save is one committed transaction with ``synchronous=FULL``: on disk when ``save`` returns. On
    a phone the platform's keychain is the better home for a refresh token; it must be as durable.
    """

    def __init__(self, path: str | Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS auth_tokens (slot INTEGER PRIMARY KEY CHECK (slot = 1), tokens TEXT NOT NULL)"
        )

    def load(self) -> Tokens | None:
        with self._lock:
            row = self._db.execute("SELECT tokens FROM auth_tokens WHERE slot = 1").fetchone()
        if row is None:
            return None
        try:
            return Tokens(**json.loads(row[0]))
        except (ValueError, TypeError):
            return None

    def save(self, tokens: Tokens) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO auth_tokens (slot, tokens) VALUES (1, ?)", (json.dumps(tokens.__dict__),)
            )

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM auth_tokens")

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass
class SyncReport:
    """What one :meth:`OfflineWallet.sync` did."""

    requests: int = 0
    acked_op_seq: int = 0
    changes: int = 0
    reset: bool = False
    reregistered: bool = False
    rejected: list[dict[str, Any]] = field(default_factory=list)
    missing_blobs: list[str] = field(default_factory=list)
    blob_requests: int = 0
    """``POST /api/v1/sync/blobs`` requests made after the sync (on top of ``requests``)."""
    blobs_fetched: int = 0
    """Credentials whose bytes arrived and matched their hash."""
    blobs_refused: list[str] = field(default_factory=list)
    """Credentials whose bytes arrived but did not hash to their id: not kept (I11)."""


def sha256_id(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _decoded(text: object) -> bytes | None:
    """Base64 text as bytes, or ``None`` if it is not base64 (a server bug or a tampering proxy)."""
    if not isinstance(text, str):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return None


def _key_at(ordered_keys: list[str | None], index: int) -> str:
    """An order key for position ``index`` (clamped to the list: past the end means last)."""
    return key_for_position(ordered_keys, max(0, min(index, len(ordered_keys))))


def _row_id(key: tuple[str, ...]) -> str:
    return json.dumps(list(key[1:]), separators=(",", ":"), ensure_ascii=False)


class OfflineWallet:
    """A learner's wallet on this device, usable offline; :meth:`sync` brings it and the server together.

    Thread-safe: one lock guards the local database; a second one lets only one sync run at a time
    (local edits may continue while a sync waits on the network).
    """

    def __init__(
        self,
        path: str | Path,
        client: WalletClient,
        *,
        clock: Callable[[], float] = time.time,
        batch_size: int = DEFAULT_BATCH,
        limit: int | None = None,
        protocol: int = PROTOCOL_VERSION,
    ) -> None:
        """``protocol`` 1 speaks the first version of the protocol (as a device that was never updated
        does: echoed rows, pages of 500, base64 credential batches), 2 the current one (docs/sync.md §7.4).
        """
        self.client = client
        self._clock = clock
        self.batch_size = min(batch_size, MAX_OPS_PER_REQUEST)
        self.protocol = protocol
        self.limit = limit if limit is not None else (DEFAULT_LIMIT if protocol == 1 else DEFAULT_LIMIT_V2)
        self._lock = threading.RLock()
        self._sync_lock = threading.Lock()
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        with self._tx():
            if self._get("client_id") is None:
                self._set("client_id", str(uuid.uuid4()))
                self._set("registered", "0")
                self._set("next_op_seq", "1")
                self._set("acked_op_seq", "0")
                self._set("clock_offset_ms", "0")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- storage plumbing ----------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One local transaction (BEGIN IMMEDIATE … COMMIT); any exception rolls it back."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._commit()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _commit(self) -> None:
        self._db.execute("COMMIT")

    def _get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _set(self, key: str, value: str | None) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?", (key, value, value)
        )

    @property
    def client_id(self) -> str:
        with self._lock:
            return str(self._get("client_id"))

    def _now_ms(self) -> int:
        return int(self._clock() * 1000) + int(self._get("clock_offset_ms") or 0)

    def _hlc(self) -> Hlc | None:
        text = self._get("hlc")
        return Hlc.parse(text) if text else None

    # --- local state ---------------------------------------------------------------------------

    def _base(self) -> dict[tuple[str, ...], Any]:
        state: dict[tuple[str, ...], Any] = {}
        for kind, stored_id, text in self._db.execute("SELECT kind, id, state FROM base_rows"):
            state[(kind, *json.loads(stored_id))] = row_from_wire(kind, json.loads(text))
        return state

    def _pending(self) -> list[dict[str, Any]]:
        return [json.loads(text) for (text,) in self._db.execute("SELECT op FROM pending_ops ORDER BY op_seq")]

    def state(self) -> dict[tuple[str, ...], Any]:
        """The merged local state: base rows with every pending op joined in."""
        with self._lock:
            state = self._base()
            for raw in self._pending():
                state, _ = apply_op(state, validate_op(raw))
            return state

    def view(self) -> dict[str, Any]:
        """What the learner sees (``wallet_protocol.sync.view`` of base ⊕ pending)."""
        return view(self.state())

    def credentials(self) -> list[dict[str, Any]]:
        return self.view()["credentials"]

    def collections(self) -> list[dict[str, Any]]:
        return self.view()["collections"]

    def actions(self) -> list[dict[str, Any]]:
        """Server actions and their outcomes; queued ones not yet answered show as ``queued``.

        An action the server refused as an op (``action.unsupported``, ``op.bad_value`` …) never gets an
        outcome row; it stays listed as ``rejected`` with the rejection's ``code`` and ``detail``, so the
        learner is told rather than seeing it vanish.
        """
        with self._lock:
            shown = {item["action_id"]: item for item in self.view()["actions"]}
            pending = self._pending()
            # An op refused for now (``request.rate_limited``) stays queued: it is not rejected, only later.
            still_queued = {raw.get("action_id") for raw in pending}
            for code, detail, text in self._db.execute("SELECT code, detail, op FROM rejections ORDER BY rowid"):
                raw = json.loads(text) if text else None
                if (
                    isinstance(raw, dict)
                    and raw.get("type") in SERVER_ACTIONS
                    and raw.get("action_id") not in shown
                    and raw.get("action_id") not in still_queued
                ):
                    shown[raw["action_id"]] = {
                        "action_id": raw["action_id"],
                        "action": raw["type"],
                        "status": "rejected",
                        "code": code,
                        "result": {"detail": detail} if detail else {},
                    }
            for raw in pending:
                if raw["type"] in SERVER_ACTIONS and raw["action_id"] not in shown:
                    shown[raw["action_id"]] = {
                        "action_id": raw["action_id"],
                        "action": raw["type"],
                        "status": "queued",
                        "code": None,
                        "result": {},
                    }
            for action_id, note in self._db.execute("SELECT action_id, note FROM action_notes"):
                if action_id in shown:
                    shown[action_id] = {**shown[action_id], "scanned": json.loads(note)}
            return [shown[key] for key in sorted(shown)]

    def facts(self, cred: str) -> dict[str, Any] | None:
        """What the server established about a credential (verification, revocation), if anything.

        The same value as the ``facts`` of the credential in :meth:`view`, but also for a credential
        this device has removed but the server has not yet heard about.
        """
        with self._lock:
            row = self._base().get(facts_key(cred))
            return dict(row.facts) if isinstance(row, FactsState) and row.facts is not None else None

    def credential_bytes(self, cred: str) -> bytes | None:
        """The credential itself, exactly as issued, if this device holds it (sync fetches the bytes of
        every credential in the wallet; their sha256 was checked against ``cred`` on receipt)."""
        with self._lock:
            row = self._db.execute("SELECT raw FROM blobs WHERE cred = ?", (cred,)).fetchone()
            return None if row is None else bytes(row[0])

    blob = credential_bytes

    def pathway_progress(self, definitions: list[dict[str, Any]]) -> list[PathwayProgress]:
        """Progress on each pathway, computed here from the replica's credentials — offline, by the same
        rule as the server (:mod:`wallet_protocol.pathways`). ``definitions`` are the pathways'
        ``definition`` objects (``WalletClient.pathways()``), cached from when the phone was online."""
        entries = []
        for item in self.credentials():
            raw = self.credential_bytes(item["cred"])
            if raw is not None:
                facts = item.get("facts") or {}
                entries.append((raw, item["cred"], facts.get("outcome")))
        badges = BadgeIndex(wallet_badges(entries))
        return [progress(pathway_rule(definition), badges) for definition in definitions]

    def rejections(self) -> list[dict[str, Any]]:
        """Edits the server refused (e.g. a credential that failed verification), for the UI."""
        with self._lock:
            return [
                {"op_seq": op_seq, "code": code, "detail": detail, "op": json.loads(op) if op else None}
                for op_seq, code, detail, op in self._db.execute(
                    "SELECT op_seq, code, detail, op FROM rejections ORDER BY rowid"
                )
            ]

    def pending_ops(self) -> list[dict[str, Any]]:
        """The ops queued on this device and not yet acknowledged, oldest first, in their wire form.

        For a "waiting to sync" list in the UI, and for audits (the soak run logs them).
        """
        with self._lock:
            return self._pending()

    def pending_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM pending_ops").fetchone()[0])

    # --- local edits ---------------------------------------------------------------------------

    def _queue(self, op_type: str, *, with_blob: bool = False, **fields: Any) -> dict[str, Any]:
        """Stamp, number, validate and store one op, in one local transaction."""
        with self._tx():
            client_id = str(self._get("client_id"))
            op_seq = int(self._get("next_op_seq") or 1)
            stamp = send(self._hlc(), now_ms=self._now_ms(), node=client_id)
            raw = {"type": op_type, "op_seq": op_seq, "hlc": str(stamp), **fields}
            if "dot" in fields:
                raw["dot"] = [client_id, op_seq]
            validate_op(raw, client_id=client_id)
            self._db.execute(
                "INSERT INTO pending_ops (op_seq, op, with_blob) VALUES (?, ?, ?)",
                (op_seq, json.dumps(raw), int(with_blob)),
            )
            self._set("next_op_seq", str(op_seq + 1))
            self._set("hlc", str(stamp))
            return raw

    def _live_dots(self, key: tuple[str, ...]) -> list[list[Any]]:
        row = self.state().get(key)
        if isinstance(row, EntryState | TagState | MemberState):
            return [[node, n] for node, n in sorted(row.presence.live)]
        return []

    def import_credential(self, raw: bytes) -> str:
        """Add credential bytes received offline; the server verifies them at the next sync (I11)."""
        cred = sha256_id(raw)
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO blobs (cred, raw) VALUES (?, ?)", (cred, raw))
            self._queue("entry.add", with_blob=True, cred=cred, dot=None)
        return cred

    def add(self, cred: str) -> None:
        """Put back a credential the server already holds (e.g. one removed on this device)."""
        self._queue("entry.add", cred=cred, dot=None)

    def remove(self, cred: str) -> None:
        with self._lock:
            self._queue("entry.remove", cred=cred, observed=self._live_dots(entry_key(cred)))

    def set_note(self, cred: str, note: str) -> None:
        self._queue("entry.set", cred=cred, field="note", value=note)

    def set_hidden(self, cred: str, hidden: bool) -> None:
        self._queue("entry.set", cred=cred, field="hidden", value=hidden)

    def set_pinned(self, cred: str, pinned: bool) -> None:
        self._queue("entry.set", cred=cred, field="pinned", value=pinned)

    def move(self, cred: str, index: int) -> None:
        """Show ``cred`` at ``index`` of the credential list (a fractional order key, no renumbering)."""
        with self._lock:
            others = [item["order_key"] for item in self.credentials() if item["cred"] != cred]
            self._queue("entry.set", cred=cred, field="order_key", value=_key_at(others, index))

    def add_tag(self, cred: str, tag: str) -> None:
        self._queue("tag.add", cred=cred, tag=tag, dot=None)

    def remove_tag(self, cred: str, tag: str) -> None:
        with self._lock:
            observed = self._live_dots(tag_key(cred, normalise_tag(tag)))
            self._queue("tag.remove", cred=cred, tag=tag, observed=observed)

    def create_collection(self, name: str) -> str:
        coll = str(uuid.uuid4())
        self._queue("collection.create", coll=coll, name=name)
        return coll

    def rename_collection(self, coll: str, name: str) -> None:
        self._queue("collection.set", coll=coll, field="name", value=name)

    def move_collection(self, coll: str, index: int) -> None:
        with self._lock:
            others = [item["order_key"] for item in self.collections() if item["coll"] != coll]
            self._queue("collection.set", coll=coll, field="order_key", value=_key_at(others, index))

    def delete_collection(self, coll: str) -> None:
        self._queue("collection.delete", coll=coll)

    def add_member(self, coll: str, cred: str) -> None:
        self._queue("member.add", coll=coll, cred=cred, dot=None)

    def remove_member(self, coll: str, cred: str) -> None:
        with self._lock:
            self._queue("member.remove", coll=coll, cred=cred, observed=self._live_dots(member_key(coll, cred)))

    def move_member(self, coll: str, cred: str, index: int) -> None:
        with self._lock:
            state = self.state()
            members = next((c["members"] for c in view(state)["collections"] if c["coll"] == coll), [])
            keys = []
            for other in members:
                row = state.get(member_key(coll, other))
                if other != cred:
                    keys.append(row.order_key.value if isinstance(row, MemberState) and row.order_key else None)
            self._queue("member.set_order", coll=coll, cred=cred, order_key=_key_at(keys, index))

    def claim(self, code_or_url: str, pin: str | None = None) -> str:
        """Queue a claim from a scanned QR URL or a typed code; what can be read offline is kept to show.

        Raises ``wallet_protocol.claim_codes.InvalidClaimCode`` for a malformed code or a URL of another
        server (checked offline, before anything is queued).
        """
        text = code_or_url.strip()
        if "/" in text:
            scanned = claim_codes.read_claim_url(text, trusted_base_urls=[self.client.base_url])
            code = scanned.token
            note = {"kind": scanned.kind.value, "public_id": scanned.public_id, "step": scanned.step}
        else:
            code = claim_codes.normalise_fallback(text)
            note = {"kind": "typed", "code": claim_codes.format_fallback(code)}
        action_id = f"claim-{uuid.uuid4()}"
        with self._lock:
            fields: dict[str, Any] = {"action_id": action_id, "code": code, "scanned_at": int(self._clock() * 1000)}
            if pin is not None:
                fields["pin"] = pin
            self._queue("claim.redeem", **fields)
            with self._tx():
                self._db.execute(
                    "INSERT INTO action_notes (action_id, note) VALUES (?, ?)", (action_id, json.dumps(note))
                )
        return action_id

    def share(
        self,
        *,
        creds: list[str] | None = None,
        coll: str | None = None,
        expires_in_days: int | None = None,
        label: str | None = None,
    ) -> str:
        action_id = f"share-{uuid.uuid4()}"
        fields = {"creds": creds, "coll": coll, "expires_in_days": expires_in_days, "label": label}
        self._queue("share.create", action_id=action_id, **{k: v for k, v in fields.items() if v is not None})
        return action_id

    def import_url(self, url: str) -> str:
        action_id = f"import-{uuid.uuid4()}"
        self._queue("import.url", action_id=action_id, url=url)
        return action_id

    def request_badge(
        self, achievement_id: str, *, narrative: str, links: list[str] | None = None, witness: str | None = None
    ) -> str:
        """Ask for a badge while offline (``badge.request``); sent at the next sync, exactly once.

        The action's outcome (``actions()``) carries the ``request_id`` and the request's ``state``, and
        follows every later decision; an approved badge arrives in the wallet like any other. Photos and
        files are attached online (``WalletClient.attach_evidence``) once the request exists.
        """
        action_id = f"request-{uuid.uuid4()}"
        fields: dict[str, Any] = {"achievement": achievement_id, "narrative": narrative}
        if links:
            fields["links"] = list(links)
        if witness:
            fields["witness"] = witness
        self._queue("badge.request", action_id=action_id, **fields)
        return action_id

    # --- sync ----------------------------------------------------------------------------------

    def sync(self, *, max_requests: int = 50) -> SyncReport:
        """Push pending ops and pull changes until the server has nothing more (loops while ``has_more``)."""
        report = SyncReport()
        with self._sync_lock:
            while report.requests < max_requests:
                self._ensure_registered()
                request = self._next_request()
                report.requests += 1
                try:
                    response = self.client.sync(request)
                except NotFound as error:
                    if error.code != "sync.client_unknown":
                        raise
                    self._reregister()
                    report.reregistered = True
                    continue
                except ValidationFailed as error:
                    if error.code != "sync.too_many_ops" or self.batch_size == 1:
                        raise
                    self.batch_size = max(1, self.batch_size // 2)
                    with self._tx():
                        self._set("inflight", None)
                    continue
                if response.get("reregister"):
                    self._reregister()
                    report.reregistered = True
                    continue
                again = self._apply_response(request, response, report)
                if not again and not self._uploads_left(request, response):
                    break
            self._fetch_blobs(report)
        return report

    def _lacking_blobs(self) -> list[str]:
        """Credentials in the wallet whose bytes this device lacks and may ask for now."""
        with self._lock:
            present = sorted(
                key[1]
                for key, row in self.state().items()
                if key[0] == ENTRY and isinstance(row, EntryState) and row.presence.present
            )
            held = {cred for (cred,) in self._db.execute("SELECT cred FROM blobs")}
            waiting = {
                cred
                for (cred,) in self._db.execute("SELECT cred FROM blob_misses WHERE retry_at > ?", (self._clock(),))
            }
        return [cred for cred in present if cred not in held and cred not in waiting]

    def _fetch_blobs(self, report: SyncReport) -> None:
        """Download the bytes of the wallet's credentials this device lacks, 100 per request (I11).

        Bytes are kept only if their sha256 is the credential's id; what the server cannot serve (or
        served wrong) is asked for again after ``BLOB_RETRY_SECONDS`` or when its entry changes.
        Credentials already held are never fetched again: the id names the bytes.
        """
        lacking = self._lacking_blobs()
        if lacking and self.protocol >= 2:
            self._fetch_blob_batches(lacking, report)
            return
        for start in range(0, len(lacking), MAX_BLOBS_PER_FETCH):
            asked = lacking[start : start + MAX_BLOBS_PER_FETCH]
            answer = self.client.blobs(asked)
            report.blob_requests += 1
            sent = answer.get("blobs") or {}
            with self._tx():
                for cred in asked:
                    raw = _decoded(sent.get(cred))
                    if raw is not None and sha256_id(raw) == cred:
                        self._db.execute("INSERT OR IGNORE INTO blobs (cred, raw) VALUES (?, ?)", (cred, raw))
                        self._db.execute("DELETE FROM blob_misses WHERE cred = ?", (cred,))
                        report.blobs_fetched += 1
                        continue
                    if raw is not None:
                        report.blobs_refused.append(cred)
                    self._db.execute(
                        "INSERT OR REPLACE INTO blob_misses (cred, retry_at) VALUES (?, ?)",
                        (cred, self._clock() + BLOB_RETRY_SECONDS),
                    )

    def _fetch_blob_batches(self, lacking: list[str], report: SyncReport) -> None:
        """The binary way (§7.3): a device holding no credential bytes at all asks for every credential
        of the wallet at once (``all``, paged by the server's byte budget); one that holds some lists
        what it lacks, 1,000 ids a request. Blobs arrive as they are, checked against their digest."""
        with self._lock:
            holds_none = self._db.execute("SELECT 1 FROM blobs LIMIT 1").fetchone() is None
        wanted = set(lacking)
        settled: set[str] = set()
        received: set[str] = set()
        refused: set[str] = set()
        after: str | None = None
        for _ in range(MAX_BLOB_BATCHES):
            asked: list[str] = []
            if holds_none:
                batch = self.client.blob_batch(None, after=after)
            else:
                asked = [cred for cred in lacking if cred not in settled][:MAX_BINARY_CREDS]
                if not asked:
                    break
                batch = self.client.blob_batch(asked)
            report.blob_requests += 1
            kept = {cred: raw for cred, raw in batch.blobs.items() if holds_none or cred in wanted}
            with self._tx():
                for cred, raw in kept.items():
                    self._db.execute("INSERT OR IGNORE INTO blobs (cred, raw) VALUES (?, ?)", (cred, raw))
                    self._db.execute("DELETE FROM blob_misses WHERE cred = ?", (cred,))
            received |= set(kept)
            refused |= set(batch.refused) & wanted
            seen = [*batch.blobs, *batch.refused]
            settled |= {*seen, *batch.missing}
            if holds_none:
                if not batch.more or not seen:
                    break
                after = max(seen)
            elif not batch.more:
                settled |= set(asked)
            elif not seen:
                break
        got = received & wanted
        report.blobs_fetched += len(got)
        report.blobs_refused += sorted(refused)
        with self._tx():
            self._db.executemany(
                "INSERT OR REPLACE INTO blob_misses (cred, retry_at) VALUES (?, ?)",
                [(cred, self._clock() + BLOB_RETRY_SECONDS) for cred in sorted(wanted - got)],
            )

    def _uploads_left(self, request: dict[str, Any], response: dict[str, Any]) -> bool:
        """Whether to send another request for credential bytes the server lacks and this device holds:
        not if the last one sent some and the server took none of them (so a refused blob cannot loop)."""
        sent = set(request.get("blobs") or {})
        if sent and sent <= set(response.get("missing_blobs") or []):
            return False
        with self._lock:
            return self._db.execute("SELECT 1 FROM blob_uploads JOIN blobs USING (cred) LIMIT 1").fetchone() is not None

    def _ensure_registered(self) -> None:
        with self._lock:
            if self._get("registered") == "1":
                return
            client_id = str(self._get("client_id"))
        answer = self.client.register_sync_client(client_id)
        with self._tx():
            self._adopt_server_clock(answer["server_hlc"])
            self._set("registered", "1")

    def _adopt_server_clock(self, server_hlc: str) -> None:
        """HLC receive rule with the server's stamp, and learn how far the device's wall clock is off."""
        server = Hlc.parse(server_hlc)
        self._set("clock_offset_ms", str(server.physical_ms - int(self._clock() * 1000)))
        self._set("hlc", str(receive(self._hlc(), server, now_ms=self._now_ms(), node=str(self._get("client_id")))))

    def _next_request(self) -> dict[str, Any]:
        """The in-flight request if its answer never arrived (resent identically), else a new one."""
        with self._tx():
            inflight = self._get("inflight")
            if inflight:
                return json.loads(inflight)
            ops: list[dict[str, Any]] = []
            blobs: dict[str, str] = {}
            rows = self._db.execute(
                "SELECT op, with_blob FROM pending_ops ORDER BY op_seq LIMIT ?", (self.batch_size,)
            ).fetchall()
            for text, with_blob in rows:
                raw = json.loads(text)
                if with_blob:
                    blob = self._db.execute("SELECT raw FROM blobs WHERE cred = ?", (raw["cred"],)).fetchone()
                    if blob is not None and raw["cred"] not in blobs:
                        if len(blobs) >= MAX_BLOBS_PER_REQUEST:
                            break
                        blobs[raw["cred"]] = base64.b64encode(bytes(blob[0])).decode()
                ops.append(raw)
            uploads = self._db.execute(
                "SELECT cred, raw FROM blob_uploads JOIN blobs USING (cred) ORDER BY cred LIMIT ?",
                (MAX_BLOBS_PER_REQUEST,),
            )
            for cred, raw in uploads.fetchall():
                if len(blobs) >= MAX_BLOBS_PER_REQUEST:
                    break
                blobs.setdefault(cred, base64.b64encode(bytes(raw)).decode())
            request = {
                "protocol": self.protocol,
                "client_id": self._get("client_id"),
                "cursor": self._get("cursor"),
                "ops": ops,
                "limit": self.limit,
            }
            if blobs:
                request["blobs"] = blobs
            self._set("inflight", json.dumps(request))
            return request

    def _apply_response(self, request: dict[str, Any], response: dict[str, Any], report: SyncReport) -> bool:
        """Apply one response in one local transaction; whether another request is needed."""
        with self._tx():
            previous_ack = int(self._get("acked_op_seq") or 0)
            acked = int(response["acked_op_seq"])
            regressed = acked < previous_ack
            if response["reset"]:
                self._db.execute("DELETE FROM snapshot_rows")
                self._set("snapshot", "1")
                report.reset = True
            staging = self._get("snapshot") == "1"
            refused = {rejection["op_seq"] for rejection in response["rejected"]}
            sent = {op["op_seq"]: op for op in request["ops"]}
            if not staging and response.get("applied_from") is not None:
                # Protocol 2 does not echo rows only our own ops changed: join those ops ourselves.
                applied_from = int(response["applied_from"])
                own = ops_to_join(list(sent), applied_from=applied_from, acked_op_seq=acked, rejected=refused)
                self._join_into_base([sent[op_seq] for op_seq in own])
            for change in response["changes"]:
                self._store_change(change, staging=staging)
            if staging and not response["has_more"]:
                self._db.execute("DELETE FROM base_rows")
                self._db.execute("INSERT INTO base_rows (kind, id, state) SELECT kind, id, state FROM snapshot_rows")
                self._db.execute("DELETE FROM snapshot_rows")
                self._set("snapshot", None)
            elif staging:
                self._keep_acked_in_base(acked, refused)
            self._db.execute("DELETE FROM pending_ops WHERE op_seq <= ?", (acked,))
            skewed = False
            client_id = str(self._get("client_id"))
            for rejection in response["rejected"]:
                if rejection["code"] == "op.clock_skew":
                    skewed = True
                    continue
                self._db.execute(
                    "INSERT OR REPLACE INTO rejections (client_id, op_seq, code, detail, op) VALUES (?, ?, ?, ?, ?)",
                    (
                        client_id,
                        rejection["op_seq"],
                        rejection["code"],
                        rejection.get("detail"),
                        json.dumps(sent.get(rejection["op_seq"])),
                    ),
                )
                report.rejected.append(rejection)
            self._set("cursor", response["cursor"])
            self._set("acked_op_seq", str(max(acked, previous_ack)))
            uploaded = [(cred,) for cred in request.get("blobs") or {}]
            self._db.executemany("DELETE FROM blob_uploads WHERE cred = ?", uploaded)
            self._db.executemany(
                "INSERT OR IGNORE INTO blob_uploads (cred) VALUES (?)",
                [(cred,) for cred in response.get("missing_blobs", [])],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO blob_misses (cred, retry_at) VALUES (?, ?)",
                [(cred, self._clock() + BLOB_RETRY_SECONDS) for cred in response.get("missing_blobs", [])],
            )
            self._set("inflight", None)
            if skewed:
                self._set("hlc", None)  # only never-applied ops carried the runaway stamps
            self._adopt_server_clock(response["server_hlc"])
            if skewed:
                self._restamp_pending()
            remaining = self._db.execute("SELECT count(*) FROM pending_ops").fetchone()[0]
        report.acked_op_seq = acked
        report.changes += len(response["changes"])
        report.missing_blobs = response.get("missing_blobs", [])
        if regressed:
            self._reregister()
            report.reregistered = True
            return True
        progressed = acked > previous_ack or skewed
        # A resent in-flight request may predate ops queued since: once the server has acknowledged all
        # it was sent, anything still pending goes in the next request of this same sync.
        everything_sent_acked = acked >= max(sent, default=acked)
        return bool(response["has_more"] or (remaining and (progressed or everything_sent_acked)))

    def _keep_acked_in_base(self, acked: int, refused: set[int]) -> None:
        """Join ops the server applied into the old base while a snapshot is still arriving, so the
        learner's own edits stay visible until the snapshot (which holds them too) replaces it."""
        rows = self._db.execute("SELECT op_seq, op FROM pending_ops WHERE op_seq <= ? ORDER BY op_seq", (acked,))
        self._join_into_base([json.loads(text) for op_seq, text in rows.fetchall() if op_seq not in refused])

    def _join_into_base(self, ops: list[dict[str, Any]]) -> None:
        """Join ``ops`` into the base rows they touch (and only those: no full read of the base)."""
        for raw in ops:
            op = validate_op(raw)
            state: dict[tuple[str, ...], Any] = {}
            for key in affected_keys(op):
                stored = self._db.execute(_BASE_SQL[0], (key[0], _row_id(key))).fetchone()
                if stored is not None:
                    state[key] = row_from_wire(key[0], json.loads(stored[0]))
            state, changed = apply_op(state, op)
            for key in changed:
                self._db.execute(_BASE_SQL[1], (key[0], _row_id(key), json.dumps(row_to_wire(state[key]))))

    def _store_change(self, change: dict[str, Any], *, staging: bool) -> None:
        """Join one server row into the base (the shared rule, so a stale duplicate never wins).

        ``staging``: into ``snapshot_rows`` instead, while the pages of a reset arrive; the old base stays
        what the learner sees until the snapshot is complete (docs/sync.md §7.2).
        """
        select_sql, upsert_sql = _SNAPSHOT_SQL if staging else _BASE_SQL
        key, row = change_from_wire(change)
        stored_id = _row_id(key)
        current = self._db.execute(select_sql, (key[0], stored_id)).fetchone()
        if current is not None:
            row = join(row_from_wire(key[0], json.loads(current[0])), row)
        self._db.execute(upsert_sql, (key[0], stored_id, json.dumps(row_to_wire(row))))
        if key[0] == ENTRY:
            self._db.execute("DELETE FROM blob_misses WHERE cred = ?", (key[1],))

    def _restamp_pending(self) -> None:
        """Give unacknowledged ops fresh stamps after the server refused one as too far in the future.

        Allowed because they were never applied anywhere; their order among themselves is kept.
        """
        client_id = str(self._get("client_id"))
        stamp = self._hlc()
        for op_seq, text in self._db.execute("SELECT op_seq, op FROM pending_ops ORDER BY op_seq").fetchall():
            raw = json.loads(text)
            stamp = send(stamp, now_ms=self._now_ms(), node=client_id)
            raw["hlc"] = str(stamp)
            self._db.execute("UPDATE pending_ops SET op = ? WHERE op_seq = ?", (json.dumps(raw), op_seq))
        self._set("hlc", str(stamp) if stamp else None)

    def _reregister(self) -> None:
        """After a server restore (I14): new client id, then re-push every row and pending op as ours.

        The base becomes ``row.merge`` ops (live and removed dots, stamped values, as they were), the
        pending ops are renumbered after them with their dots renamed to the new id, and the base is
        cleared; the next requests register the new id and push all of it, then pull a fresh snapshot.
        """
        with self._tx():
            old_id = str(self._get("client_id"))
            new_id = str(uuid.uuid4())
            base = self._base()
            pending = self._db.execute("SELECT op, with_blob FROM pending_ops ORDER BY op_seq").fetchall()
            self._db.execute("DELETE FROM pending_ops")
            self._db.execute("DELETE FROM base_rows")
            self._db.execute("DELETE FROM snapshot_rows")
            self._set("snapshot", None)
            stamp: Hlc | None = None
            op_seq = 0
            for key in sorted(base):
                if key[0] not in CLIENT_ROW_KINDS:
                    continue  # server-written rows (action results, facts) come back in the snapshot
                op_seq += 1
                stamp = send(stamp if stamp else self._hlc(), now_ms=self._now_ms(), node=new_id)
                raw = {
                    "type": "row.merge",
                    "op_seq": op_seq,
                    "hlc": str(stamp),
                    "k": key[0],
                    "id": list(key[1:]),
                    "s": row_to_wire(base[key]),
                }
                # No bytes with it: the server lists in missing_blobs the credentials it lacks, and only
                # those are uploaded (blob_uploads) — a restored server usually holds every one.
                self._db.execute(
                    "INSERT INTO pending_ops (op_seq, op, with_blob) VALUES (?, ?, 0)", (op_seq, json.dumps(raw))
                )
            renamed: dict[tuple[str, int], list[Any]] = {}
            for text, with_blob in pending:
                raw = json.loads(text)
                op_seq += 1
                renamed[(old_id, raw["op_seq"])] = [new_id, op_seq]
                old_stamp = Hlc.parse(raw["hlc"])
                raw["hlc"] = str(Hlc(old_stamp.physical_ms, old_stamp.counter, new_id))
                raw["op_seq"] = op_seq
                if "dot" in raw:
                    raw["dot"] = [new_id, op_seq]
                if "observed" in raw:
                    raw["observed"] = sorted(renamed.get((node, n), [node, n]) for node, n in raw["observed"])
                if raw["type"] == "row.merge":
                    for name in ("dots", "rm"):
                        if name in raw["s"]:
                            raw["s"][name] = sorted(renamed.get((node, n), [node, n]) for node, n in raw["s"][name])
                self._db.execute(
                    "INSERT INTO pending_ops (op_seq, op, with_blob) VALUES (?, ?, ?)",
                    (op_seq, json.dumps(raw), with_blob),
                )
            self._set("client_id", new_id)
            self._set("registered", "0")
            self._set("next_op_seq", str(op_seq + 1))
            self._set("acked_op_seq", "0")
            self._set("cursor", None)
            self._set("inflight", None)
            self._db.execute("DELETE FROM blob_uploads")
