"""The HTTP client: one class, keyword-only configuration, a default timeout, a replaceable transport.

Retries are bounded and jittered (0.5 s doubling to 8 s, at most ``max_retries`` attempts) and only
for requests that are safe to repeat: GETs, sync requests (their ops are idempotent by ``op_seq``)
and token refreshes (idempotent by their ``idempotency_key`` within the server's grace window). They
cover connection failures, 5xx and 429 (``Retry-After`` honoured).

Tokens (docs/sync.md, "Signing in and staying signed in"): an expired access token
(``auth.invalid_token``) is refreshed transparently, under a lock, so two threads never spend one
refresh token. Before a refresh is sent, the idempotency key it carries is saved with the tokens; the
new pair is saved before it is used. So a refresh whose answer was lost — a dropped connection, a
timeout, the app killed — is simply sent again (by the retry loop, or by the next process from the
store) and the server returns the same pair. A refresh that can never succeed raises
:class:`~wallet_client.errors.SignedOut` and forgets the dead tokens: show the sign-in screen.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from wallet_protocol.sync.blobs import BLOB_BATCH_MEDIA_TYPE, BlobBatch, InvalidBlobBatch, decode_blob_batch
from wallet_protocol.sync.wire import BLOBS_PATH, REGISTER_CLIENT_PATH, SYNC_PATH

from wallet_client.errors import (
    AuthError,
    RateLimited,
    ServerError,
    SignedOut,
    TransportError,
    error_for,
)

DEFAULT_TIMEOUT = 10.0
BACKOFF_START = 0.5
BACKOFF_CAP = 8.0
MAX_RETRY_AFTER = 60.0
GZIP_MIN_BYTES = 1024
REFRESH_PATH = "/api/v1/auth/refresh"
MAX_REFRESHES_PER_REQUEST = 2
"""A request refreshes at most this often (a repeated refresh may hand back an access token that is
already expired when the access lifetime is shorter than the time since the exchange)."""


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    account_id: str | None = None
    device_id: str | None = None
    idempotency_key: str | None = None
    """Set while a refresh of ``refresh_token`` may be on its way: resent with it, so a repeat of that
    exchange gets the same new pair instead of signing the device out."""


class TokenStore(Protocol):
    """Where the client keeps its tokens (a keychain on a phone; the replica, memory or a file elsewhere).

    ``save`` must be durable when it returns: the client saves a refresh's idempotency key before
    sending it and the new pair before using it, and relies on finding them after a crash.
    :class:`~wallet_client.offline.ReplicaTokenStore` keeps them in the offline replica's SQLite file.
    """

    def load(self) -> Tokens | None: ...

    def save(self, tokens: Tokens) -> None: ...

    def clear(self) -> None: ...


class MemoryTokenStore:
    def __init__(self, tokens: Tokens | None = None) -> None:
        self._tokens = tokens

    def load(self) -> Tokens | None:
        return self._tokens

    def save(self, tokens: Tokens) -> None:
        self._tokens = tokens

    def clear(self) -> None:
        self._tokens = None


class FileTokenStore:
    """Tokens in a JSON file readable only by this user (for scripts and the CLI)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> Tokens | None:
        try:
            return Tokens(**json.loads(self.path.read_text()))
        except (FileNotFoundError, ValueError, TypeError):
            return None

    def save(self, tokens: Tokens) -> None:
        """Write a new file, flush it to disk, then rename it over the old one (and flush the folder)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(json.dumps(tokens.__dict__))
            file.flush()
            os.fsync(file.fileno())
        temporary.replace(self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def backoff_delay(attempt: int, *, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): 0.5, 1, 2, 4, 8 … capped, with equal jitter."""
    ceiling = min(BACKOFF_CAP, BACKOFF_START * 2 ** (attempt - 1))
    return ceiling / 2 + rand() * ceiling / 2


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        return None


