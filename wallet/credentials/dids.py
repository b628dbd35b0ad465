"""``did:web`` identifiers and which DID method an origin can use.

``did:web`` (W3C CCG DID method "web", § Create and § Read) maps an https URL to a DID: the host, with a
port percent-encoded as ``%3A``, then each path segment after a colon. The DID document lives at that
URL plus ``/did.json`` (``/.well-known/did.json`` for a bare host), so
``did:web:wallet.example:issuers:makerspace-north`` is served at
``https://wallet.example/issuers/makerspace-north/did.json``.

The method needs an https origin that others can reach by name: the spec forbids IP addresses, and a
``localhost`` DID cannot be resolved by anybody else. :func:`public_https_origin` says whether a base URL
qualifies; where it does not (the embedded default, ``http://127.0.0.1:5000``), issuers use ``did:key``.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import quote, unquote, urlsplit

DID_WEB_PREFIX = "did:web:"
_LOCAL_NAMES = ("localhost", "localhost.localdomain")


def public_https_origin(base_url: str) -> bool:
    """True when ``base_url`` is https on a host name others can resolve (not an IP, not localhost)."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme != "https" or not host:
        return False
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


def did_web_for_url(url: str) -> str:
    """The ``did:web`` DID for an https URL (its path becomes colon-separated segments).

    ``https://wallet.example:8443/issuers/a`` → ``did:web:wallet.example%3A8443:issuers:a``.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"did:web needs an https URL, not {url!r}")
    host = parts.hostname.lower()
    if parts.port is not None:
        host = f"{host}%3A{parts.port}"
    segments = [quote(unquote(segment), safe="") for segment in parts.path.split("/") if segment]
    return ":".join([DID_WEB_PREFIX.rstrip(":"), host, *segments])


def did_web_document_url(did: str) -> str:
    """The https URL of a ``did:web`` DID's document (the method's Read operation)."""
    parts = did.split("#", 1)[0].split("?", 1)[0].split(":")
    if len(parts) < 3 or parts[:2] != ["did", "web"] or not parts[2]:
        raise ValueError(f"not a did:web DID: {did}")
    host = unquote(parts[2])
    if "/" in host or "@" in host:
        raise ValueError(f"malformed did:web host: {did}")
    segments = [unquote(part) for part in parts[3:]]
    if any(segment in ("", ".", "..") or "/" in segment for segment in segments):
        raise ValueError(f"malformed did:web path: {did}")
    path = "/".join(quote(segment, safe="") for segment in segments)
    return f"https://{host}/{path}/did.json" if path else f"https://{host}/.well-known/did.json"
