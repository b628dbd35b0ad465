"""An HTTP GET that is safe to point at addresses a stranger chose.

Credentials name URLs we must dereference (issuer profiles, keys, status lists, OB 2.0 assertions), and
whoever wrote the credential chose them. Fetching such URLs naively lets a credential make the server
request its own admin ports or cloud metadata (SSRF). :class:`GuardedFetcher` therefore:

1. accepts only ``https`` (``http`` only when ``allow_http`` or ``allow_private`` is set, for tests);
2. resolves the host name once and refuses the request if *any* resolved address is private, loopback,
   link-local, multicast, reserved, unspecified or otherwise not globally routable — including the same
   addresses hidden inside IPv6 (IPv4-mapped, NAT64, 6to4) and the numeric spellings the C resolver
   accepts (``2130706433``, ``0x7f.1``), since those are resolved by the same ``getaddrinfo`` call;
3. connects to the address it checked (the URL is rewritten to the IP; ``Host`` and TLS SNI keep the
   name, so certificates are still checked against it) so a second DNS answer cannot swap it
   (DNS rebinding);
4. follows at most ``max_redirects`` redirects itself, re-checking every hop;
5. streams the body and stops at ``max_bytes``, and checks the ``Content-Type`` against ``accept``.

``allowed_hosts`` names hosts whose addresses are trusted without the check (an internal service in a
deployment, ``localhost`` in tests). A redirect from such a host to a bare address is checked like any
other hop: trust is given to names, never inherited.

:class:`LocalFirstFetcher` puts the app's own documents in front of the guard (the app never calls
itself over HTTP); the app builds one in :func:`wallet.fetching.build_fetcher`.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx

Resolver = Callable[[str, int], list[str]]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
JSON_TYPES = ("application/json", "application/ld+json")

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchError(Exception):
    """Base class: the URL could not be fetched; ``url`` is the hop that failed."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class FetchForbidden(FetchError):
    """The URL's scheme or address is not one we may connect to."""