class WalletClient:
    """A learner's connection to a Learner Wallet server.

    ``transport`` replaces the network (``httpx.WSGITransport(app=flask_app)`` in tests, a mock
    transport, or a fault-injecting wrapper); ``sleep`` is what waits between retries (tests pass a
    no-op); ``token_store`` keeps the tokens between runs.
    """

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        token_store: TokenStore | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max(1, max_retries)
        self.token_store: TokenStore = token_store if token_store is not None else MemoryTokenStore()
        self._sleep = sleep
        self._rand = rand
        self._refresh_lock = threading.Lock()
        self._http = httpx.Client(
            base_url=self.base_url, transport=transport, timeout=timeout, headers={"Accept": "application/json"}
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WalletClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- plumbing ----------------------------------------------------------------------------

    def _send_once(
        self, method: str, path: str, *, content: bytes | None, headers: dict[str, str], authenticated: bool
    ) -> httpx.Response:
        headers = dict(headers)
        if authenticated:
            tokens = self.token_store.load()
            if tokens is None:
                raise SignedOut("auth.required", "Sign in first.")
            headers["Authorization"] = f"Bearer {tokens.access_token}"
        try:
            return self._http.request(method, path, content=content, headers=headers)
        except httpx.TransportError as exc:
            raise TransportError("network.unreachable", str(exc)) from exc

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        authenticated: bool = True,
        safe: bool | None = None,
        gzip_body: bool = False,
        headers: dict[str, str] | None = None,
        expect_json: bool = True,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        """Send one request (retrying if ``safe``) and return its decoded JSON (or bytes).

        The body is ``json_body`` (encoded here) or raw ``content`` of ``content_type``.
        """
        safe = method == "GET" if safe is None else safe
        send_headers = dict(headers or {})
        if content is not None and content_type:
            send_headers["Content-Type"] = content_type
        if json_body is not None:
            content = json.dumps(json_body, separators=(",", ":")).encode()
            send_headers["Content-Type"] = "application/json"
            if gzip_body and len(content) >= GZIP_MIN_BYTES:
                content = gzip.compress(content, mtime=0)
                send_headers["Content-Encoding"] = "gzip"
        refreshes = 0
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send_once(
                    method, path, content=content, headers=send_headers, authenticated=authenticated
                )
            except TransportError:
                if not safe or attempt >= self.max_retries:
                    raise
                self._sleep(backoff_delay(attempt, rand=self._rand))
                continue
            if response.status_code < 400:
                if not expect_json:
                    return response.content
                return response.json() if response.content else None
            error = error_for(response.status_code, _problem(response), retry_after=_retry_after(response))
            if (
                isinstance(error, AuthError)
                and error.code == "auth.invalid_token"
                and authenticated
                and refreshes < MAX_REFRESHES_PER_REQUEST
            ):
                self._refresh_after(rejected_header=response.request.headers)
                refreshes += 1
                continue
            if isinstance(error, SignedOut) and authenticated:
                self._forget(rejected_header=response.request.headers)
            if safe and attempt < self.max_retries and isinstance(error, ServerError | RateLimited):
                wait = getattr(error, "retry_after", None)
                self._sleep(wait if wait is not None else backoff_delay(attempt, rand=self._rand))
                continue
            raise error

    def _refresh_after(self, *, rejected_header: httpx.Headers) -> None:
        """Refresh unless another thread already did since the rejected request was sent.

        Raises what the refresh raised: :class:`SignedOut` (sign in again), or a transport or server
        error once the refresh's own retries are spent (the next call repeats it, safely).
        """
        with self._refresh_lock:
            tokens = self.token_store.load()
            if tokens is None:
                raise SignedOut("auth.required", "Sign in first.")
            if rejected_header.get("Authorization") != f"Bearer {tokens.access_token}":
                return
            self._refresh_locked(tokens)

    def _refresh_locked(self, tokens: Tokens) -> Tokens:
        """One refresh exchange, repeatable: its idempotency key is stored before it is first sent."""
        if tokens.idempotency_key is None:
            tokens = replace(tokens, idempotency_key=secrets.token_urlsafe(24))
            self.token_store.save(tokens)
        try:
            body = self.request(
                "POST",
                REFRESH_PATH,
                json_body={"refresh_token": tokens.refresh_token, "idempotency_key": tokens.idempotency_key},
                authenticated=False,
                safe=True,
            )
        except SignedOut:
            if self.token_store.load() == tokens:
                self.token_store.clear()
            raise
        return self._keep(body)

    def _forget(self, *, rejected_header: httpx.Headers) -> None:
        """Drop tokens the server just called dead (unless a sign-in replaced them meanwhile)."""
        with self._refresh_lock:
            tokens = self.token_store.load()
            if tokens is not None and rejected_header.get("Authorization") == f"Bearer {tokens.access_token}":
                self.token_store.clear()

    def _keep(self, body: dict[str, Any]) -> Tokens:
        """Store a new pair (durably, before anyone uses it) and return it."""
        tokens = Tokens(
            body["access_token"],
            body["refresh_token"],
            str(body.get("account_id") or ""),
            str(body.get("device_id") or ""),
        )
        self.token_store.save(tokens)
        return tokens

    # --- accounts ------------------------------------------------------------------------------

    def sign_up(
        self,
        username: str,
        password: str,
        *,
        display_name: str = "",
        device_name: str = "Python SDK",
        platform: str = "python",
    ) -> dict[str, Any]:
        body = self.request(
            "POST",
            "/api/v1/accounts",
            authenticated=False,
            json_body={
                "username": username,
                "password": password,
                "display_name": display_name,
                "device": {"name": device_name, "platform": platform},
            },
        )
        self._keep(body)
        return body

    def login(
        self, username: str, password: str, *, device_name: str = "Python SDK", platform: str = "python"
    ) -> dict[str, Any]:
        body = self.request(
            "POST",
            "/api/v1/auth/login",
            authenticated=False,
            json_body={
                "username": username,
                "password": password,
                "device": {"name": device_name, "platform": platform},
            },
        )
        self._keep(body)
        return body

    def refresh(self) -> Tokens:
        """Exchange the refresh token now (normally automatic on an expired access token).

        Raises :class:`SignedOut` if it can never work again (the tokens are forgotten).
        """
        with self._refresh_lock:
            tokens = self.token_store.load()
            if tokens is None:
                raise SignedOut("auth.required", "Sign in first.")
            return self._refresh_locked(tokens)

    def logout(self) -> None:
        try:
            self.request("POST", "/api/v1/auth/logout")
        finally:
            self.token_store.clear()

    def me(self) -> dict[str, Any]:
        return self.request("GET", "/api/v1/me")

    def devices(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v1/me/devices")

    def revoke_device(self, device_id: str) -> None:
        self.request("DELETE", f"/api/v1/me/devices/{device_id}")

    # --- credentials ---------------------------------------------------------------------------

    def credentials(self, **filters: str) -> list[dict[str, Any]]:
        """The credentials you hold (filters: ``issuer``, ``q``, ``tag``, ``status`` …)."""
        query = str(httpx.QueryParams(filters))
        return self.request("GET", "/api/v1/credentials" + (f"?{query}" if query else ""))

    def credential(self, credential_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/credentials/{credential_id}")

    def blob(self, cred_hash: str) -> bytes:
        """A credential's bytes by content hash (immutable; cache them forever)."""
        return self.request("GET", f"{SYNC_PATH}/blobs/{cred_hash}", expect_json=False)

    def blobs(self, creds: list[str]) -> dict[str, Any]:
        """Up to 100 credentials' bytes in one request: ``{"blobs": {cred: base64}, "missing": [...]}``.

        Read-only, so retried like a GET. The bytes are as the server sent them: check their hash.
        """
        return self.request(
            "POST", BLOBS_PATH, json_body={"creds": creds}, safe=True, headers={"Accept-Encoding": "gzip"}
        )

    def blob_batch(self, creds: list[str] | None = None, *, after: str | None = None) -> BlobBatch:
        """Credentials' bytes as they are, in one binary batch (docs/sync.md §7.3): up to 1,000 ``creds``,
        or with ``creds=None`` every credential of the wallet after ``after``, in id order.

        Read-only, so retried like a GET. Only blobs that hash to the digest they came with are in
        ``blobs``; check that each is one you asked for. ``more``: ask again for the rest.
        """
        body: dict[str, Any] = {"creds": creds} if creds is not None else {"all": True, "after": after}
        raw = self.request(
            "POST",
            BLOBS_PATH,
            json_body=body,
            safe=True,
            expect_json=False,
            headers={"Accept": BLOB_BATCH_MEDIA_TYPE, "Accept-Encoding": "gzip"},
        )
        try:
            return decode_blob_batch(raw)
        except InvalidBlobBatch as exc:
            raise TransportError("network.corrupt_answer", str(exc)) from exc

    def import_credential(self, data: bytes, *, content_type: str = "application/json") -> dict[str, Any]:
        """Hold a credential file (OB 3.0 JSON, VC-JWT, OB 2.0, baked PNG/SVG); verified on the way in."""
        return self.request("POST", "/api/v1/credentials/import", content=data, content_type=content_type)

    # --- skills frameworks, pathways and records ----------------------------------------------------

    def frameworks(self) -> list[dict[str, Any]]:
        """Every skills framework on the server (public)."""
        return self.request("GET", "/api/v1/frameworks")

    def framework(self, slug: str, *, version: int | None = None) -> dict[str, Any]:
        """A framework's items in its latest version (or ``version``)."""
        return self.request("GET", f"/api/v1/frameworks/{slug}" + (f"?version={version}" if version else ""))

    def pathways(self) -> list[dict[str, Any]]:
        """Every published pathway (OB 3.0 Achievements with CLR 2.0 associations, and the ``definition``
        that :func:`wallet_protocol.pathways.progress` reads — keep them to compute progress offline)."""
        return self.request("GET", "/api/v1/pathways")

    def my_pathways(self, *, all: bool = False) -> dict[str, Any]:
        """Your pathways' progress and the next steps that would advance them (``{"pathways", "next_steps"}``)."""
        return self.request("GET", "/api/v1/me/pathways" + ("?all=true" if all else ""))

    def my_pathway(self, pathway_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/me/pathways/{pathway_id}")

    def my_skills(self) -> list[dict[str, Any]]:
        """Your skills across all your badges, each with the badges that show it."""
        return self.request("GET", "/api/v1/me/skills")

    def export_record(
        self, *, credentials: list[str], pathways: list[str] | None = None, name: str | None = None
    ) -> dict[str, Any]:
        """A signed CLR 2.0 record of chosen badges (wallet ids) and pathways, kept in your wallet:
        share it with :meth:`create_share` (``credential_id=record["id"]``)."""
        body: dict[str, Any] = {"credentials": credentials, "pathways": pathways or []}
        if name is not None:
            body["name"] = name
        return self.request("POST", "/api/v1/me/records", json_body=body)

    # --- claims and sharing --------------------------------------------------------------------

    def redeem_claim(self, code: str, *, pin: str | None = None) -> dict[str, Any]:
        """Claim a badge with a scanned URL, token or typed code. A repeat returns the same credential, so
        this is retried like a GET; offline, queue it with ``OfflineWallet.claim`` instead."""
        body: dict[str, Any] = {"code": code}
        if pin is not None:
            body["pin"] = pin
        return self.request("POST", "/api/v1/claims/redeem", json_body=body, safe=True)

    def create_share(
        self,
        *,
        credential_id: str | None = None,
        collection_id: str | None = None,
        label: str = "",
        expires_at: str | None = None,
        allow_indexing: bool = False,
        show_evidence: bool = False,
    ) -> dict[str, Any]:
        """A new share link (give exactly one of ``credential_id`` or ``collection_id``). Not retried:
        a repeat would make a second link."""
        body: dict[str, Any] = {
            "label": label,
            "expires_at": expires_at,
            "allow_indexing": allow_indexing,
            "show_evidence": show_evidence,
        }
        if credential_id is not None:
            body["credential_id"] = credential_id
        if collection_id is not None:
            body["collection_id"] = collection_id
        return self.request("POST", "/api/v1/shares", json_body=body)

    def shares(self, *, credential_id: str | None = None) -> list[dict[str, Any]]:
        """Your share links, newest first, with view counts and last-viewed times."""
        query = f"?credential_id={credential_id}" if credential_id else ""
        return self.request("GET", f"/api/v1/shares{query}")

    def revoke_share(self, share_id: str) -> dict[str, Any]:
        """Stop a link working at once (revoking twice keeps the first time, so it is safe to repeat)."""
        return self.request("POST", f"/api/v1/shares/{share_id}/revoke", safe=True)

    # --- badge requests (docs/requests.md) -------------------------------------------------------

    def requestable_badges(self) -> list[dict[str, Any]]:
        """Badges you can ask for, across organisations, with the evidence each organisation wants."""
        return self.request("GET", "/api/v1/requestable-badges")

    def request_badge(
        self, achievement_id: str, *, narrative: str, links: list[str] | None = None, witness: str = ""
    ) -> dict[str, Any]:
        """Ask for a badge, saying what you did. Not retried (a repeat is refused as already open);
        offline, queue it with ``OfflineWallet.request_badge``."""
        body = {"achievement_id": achievement_id, "narrative": narrative, "links": links or [], "witness": witness}
        return self.request("POST", "/api/v1/me/badge-requests", json_body=body)

    def badge_requests(self) -> list[dict[str, Any]]:
        """Your badge requests, newest first, with their threads and files."""
        return self.request("GET", "/api/v1/me/badge-requests")

    def badge_request(self, request_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v1/me/badge-requests/{request_id}")

    def attach_evidence(self, request_id: str, data: bytes, *, filename: str, content_type: str) -> dict[str, Any]:
        """Attach a photo (PNG, JPEG) or document (PDF, text) to your open request."""
        return self.request(
            "POST",
            f"/api/v1/me/badge-requests/{request_id}/files?filename={quote(filename)}",
            content=data,
            content_type=content_type,
        )

    def answer_badge_request(self, request_id: str, body: str) -> dict[str, Any]:
        """Answer in the request's thread (after the reviewer asked for more)."""
        return self.request("POST", f"/api/v1/me/badge-requests/{request_id}/replies", json_body={"body": body})

    def withdraw_badge_request(self, request_id: str) -> dict[str, Any]:
        """Withdraw an open request; its files and words are erased."""
        return self.request("POST", f"/api/v1/me/badge-requests/{request_id}/withdraw")

    # --- sync ----------------------------------------------------------------------------------

    def register_sync_client(self, client_id: str | None = None) -> dict[str, Any]:
        """Register (idempotently) this device's sync client; safe to repeat."""
        return self.request(
            "POST", REGISTER_CLIENT_PATH, json_body={"client_id": client_id} if client_id else {}, safe=True
        )

    def sync(self, body: dict[str, Any]) -> dict[str, Any]:
        """One ``POST /api/v1/sync``; safe to repeat, so it is retried like a GET."""
        return self.request(
            "POST", SYNC_PATH, json_body=body, safe=True, gzip_body=True, headers={"Accept-Encoding": "gzip"}
        )


def _problem(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
