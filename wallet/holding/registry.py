"""The operator's issuer registry: issuers elsewhere that this service may call by name.

A credential's ``issuer.name`` is whatever its signer typed. Outside the organisations on this server, an
issuer is *known* only when the operator lists it in a registry file (``WALLET_ISSUER_REGISTRY``), in
either of two JSON shapes:

* the **DCC issuer registry** format (the Digital Credentials Consortium's community/sandbox registries,
  read by ``@digitalcredentials/issuer-registry-client``)::

      {"meta": {"created": "…", "updated": "…"},
       "name": "City of Learning issuers",                       (optional)
       "registry": {"did:key:z6Mk…": {"name": "Riverside College", "url": "https://…", "location": "…"}}}

  (``entries`` is accepted in place of ``registry``, as older copies spell it);
* a **simple list** of DIDs (or other issuer ids) with names::

      [{"did": "did:web:riverside.example", "name": "Riverside College", "url": "https://riverside.example"}]

  (``id`` is accepted in place of ``did``; ``{"name": …, "issuers": [...]}`` names the list).

The file is re-read when it changes (size or modification time), so the operator can edit it without a
restart. A file that cannot be read or parsed makes nobody known (it never fails open) and is logged.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("wallet.registry")

MAX_REGISTRY_BYTES = 20_000_000


class RegistryError(ValueError):
    """The registry file is not one of the accepted shapes."""


@dataclass(frozen=True)
class RegistryEntry:
    issuer_id: str
    name: str
    url: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class IssuerRegistry:
    """Issuer ids (DIDs, or URLs for OB 2.0 issuers) → who the operator says they are."""

    name: str = "the operator's issuer registry"
    entries: Mapping[str, RegistryEntry] = field(default_factory=dict)

    def lookup(self, issuer_id: str | None) -> RegistryEntry | None:
        if not issuer_id:
            return None
        return self.entries.get(issuer_id)

    def __len__(self) -> int:
        return len(self.entries)


def _web_url(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 2000:
        return value
    return None


def _entry(issuer_id: Any, item: Any) -> RegistryEntry:
    if not isinstance(issuer_id, str) or not issuer_id.strip():
        raise RegistryError("every entry needs a DID or issuer id")
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"].strip():
        raise RegistryError(f"the entry for {issuer_id} needs a name")
    location = item.get("location")
    return RegistryEntry(
        issuer_id=issuer_id.strip(),
        name=item["name"].strip()[:200],
        url=_web_url(item.get("url")),
        location=location.strip()[:200] if isinstance(location, str) and location.strip() else None,
    )


def parse_registry(document: Any) -> IssuerRegistry:
    """A registry from its JSON (either shape above); :class:`RegistryError` says what is wrong."""
    name = "the operator's issuer registry"
    if isinstance(document, Mapping):
        if isinstance(document.get("name"), str) and document["name"].strip():
            name = document["name"].strip()[:200]
        table = document.get("registry", document.get("entries"))
        if isinstance(table, Mapping):
            entries = [_entry(issuer_id, item) for issuer_id, item in table.items()]
            return IssuerRegistry(name=name, entries={entry.issuer_id: entry for entry in entries})
        document = document.get("issuers")
    if isinstance(document, list):
        entries = []
        for item in document:
            if not isinstance(item, Mapping):
                raise RegistryError("a list registry holds objects with did and name")
            entries.append(_entry(item.get("did", item.get("id")), item))
        return IssuerRegistry(name=name, entries={entry.issuer_id: entry for entry in entries})
    raise RegistryError('expected a DCC registry ({"registry": {did: {name, url}}}) or a list of {did, name}')


def load_registry(path: str) -> IssuerRegistry:
    """Read and parse the registry file at ``path`` (``OSError`` or :class:`RegistryError`)."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_REGISTRY_BYTES + 1)
    if len(data) > MAX_REGISTRY_BYTES:
        raise RegistryError(f"larger than {MAX_REGISTRY_BYTES} bytes")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise RegistryError(f"not JSON: {error}") from error
    return parse_registry(document)


class RegistryFile:
    """The registry at a configured path, re-read when the file changes; one per app."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._registry = IssuerRegistry()

    def current(self) -> IssuerRegistry:
        if not self.path:
            return self._registry
        try:
            stat = os.stat(self.path)
        except OSError as error:
            log.error("issuer registry %s cannot be read: %s", self.path, error)
            return IssuerRegistry()
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._registry = load_registry(self.path)
                except (OSError, RegistryError) as error:
                    log.error("issuer registry %s is unusable, so no outside issuer is known: %s", self.path, error)
                    self._registry = IssuerRegistry()
                self._stamp = stamp
            return self._registry
