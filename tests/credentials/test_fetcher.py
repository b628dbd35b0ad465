"""The guarded fetcher only talks to public addresses, and says clearly why when it refuses."""

from __future__ import annotations

import ipaddress
import time

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.credential_factories import LocalServer, json_reply
from wallet.credentials.fetcher import FetchFailed, FetchForbidden, GuardedFetcher, address_problem

JSON = ("application/json",)


@pytest.fixture
def server():
    with LocalServer() as running:
        yield running


def test_a_json_document_on_an_allowed_server_is_fetched(server):
    server.routes["/profile"] = json_reply({"id": "x"}, content_type="application/json; charset=utf-8")
    result = GuardedFetcher(allow_private=True).get(server.url("/profile"), accept=JSON)
    assert result.status == 200
    assert result.json() == {"id": "x"}


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://2130706433/",
        "https://0x7f.1/",
        "https://017700000001/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:10.0.0.1]/",
        "https://10.1.2.3/",
        "https://192.168.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://0.0.0.0/",
        "https://224.0.0.1/",
        "https://100.64.0.1/",
        "https://[fe80::1]/",
        "https://[fc00::1]/",
        "https://[64:ff9b::7f00:1]/",
    ],
)
def test_internal_addresses_are_refused_however_they_are_spelled(url):
    with pytest.raises(FetchForbidden, match="resolves to"):
        GuardedFetcher().get(url, accept=JSON)


@pytest.mark.parametrize("url", ["http://example.org/x", "file:///etc/passwd", "ftp://example.org/x"])
def test_only_https_is_allowed_by_default(url):
    with pytest.raises(FetchForbidden, match="only https"):
        GuardedFetcher(resolver=lambda host, port: ["93.184.216.34"]).get(url, accept=JSON)


def test_a_name_resolving_to_any_private_address_is_refused():
    fetcher = GuardedFetcher(resolver=lambda host, port: ["93.184.216.34", "10.0.0.5"])
    with pytest.raises(FetchForbidden, match=r"10\.0\.0\.5 is a private address"):
        fetcher.get("https://badges.example/a", accept=JSON)


def test_the_connection_goes_to_the_address_that_was_checked():
    seen: list[httpx.Request] = []
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    fetcher = GuardedFetcher(resolver=lambda host, port: next(answers), transport=httpx.MockTransport(handler))
    fetcher.get("https://badges.example/issuer", accept=JSON)
    (request,) = seen
    assert request.url.host == "93.184.216.34"
    assert request.headers["host"] == "badges.example"
    assert request.extensions["sni_hostname"] == "badges.example"


def test_a_redirect_from_a_host_trusted_by_name_to_a_loopback_address_is_refused(server):
    server.routes["/start"] = (302, {"Location": server.url("/secret")}, b"")
    server.routes["/secret"] = json_reply({"secret": True})
    fetcher = GuardedFetcher(allowed_hosts=frozenset({"localhost"}), allow_http=True)
    assert fetcher.get(server.url("/secret", host="localhost"), accept=JSON).json() == {"secret": True}
    before = [path for path, _ in server.requests].count("/secret")

    with pytest.raises(FetchForbidden, match=r"127\.0\.0\.1 is a loopback address"):
        fetcher.get(server.url("/start", host="localhost"), accept=JSON)
    assert [path for path, _ in server.requests].count("/secret") == before


def test_redirects_are_followed_up_to_three_hops(server):
    for hop in range(4):
        server.routes[f"/r{hop}"] = (301, {"Location": f"/r{hop + 1}"}, b"")
    server.routes["/r4"] = json_reply({"final": True})
    fetcher = GuardedFetcher(allow_private=True)
    result = fetcher.get(server.url("/r1"), accept=JSON)
    assert result.url == server.url("/r4")
    with pytest.raises(FetchFailed, match="more than 3 redirects"):
        fetcher.get(server.url("/r0"), accept=JSON)


def test_an_error_status_is_reported_with_the_status(server):
    server.routes["/gone"] = json_reply({"revoked": True}, status=410)
    with pytest.raises(FetchFailed, match="HTTP 410") as caught:
        GuardedFetcher(allow_private=True).get(server.url("/gone"), accept=JSON)
    assert caught.value.status == 410
    assert b"revoked" in caught.value.body


def test_an_unexpected_content_type_is_refused(server):
    server.routes["/page"] = (200, {"Content-Type": "text/html"}, b"<html></html>")
    with pytest.raises(FetchFailed, match="content type 'text/html'"):
        GuardedFetcher(allow_private=True).get(server.url("/page"), accept=JSON)


def test_a_body_larger_than_the_limit_is_refused(server):
    server.routes["/big"] = (200, {"Content-Type": "application/json"}, b"1" * 5000)
    with pytest.raises(FetchFailed, match="1000-byte limit"):
        GuardedFetcher(allow_private=True, max_bytes=1000).get(server.url("/big"), accept=JSON)


def test_a_body_without_a_declared_length_is_cut_off_at_the_limit():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Type": "application/json"}, content=iter([b"x" * 600, b"y" * 600]))

    fetcher = GuardedFetcher(
        resolver=lambda host, port: ["93.184.216.34"], transport=httpx.MockTransport(handler), max_bytes=1000
    )
    with pytest.raises(FetchFailed, match="larger than the 1000-byte limit"):
        fetcher.get("https://badges.example/big", accept=JSON)


def test_a_slow_server_times_out(server):
    def slow():
        time.sleep(1.0)
        return json_reply({})

    server.routes["/slow"] = slow
    with pytest.raises(FetchFailed, match="timed out"):
        GuardedFetcher(allow_private=True, timeout=0.2).get(server.url("/slow"), accept=JSON)


def test_an_unreachable_server_is_a_failure_not_a_crash():
    with LocalServer() as stopped:
        url = stopped.url("/x")
    with pytest.raises(FetchFailed, match="could not connect"):
        GuardedFetcher(allow_private=True).get(url, accept=JSON)


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_hidden_in_ipv6_is_judged_like_the_address_itself(address):
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    assert (address_problem(str(mapped)) is None) == (address_problem(str(address)) is None)
