"""Whose credential is it? Binding a held credential to the learner who holds it.

A badge anyone can download (a share page serves ``/s/<slug>.json``) proves nothing about the person who
shows it unless something ties it to them. What ties it is what the credential itself names:

``subject``
    ``credentialSubject.id`` is this account's own ``subject_id`` (credentials issued here).
``did``
    ``credentialSubject.id`` is a ``did:key``/``did:jwk`` and the learner proved control of it: they signed
    a fresh challenge with that DID's key (:func:`binding_challenge`, :func:`prove_binding`).
``email`` / ``name``
    an OB 3.0 ``identifier`` (``IdentityObject``: ``identityType`` ``emailAddress`` or ``name``,
    ``hashed`` with a ``salt``, or plaintext) — or an OB 2.0 ``recipient`` — matches the email address or
    display name on the account. Neither is verified by this service: a match is a claim, not a proof,
    and pages say so.
``none``
    nothing ties it to the learner.

A **copy** is a credential that another account on this server already held (same content, same
credential id from the same issuer, or the same proof value) when this one was added. A copy is held
(the learner may keep what they downloaded), never bound by identifier, and said to be a copy; only a
DID proof binds it. The state is kept on :class:`~wallet.models.HeldCredential` (``holder_binding``,
``holder_bound_at``, ``copy_of_held``, with ``proof_hash``/``id_hash`` to find copies by index).

Nothing here ever shows a hashed identifier's plaintext: what the credential names is described by its
type ("an email address (hashed)") unless the credential itself spells it out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.exceptions import InvalidTokenError

from wallet.credentials import multikey
from wallet.credentials.jwt import PublicKey, VcJwtError, decode_unverified, did_jwk_key, merge_vc_claims
from wallet.errors import DomainError

BINDINGS = ("subject", "did", "email", "name", "none")
PROVEN = frozenset({"subject", "did"})
CHALLENGE_TTL = dt.timedelta(minutes=10)
PROOF_MAX_AGE = dt.timedelta(minutes=10)
PROOF_CLOCK_SKEW = dt.timedelta(seconds=60)
PROOF_ALGORITHMS = ("EdDSA", "ES256")
PROVABLE_DID_METHODS = ("did:key:", "did:jwk:")
_CHALLENGE_AUDIENCE = "learner-wallet/holder-binding"

_IDENTITY_TYPES = {"emailaddress": "email", "email": "email", "name": "name"}
_TYPE_WORDS = {
    "emailAddress": "an email address",
    "email": "an email address",
    "name": "a name",
    "url": "a web address",
    "telephone": "a telephone number",
    "phoneNumber": "a telephone number",
    "studentId": "a student number",
    "sourcedId": "an identifier of another system",
}


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("en") or next(iter(value.values()), None)
    return value.strip()[:500] if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class Identity:
    """One identity the credential states for its subject (OB 3.0 IdentityObject / OB 2.0 recipient)."""

    identity_type: str
    hashed: bool
    value: str = field(repr=False)
    salt: str = field(default="", repr=False)

    def describe(self) -> str:
        """What kind of identity it is, never the value when hashed: "an email address (hashed)"."""
        words = _TYPE_WORDS.get(self.identity_type, f"an identifier of type {self.identity_type}")
        return f"{words} (hashed)" if self.hashed else f"{words}: {self.value}"

    def matches(self, candidate: str) -> bool:
        """``candidate`` (an email or name the account shows) is this identity, compared like issuers hash."""
        forms = {candidate, candidate.strip(), " ".join(candidate.split())}
        if _IDENTITY_TYPES.get(self.identity_type.lower()) == "email":
            forms.add(candidate.strip().lower())
        if not self.hashed:
            stated = " ".join(self.value.split()).casefold()
            return any(" ".join(form.split()).casefold() == stated for form in forms if form)
        algorithm, _, digest = self.value.partition("$")
        if algorithm.lower() not in ("sha256", "md5") or not digest:
            return False
        for form in forms:
            if not form:
                continue
            computed = hashlib.new(algorithm.lower(), (form + self.salt).encode(), usedforsecurity=False).hexdigest()
            if hmac.compare_digest(computed.encode(), digest.lower().encode()):
                return True
        return False


@dataclass(frozen=True)
class NamedSubject:
    """Whom a credential says it was issued to (read leniently; nothing here is verified)."""

    id: str | None = None
    name: str | None = None
    identities: tuple[Identity, ...] = ()

    @property
    def provable_did(self) -> str | None:
        """The subject DID a learner can prove control of here (``did:key``/``did:jwk``), if any."""
        if self.id and self.id.startswith(PROVABLE_DID_METHODS) and len(self.id) <= 2000:
            return self.id
        return None

    def describe(self) -> str:
        """The recipient in words, as the credential names them — "someone identified only by …"."""
        if self.name:
            return self.name
        plain_names = [item.value for item in self.identities if item.identity_type == "name" and not item.hashed]
        if plain_names:
            return plain_names[0]
        if self.identities:
            return "someone identified by " + self.identities[0].describe()
        if self.id:
            shown = self.id if len(self.id) <= 60 else self.id[:40] + "…" + self.id[-8:]
            return f"someone identified only by {shown}"
        return "a recipient the badge does not name"


def decoded(raw: bytes) -> dict[str, Any]:
    """The credential's JSON: the document, a VC-JWT's claims merged, or an OB 2.0 JWS payload."""
    try:
        text = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        return {}
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            return {}
        return document if isinstance(document, dict) else {}
    try:
        _header, claims = decode_unverified(text)
    except VcJwtError:
        return {}
    return merge_vc_claims(claims) if "vc" in claims else claims


def _identity(item: Mapping[str, Any]) -> Identity | None:
    value = item.get("identityHash") if "identityHash" in item else item.get("identity")
    kind = item.get("identityType") if "identityType" in item else item.get("type")
    if not isinstance(value, str) or not value or not isinstance(kind, str):
        return None
    salt = item.get("salt") if isinstance(item.get("salt"), str) else ""
    return Identity(identity_type=kind, hashed=item.get("hashed") is True, value=value, salt=salt)


def named_subject(credential: Mapping[str, Any]) -> NamedSubject:
    """Whom ``credential`` names: ``credentialSubject`` (VC/OB 3.0) or ``recipient`` (OB 2.0)."""
    recipient = credential.get("recipient")
    if isinstance(recipient, Mapping):  # OB 2.0 assertion
        identity = _identity(recipient)
        return NamedSubject(identities=(identity,) if identity else ())
    subject = _first(credential.get("credentialSubject"))
    if not isinstance(subject, Mapping):
        return NamedSubject()
    subject_id = subject.get("id") if isinstance(subject.get("id"), str) else None
    identities = tuple(
        identity
        for item in _as_list(subject.get("identifier"))
        if isinstance(item, Mapping) and (identity := _identity(item)) is not None
    )
    return NamedSubject(id=subject_id, name=_text(subject.get("name")), identities=identities)


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def proof_hash(raw: bytes) -> str | None:
    """A hash of the credential's signature (Data Integrity ``proofValue``s or the JWS signature)."""
    try:
        text = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        return None
    if not text.startswith("{"):
        parts = text.split(".")
        return _digest("jws:" + parts[2]) if len(parts) == 3 and parts[2] else None
    values = sorted(
        proof["proofValue"]
        for proof in _as_list(decoded(raw).get("proof"))
        if isinstance(proof, Mapping) and isinstance(proof.get("proofValue"), str) and proof["proofValue"]
    )
    return _digest("di:" + "\n".join(values)) if values else None


