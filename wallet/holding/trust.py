"""Which issuer is it really? "Signed by this key" is not "this key belongs to Makerspace North".

A verification report says the signature is good and that the key belongs to the credential's ``issuer.id``
— but anyone can make a did:key and call it "Makerspace North". So the name a page or the API shows is
vouched for only by what this service knows:

``organisation``
    the signing key is one of the keys an organisation on this server ever had (active or retired, see
    :func:`wallet.issuing.keys.all_keys`): matched by verification method, by the key's DID (its
    controller), or by the key itself (a ``did:key``'s multibase). An ``issuer.id`` that is this service's
    own profile URL or a ``did:web`` on this service's host, with the issuer-key check passed, counts too
    (the document that lists the key is ours). The name shown is the organisation's, not the credential's.
``registry``
    the issuer's DID (or the signing key's controller) is listed in the operator's issuer registry
    (:mod:`wallet.holding.registry`), and the issuer-key check passed. The name shown is the registry's.
``unknown``
    signed by a key that belongs to the credential's issuer, but nobody we know: shown as "an issuer we
    don't know, calling itself X" — never the name alone.
``unconfirmed``
    the signature or the key's ownership could not be confirmed, so nothing is said about who signed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from wallet.holding.registry import IssuerRegistry
from wallet.models import IssuerKey, Organisation

TRUST_KINDS = ("organisation", "registry", "unknown", "unconfirmed")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")


@dataclass(frozen=True)
class KnownOrganisation:
    slug: str
    name: str
    url: str | None


@dataclass(frozen=True)
class IssuerTrust:
    """Who issued a credential, as far as this service can vouch (see the module docstring for ``kind``)."""

    kind: str
    claimed_name: str | None
    issuer_id: str | None
    signer: str | None = None
    name: str | None = None
    organisation_slug: str | None = None
    registry: str | None = None
    url: str | None = None

    @property
    def known(self) -> bool:
        return self.kind in ("organisation", "registry")

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "known": self.known,
            "name": self.name,
            "claimed_name": self.claimed_name,
            "issuer_id": self.issuer_id,
            "signer": self.signer,
            "organisation": self.organisation_slug,
            "registry": self.registry,
            "url": self.url,
        }


def _outcomes(report: Mapping[str, Any] | None) -> dict[str, str]:
    checks = report.get("checks", []) if isinstance(report, Mapping) else []
    return {str(check.get("name")): str(check.get("outcome")) for check in checks if isinstance(check, Mapping)}


class IssuerDirectory:
    """Every key of every organisation here, and the operator's registry: built once per request."""

    def __init__(
        self,
        *,
        by_key: Mapping[str, KnownOrganisation],
        by_slug: Mapping[str, KnownOrganisation],
        registry: IssuerRegistry,
        base_url: str,
    ) -> None:
        self._by_key = by_key
        self._by_slug = by_slug
        self._registry = registry
        self._base = base_url.rstrip("/")
        self._host = urlsplit(self._base).netloc.lower()

    @classmethod
    def load(cls, db: Session, *, registry: IssuerRegistry, base_url: str) -> IssuerDirectory:
        """One query: each organisation with each key it ever had (verification method, DID, multibase)."""
        rows = db.execute(
            select(
                Organisation.slug,
                Organisation.name,
                Organisation.url,
                IssuerKey.did,
                IssuerKey.verification_method,
                IssuerKey.public_key_multibase,
            ).join(IssuerKey, IssuerKey.organisation_id == Organisation.id, isouter=True)
        ).all()
        by_key: dict[str, KnownOrganisation] = {}
        by_slug: dict[str, KnownOrganisation] = {}
        for slug, name, url, did, method, multibase in rows:
            organisation = by_slug.setdefault(slug, KnownOrganisation(slug, name, url))
            for key in (did, method, multibase and f"multibase:{multibase}"):
                if key:
                    by_key[key] = organisation
        return cls(by_key=by_key, by_slug=by_slug, registry=registry, base_url=base_url)

    def _organisation_of_key(self, method: str | None) -> KnownOrganisation | None:
        if not method:
            return None
        controller, _, fragment = method.partition("#")
        found = self._by_key.get(method) or self._by_key.get(controller)
        if found is None and controller.startswith("did:key:"):
            found = self._by_key.get("multibase:" + controller.removeprefix("did:key:"))
        if found is None and fragment and self._organisation_of_issuer(controller) is not None:
            found = self._by_key.get("multibase:" + fragment)
        return found

    def _organisation_of_issuer(self, issuer_id: str | None) -> KnownOrganisation | None:
        """Our own profile URL ``{base}/issuers/{slug}``, or a ``did:web`` on our host ending in the slug."""
        if not issuer_id:
            return None
        prefix = self._base + "/issuers/"
        if issuer_id.startswith(prefix):
            slug = issuer_id.removeprefix(prefix)
            return self._by_slug.get(slug) if _SLUG.match(slug) else None
        parts = issuer_id.split("#", 1)[0].split(":")
        if len(parts) >= 4 and parts[:2] == ["did", "web"] and unquote(parts[2]).lower() == self._host:
            return self._by_slug.get(unquote(parts[-1]))
        return None

    def judge(
        self, report: Mapping[str, Any] | None, *, issuer_id: str | None, claimed_name: str | None
    ) -> IssuerTrust:
        """What can be said of who signed the credential behind ``report`` (a verification report's dict)."""
        outcomes = _outcomes(report)
        report = report if isinstance(report, Mapping) else {}
        issuer_id = issuer_id or (report.get("issuer") if isinstance(report.get("issuer"), str) else None)
        method = report.get("verificationMethod") if isinstance(report.get("verificationMethod"), str) else None
        signer = method.split("#", 1)[0] if method else None
        base = {"claimed_name": claimed_name, "issuer_id": issuer_id, "signer": signer}
        if outcomes.get("proof") != "passed":
            return IssuerTrust("unconfirmed", **base)
        key_check = outcomes.get("issuer_key")
        organisation = self._organisation_of_key(method) if key_check != "failed" else None
        if organisation is None and key_check == "passed":
            organisation = self._organisation_of_issuer(issuer_id)
        if organisation is not None:
            return IssuerTrust(
                "organisation",
                **base,
                name=organisation.name,
                organisation_slug=organisation.slug,
                url=organisation.url,
            )
        if key_check != "passed":
            return IssuerTrust("unconfirmed", **base)
        entry = self._registry.lookup(issuer_id) or self._registry.lookup(signer)
        if entry is not None:
            return IssuerTrust("registry", **base, name=entry.name, registry=self._registry.name, url=entry.url)
        return IssuerTrust("unknown", **base)
