"""WalletClient: accounts through the real app, errors as exceptions, safe retries, silent refresh."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from wallet_client import AuthError, Conflict, NotFound, RateLimited, ServerError, TransportError, WalletClient
from wallet_client.client import backoff_delay


def test_sign_up_then_read_my_account_and_devices(make_client: Callable[..., WalletClient]) -> None:
    client = make_client()
    client.sign_up("sam", "correct horse battery", device_name="Sam's laptop")
    assert client.me()["username"] == "sam"
    assert [d["name"] for d in client.devices()] == ["Sam's laptop"]
    other = make_client()
    other.login("sam", "correct horse battery", device_name="Sam's phone")
    assert len(other.devices()) == 2


def test_server_errors_arrive_as_exceptions_with_the_code(make_client: Callable[..., WalletClient]) -> None:
    make_client().sign_up("sam", "correct horse battery")
    with pytest.raises(Conflict) as taken:
        make_client().sign_up("sam", "another long password")
    assert taken.value.code == "account.username_taken" and taken.value.status == 409
    with pytest.raises(AuthError) as wrong:
        make_client().login("sam", "not the password")
    assert wrong.value.code == "auth.invalid_credentials"
    client = make_client()
    client.login("sam", "correct horse battery")
    with pytest.raises(NotFound):
        client.blob("sha256:" + "0" * 64)


def test_an_expired_access_token_is_refreshed_once_silently(
    make_client: Callable[..., WalletClient], clock: Any
) -> None:
    client = make_client()
    client.sign_up("sam", "correct horse battery")
    first = client.token_store.load()
    clock.advance(minutes=20)
    assert client.me()["username"] == "sam"
    assert client.token_store.load() != first


class Scripted(httpx.BaseTransport):
    """Answers from a script: an exception to raise or a (status, headers, json) reply per call."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if isinstance(step, Exception):
            raise step
        status, headers, body = step
        return httpx.Response(status, headers=headers, json=body, request=request)


def _client(script: list[Any], sleeps: list[float]) -> tuple[WalletClient, Scripted]:
    transport = Scripted(script)
    client = WalletClient("https://wallet.test", transport=transport, sleep=sleeps.append, rand=lambda: 1.0)
    client.token_store.save(__import__("wallet_client").Tokens("access", "refresh"))
    return client, transport


def test_safe_requests_retry_with_backoff_then_succeed() -> None:
    sleeps: list[float] = []
    client, transport = _client(
        [httpx.ConnectError("down"), (503, {}, {"code": "server.unavailable"}), (200, {}, {"username": "sam"})], sleeps
    )
    assert client.me() == {"username": "sam"}
    assert transport.calls == 3
    assert sleeps == [0.5, 1.0]


def test_retries_are_bounded() -> None:
    sleeps: list[float] = []
    client, transport = _client([(500, {}, {"code": "server.internal_error"})], sleeps)
    with pytest.raises(ServerError):
        client.me()
    assert transport.calls == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_429_honours_retry_after() -> None:
    sleeps: list[float] = []
    client, _ = _client([(429, {"Retry-After": "7"}, {"code": "request.rate_limited"}), (200, {}, {})], sleeps)
    client.me()
    assert sleeps == [7.0]
    client, _ = _client([(429, {"Retry-After": "3"}, {"code": "request.rate_limited"})], sleeps)
    with pytest.raises(RateLimited) as limited:
        client.me()
    assert limited.value.retry_after == 3


def test_unsafe_requests_are_not_retried() -> None:
    sleeps: list[float] = []
    client, transport = _client([httpx.ConnectError("down")], sleeps)
    with pytest.raises(TransportError):
        client.revoke_device("d")
    assert transport.calls == 1 and sleeps == []


def test_sync_requests_are_retried_because_they_are_idempotent() -> None:
    sleeps: list[float] = []
    client, transport = _client([httpx.ReadTimeout("lost"), (200, {}, {"acked_op_seq": 0})], sleeps)
    assert client.sync({"ops": []}) == {"acked_op_seq": 0}
    assert transport.calls == 2


def test_backoff_grows_to_eight_seconds_with_jitter() -> None:
    assert [backoff_delay(n, rand=lambda: 1.0) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 8, 8]
    assert backoff_delay(5, rand=lambda: 0.0) == 4.0


def test_a_learner_claims_shares_lists_and_revokes_through_the_sdk(
    make_client: Callable[..., WalletClient], app: Any, db: Any, clock: Any, organisation: Any
) -> None:
    """The employer-facing loop from a client's point of view: claim a badge, share it, see the view
    count, revoke the link."""
    from tests.claims.conftest import Venue, make_achievement

    org = organisation()
    venue = Venue(app.test_client(), org, make_achievement(db, org, now=clock.now), clock)
    url = venue.qr(venue.open())["url"]
    sam = make_client()
    sam.sign_up("sam-sdk", "correct horse battery")

    claimed = sam.redeem_claim(url)
    again = sam.redeem_claim(url)
    held = sam.credentials()
    link = sam.create_share(credential_id=held[0]["id"], label="for Acme interview")
    page = "/s/" + link["url"].rsplit("/s/", 1)[1]
    viewed = app.test_client().get(page)
    listed = sam.shares()
    revoked = sam.revoke_share(link["id"])

    assert claimed["credential"]["id"] == again["credential"]["id"]
    assert len(held) == 1
    assert viewed.status_code == 200
    assert [(s["label"], s["view_count"]) for s in listed] == [("for Acme interview", 1)]
    assert revoked["state"] == "revoked"
    assert app.test_client().get(page).status_code == 410


def test_importing_a_bad_file_raises_the_servers_code(make_client: Callable[..., WalletClient]) -> None:
    from wallet_client import WalletError

    sam = make_client()
    sam.sign_up("sam-import", "correct horse battery")

    with pytest.raises(WalletError) as raised:
        sam.import_credential(b"definitely not a credential", content_type="text/plain")

    assert raised.value.code == "credential.unsupported_format"
    assert raised.value.status == 415