class FetchFailed(FetchError):
    """The fetch was allowed but did not produce an acceptable response.

    ``status`` is the HTTP status when the server answered (callers such as the OB 2.0 importer need to
    tell ``410 Gone`` from a network error), else ``None``.
    """

    def __init__(self, message: str, *, url: str, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(message, url=url)
        self.status = status
        self.body = body


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``getaddrinfo`` returns for ``host`` (the C resolver also parses numeric tricks)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_problem(address: str) -> str | None:
    """Why ``address`` must not be contacted, or ``None`` if it is a public unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = address_problem(str(embedded))
            return f"{inner} (embedded in {ip})" if inner else None
    for label, flag in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return f"{ip} is a {label} address"
    if not ip.is_global:
        return f"{ip} is not a globally routable address"
    return None


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _accepts(content_type: str, accept: tuple[str, ...]) -> bool:
    media = _media_type(content_type)
    for wanted in accept:
        wanted = wanted.lower()
        if wanted in ("*/*", media) or (wanted.endswith("/*") and media.startswith(wanted[:-1])):
            return True
    return False


class GuardedFetcher:
    """GET URLs chosen by credential authors without letting them reach internal addresses."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allowed_hosts: frozenset[str] = frozenset(),
        allow_http: bool = False,
        timeout: float = 5.0,
        max_bytes: int = 2_000_000,
        max_redirects: int = 3,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver = system_resolver,
        user_agent: str = "LearnerWallet/0.1 (+credential verifier)",
    ) -> None:
        self.allow_private = allow_private
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)
        self.allow_http = allow_http or allow_private
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.resolver = resolver
        self.user_agent = user_agent
        self._transport = transport

    def get(self, url: str, *, accept: tuple[str, ...]) -> FetchResult:
        """GET ``url``; the response must be 2xx with a content type in ``accept``.

        Raises :class:`FetchForbidden` when a hop's scheme or address is not allowed and
        :class:`FetchFailed` for timeouts, bad statuses, oversize bodies and wrong content types.
        """
        deadline = time.monotonic() + self.timeout * (self.max_redirects + 1)
        current = url
        with httpx.Client(
            transport=self._transport, timeout=self.timeout, follow_redirects=False, trust_env=False
        ) as client:
            for _hop in range(self.max_redirects + 1):
                response = self._one_hop(client, current, accept=accept, deadline=deadline)
                if isinstance(response, str):
                    current = response
                    continue
                return response
        raise FetchFailed(f"more than {self.max_redirects} redirects starting at {url}", url=current)

    def get_json(self, url: str, *, accept: tuple[str, ...] = JSON_TYPES) -> Any:
        """GET ``url`` and parse it as JSON (the ``fetch_json`` shape the verifiers take)."""
        result = self.get(url, accept=accept)
        try:
            return result.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise FetchFailed(f"{result.url} did not return valid JSON: {exc}", url=result.url) from exc

    def _pinned_request(self, url: httpx.URL) -> tuple[list[httpx.URL], dict[str, str], dict[str, Any]]:
        """Check ``url``; return it rewritten to each checked IP, with the Host header and SNI to use."""
        raw = str(url)
        if url.scheme not in ("https", "http"):
            raise FetchForbidden(f"refusing {url.scheme!r} URL {raw}: only https is allowed", url=raw)
        if url.scheme == "http" and not self.allow_http:
            raise FetchForbidden(f"refusing plain-http URL {raw}: only https is allowed", url=raw)
        if url.userinfo:
            raise FetchForbidden(f"refusing URL with credentials in it: {url.host}", url=raw)
        host = url.host.lower().rstrip(".")
        if not host:
            raise FetchForbidden(f"URL has no host: {raw}", url=raw)
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise FetchFailed(f"cannot resolve {host}: {exc}", url=raw) from exc
        if not addresses:
            raise FetchFailed(f"{host} has no addresses", url=raw)
        if not (self.allow_private or host in self.allowed_hosts):
            for address in addresses:
                problem = address_problem(address)
                if problem:
                    raise FetchForbidden(f"refusing {raw}: {host} resolves to {problem}", url=raw)
        default_port = url.port is None
        host_header = url.host if default_port else f"{url.host}:{url.port}"
        if ":" in url.host and not default_port:
            host_header = f"[{url.host}]:{url.port}"
        elif ":" in url.host:
            host_header = f"[{url.host}]"
        extensions: dict[str, Any] = {}
        if url.scheme == "https":
            extensions["sni_hostname"] = url.host
        return [url.copy_with(host=address) for address in addresses], {"Host": host_header}, extensions

    def _one_hop(
        self, client: httpx.Client, current: str, *, accept: tuple[str, ...], deadline: float
    ) -> FetchResult | str:
        """Fetch one hop: the final result, or the next URL (a string) when redirected."""
        try:
            url = httpx.URL(current)
        except (httpx.InvalidURL, ValueError) as exc:
            raise FetchForbidden(f"not a valid URL: {current!r}", url=current) from exc
        candidates, headers, extensions = self._pinned_request(url)
        headers |= {"Accept": ", ".join(accept), "User-Agent": self.user_agent}
        response = self._connect_any(client, candidates, headers, extensions, current)
        try:
            if response.status_code in REDIRECT_STATUSES:
                location = response.headers.get("location")
                if not location:
                    raise FetchFailed(
                        f"{current} redirected without a Location", url=current, status=response.status_code
                    )
                return urljoin(current, location)
            body = self._read_capped(response, current, deadline)
            content_type = response.headers.get("content-type", "")
            if not 200 <= response.status_code < 300:
                raise FetchFailed(
                    f"{current} answered HTTP {response.status_code}",
                    url=current,
                    status=response.status_code,
                    body=body,
                )
            if not _accepts(content_type, accept):
                raise FetchFailed(
                    f"{current} returned content type {_media_type(content_type) or 'none'!r}, "
                    f"expected one of {', '.join(accept)}",
                    url=current,
                    status=response.status_code,
                )
            return FetchResult(url=current, status=response.status_code, content_type=content_type, body=body)
        finally:
            response.close()

    def _connect_any(
        self,
        client: httpx.Client,
        candidates: list[httpx.URL],
        headers: dict[str, str],
        extensions: dict[str, Any],
        current: str,
    ) -> httpx.Response:
        """Send to the checked addresses in resolver order, moving on only when one refuses to connect."""
        for index, pinned in enumerate(candidates):
            request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
            try:
                return client.send(request, stream=True)
            except httpx.ConnectError as exc:
                if index == len(candidates) - 1:
                    raise FetchFailed(f"could not connect to {current}: {exc}", url=current) from exc
            except httpx.TimeoutException as exc:
                raise FetchFailed(f"timed out fetching {current}", url=current) from exc
            except httpx.HTTPError as exc:
                raise FetchFailed(f"could not fetch {current}: {exc}", url=current) from exc
        raise FetchFailed(f"no address to connect to for {current}", url=current)

    def _read_capped(self, response: httpx.Response, current: str, deadline: float) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchFailed(f"{current} is {declared} bytes, more than the {self.max_bytes}-byte limit", url=current)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchFailed(f"{current} is larger than the {self.max_bytes}-byte limit", url=current)
                if time.monotonic() > deadline:
                    raise FetchFailed(f"timed out reading {current}", url=current)
                chunks.append(chunk)
        except httpx.TimeoutException as exc:
            raise FetchFailed(f"timed out reading {current}", url=current) from exc
        except httpx.HTTPError as exc:
            raise FetchFailed(f"could not read {current}: {exc}", url=current) from exc
        return b"".join(chunks)


LocalAnswer = Callable[[str], "FetchResult | None"]


class LocalFirstFetcher:
    """The app's one fetcher: its own public documents answered in process, every other URL guarded.

    ``local`` (the app's resolver, :class:`wallet.issuing.published.PublishedDocuments`) answers a URL
    under the app's base URL from the services, or ``None`` when it is not a document it publishes; those
    and all foreign URLs go to ``remote`` (a :class:`GuardedFetcher`), or fail when ``remote`` is ``None``
    (offline). A local answer obeys the same contract as a remote one: 2xx and an acceptable type.
    """

    def __init__(self, *, local: LocalAnswer | None, remote: GuardedFetcher | None) -> None:
        self.local = local
        self.remote = remote

    def get(self, url: str, *, accept: tuple[str, ...]) -> FetchResult:
        answer = self.local(url) if self.local is not None else None
        if answer is None:
            if self.remote is None:
                raise FetchFailed(f"{url} is not fetched (offline)", url=url)
            return self.remote.get(url, accept=accept)
        if not 200 <= answer.status < 300:
            raise FetchFailed(f"{url} answered HTTP {answer.status}", url=url, status=answer.status, body=answer.body)
        if not _accepts(answer.content_type, accept):
            raise FetchFailed(
                f"{url} is {_media_type(answer.content_type) or 'untyped'}, expected one of {', '.join(accept)}",
                url=url,
                status=answer.status,
            )
        return answer

    def get_json(self, url: str, *, accept: tuple[str, ...] = JSON_TYPES) -> Any:
        """GET ``url`` and parse it as JSON (the ``fetch_json`` shape the verifiers take)."""
        result = self.get(url, accept=accept)
        try:
            return result.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise FetchFailed(f"{result.url} did not return valid JSON: {exc}", url=result.url) from exc