def id_hash(*, issuer_id: str | None, credential_id: str | None) -> str | None:
    """A hash of (issuer, credential id): two encodings of one credential share it."""
    if not credential_id:
        return None
    return _digest(f"{issuer_id or ''}\n{credential_id}")


@dataclass(frozen=True)
class AccountFacts:
    """What an account can show about itself, for matching what a credential names."""

    subject_id: str
    display_name: str
    email: str | None


def initial_binding(subject: NamedSubject, *, account: AccountFacts, copy: bool) -> str:
    """The binding a credential gets when it is added (a DID proof comes later, by request)."""
    if subject.id is not None and subject.id == account.subject_id:
        return "subject"
    if copy:
        return "none"
    for identity in subject.identities:
        kind = _IDENTITY_TYPES.get(identity.identity_type.lower())
        if kind == "email" and account.email and identity.matches(account.email):
            return "email"
        if kind == "name" and account.display_name.strip() and identity.matches(account.display_name):
            return "name"
    return "none"


# --- proving control of the subject DID ------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    """What the learner signs: a JWS (``alg`` EdDSA or ES256, ``kid`` a DID URL of ``did``) whose payload
    carries ``nonce``, ``aud`` = ``audience`` and ``iat``."""

    did: str
    nonce: str
    audience: str
    expires_at: dt.datetime


def binding_challenge(
    *, key: bytes, account_id: uuid.UUID, credential_id: uuid.UUID, did: str, audience: str, now: dt.datetime
) -> Challenge:
    """A fresh, stateless challenge: an HMAC-signed token naming the account, the credential and the DID.

    Nothing is stored: a replayed proof can only bind the same credential to the same account again.
    """
    expires_at = now + CHALLENGE_TTL
    nonce = pyjwt.encode(
        {
            "sub": str(account_id),
            "cred": str(credential_id),
            "did": did,
            "aud": _CHALLENGE_AUDIENCE,
            "exp": int(expires_at.timestamp()),
            "jti": secrets.token_urlsafe(16),
        },
        key,
        algorithm="HS256",
    )
    return Challenge(did=did, nonce=nonce, audience=audience, expires_at=expires_at)


def _refused(detail: str) -> DomainError:
    return DomainError("credential.binding_failed", detail)


def _algorithm_for(key: PublicKey) -> str | None:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        return "ES256"
    return None


def _key_of(did: str, kid: Any) -> PublicKey:
    if not isinstance(kid, str) or kid.split("#", 1)[0] != did:
        raise _refused(f"The proof's kid must be a key of {did}, the DID this credential names.")
    try:
        if did.startswith("did:key:"):
            return multikey.resolve_did_key(kid)
        return did_jwk_key(kid)
    except ValueError as error:
        raise _refused(f"The DID's key is unusable: {error}.") from error


def check_binding_proof(
    token: str,
    *,
    key: bytes,
    account_id: uuid.UUID,
    credential_id: uuid.UUID,
    did: str,
    audience: str,
    now: dt.datetime,
) -> None:
    """Raise ``credential.binding_failed`` unless ``token`` is ``did``'s signature over a live challenge of ours."""
    try:
        header, claims = decode_unverified(token)
    except VcJwtError as error:
        raise _refused("The proof is not a compact JWS.") from error
    alg = header.get("alg")
    if alg not in PROOF_ALGORITHMS:
        raise _refused(f"The proof's alg must be one of {', '.join(PROOF_ALGORITHMS)}.")
    public_key = _key_of(did, header.get("kid"))
    if _algorithm_for(public_key) != alg:
        raise _refused(f"alg {alg} does not suit the DID's key.")
    try:
        pyjwt.decode(
            token,
            key=public_key,
            algorithms=[alg],
            audience=audience,
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "require": ["aud", "iat", "nonce"]},
        )
    except InvalidTokenError as error:
        raise _refused(f"The proof does not verify: {error}.") from error
    issued_at = claims.get("iat")
    if isinstance(issued_at, bool) or not isinstance(issued_at, int | float):
        raise _refused("The proof's iat must be a NumericDate.")
    moment = dt.datetime.fromtimestamp(issued_at, dt.UTC)
    if moment < now - PROOF_MAX_AGE or moment > now + PROOF_CLOCK_SKEW:
        raise _refused("The proof's iat is not recent; sign a new challenge.")
    nonce = claims.get("nonce")
    try:
        challenge = pyjwt.decode(
            nonce if isinstance(nonce, str) else "",
            key,
            algorithms=["HS256"],
            audience=_CHALLENGE_AUDIENCE,
            options={"verify_exp": False, "require": ["exp", "sub", "cred", "did"]},
        )
    except InvalidTokenError as error:
        raise _refused("The proof's nonce is not a challenge of ours; ask for a new one.") from error
    if dt.datetime.fromtimestamp(challenge["exp"], dt.UTC) <= now:
        raise _refused("The challenge has expired; ask for a new one.")
    if (challenge["sub"], challenge["cred"], challenge["did"]) != (str(account_id), str(credential_id), did):
        raise _refused("The challenge was given for another credential or account.")


# --- what pages and the API show -------------------------------------------------------------------


_DETAIL = {
    "subject": "Bound: the credential names your Learner Wallet account.",
    "did": "Bound: you proved you hold the key of the DID the credential names.",
    "email": "Matched: the credential names the email address on your account (a claim, not verified here).",
    "name": "Matched: the credential names the display name of your account (a claim, not a proof).",
}


@dataclass(frozen=True)
class HolderBinding:
    """A held credential's binding, with whom the credential names (the read model pages and the API show)."""

    by: str
    copy: bool
    bound_at: dt.datetime | None
    subject: NamedSubject

    @property
    def bound(self) -> bool:
        return self.by != "none"

    @property
    def proven(self) -> bool:
        """Bound by something only the holder has (their account's subject id, or the DID's key)."""
        return self.by in PROVEN

    @property
    def can_prove(self) -> str | None:
        """The DID the learner may still prove control of (``POST …/binding``), if any."""
        return self.subject.provable_did if self.by != "did" else None

    def detail(self) -> str:
        """One sentence for the learner."""
        if self.by in _DETAIL:
            return _DETAIL[self.by] + (
                " It is also a copy of a credential another wallet here held." if self.copy and self.by == "did" else ""
            )
        if self.copy:
            text = (
                "A copy: another wallet on this service already holds this credential, so holding it does not "
                "show it is yours."
            )
        else:
            text = "Not bound: nothing in the credential ties it to you."
        if self.can_prove:
            text += f" If you hold the key of {self.can_prove}, prove it to bind the credential to you."
        return text


def holder_binding(*, by: str, copy: bool, bound_at: dt.datetime | None, raw: bytes) -> HolderBinding:
    return HolderBinding(by=by, copy=copy, bound_at=bound_at, subject=named_subject(decoded(raw)))
