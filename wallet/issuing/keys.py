"""Issuer keys: one Ed25519 key per organisation at a time, encrypted at rest, published as did:key.

The private key (its 32-byte seed) is sealed with AES-256-GCM under the instance's key-encryption key
(KEK). The additional authenticated data binds the ciphertext to its organisation and verification
method, so a sealed key copied onto another organisation's row does not open. Layout of the stored
bytes: version byte ``0x01`` + 12-byte nonce + ciphertext-with-tag.

Rotation retires the active key and creates a new one on next use. Retired keys remain listed in the
issuer profile: rotation is routine hygiene, not a compromise, and credentials signed before it stay valid.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wallet.credentials import multikey
from wallet.models import IssuerKey
from wallet.organisations.services import ADMINS, get_by_slug, require_role

_SEALED_VERSION = b"\x01"
_NONCE_BYTES = 12


class KeyEncryptionKeys(bytes):
    """The current KEK (these bytes: new keys are sealed with it) and the previous KEKs still accepted.

    A ``bytes`` subclass so that every service taking ``kek: bytes`` passes the ring along unchanged;
    only :func:`open_private_key` looks at :attr:`previous`. During a KEK rotation (docs/operations.md)
    nodes run with the new key and the old one as previous until ``wallet secrets rotate-kek`` has
    re-sealed every key (:func:`reseal_all`).
    """

    previous: tuple[bytes, ...]

    def __new__(cls, current: bytes, *, previous: tuple[bytes, ...] = ()) -> KeyEncryptionKeys:
        ring = super().__new__(cls, current)
        ring.previous = tuple(previous)
        return ring


def _candidates(kek: bytes) -> tuple[bytes, ...]:
    return (bytes(kek), *getattr(kek, "previous", ()))


class KeyDecryptionError(Exception):
    """The sealed private key does not open with this KEK (wrong key, or the row was tampered with)."""


def _aad(organisation_id: uuid.UUID, verification_method: str) -> bytes:
    return b"wallet-issuer-key/1|" + organisation_id.bytes + b"|" + verification_method.encode("ascii")


def seal_private_key(
    private_key: Ed25519PrivateKey, *, kek: bytes, organisation_id: uuid.UUID, verification_method: str
) -> bytes:
    """The seed of ``private_key`` encrypted under ``kek`` (32 bytes) and bound to its owner."""
    seed = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(kek).encrypt(nonce, seed, _aad(organisation_id, verification_method))
    return _SEALED_VERSION + nonce + ciphertext


def open_private_key(
    sealed: bytes, *, kek: bytes, organisation_id: uuid.UUID, verification_method: str
) -> Ed25519PrivateKey:
    """Inverse of :func:`seal_private_key`; :class:`KeyDecryptionError` for a wrong KEK or altered bytes."""
    if not sealed.startswith(_SEALED_VERSION) or len(sealed) < 1 + _NONCE_BYTES + 16:
        raise KeyDecryptionError("unknown sealed-key format")
    nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
    aad = _aad(organisation_id, verification_method)
    for candidate in _candidates(kek):
        try:
            seed = AESGCM(candidate).decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            continue
        return Ed25519PrivateKey.from_private_bytes(seed)
    raise KeyDecryptionError("the issuer key does not decrypt with this key-encryption key")


def reseal_all(db: Session, *, kek: bytes) -> tuple[int, int]:
    """Re-seal every stored signing key under the current KEK (``wallet secrets rotate-kek``).

    Keys already sealed under it are left alone, so a second run changes nothing. Returns
    ``(resealed, already_current)``; a key no accepted KEK opens raises :class:`KeyDecryptionError`
    and the caller's transaction rolls back, changing nothing.
    """
    current = bytes(kek)
    resealed = already = 0
    for key in db.scalars(select(IssuerKey).order_by(IssuerKey.created_at).with_for_update()):
        try:
            open_private_key(
                key.encrypted_private_key,
                kek=current,
                organisation_id=key.organisation_id,
                verification_method=key.verification_method,
            )
        except KeyDecryptionError:
            private_key = private_key_of(key, kek=kek)
            key.encrypted_private_key = seal_private_key(
                private_key,
                kek=current,
                organisation_id=key.organisation_id,
                verification_method=key.verification_method,
            )
            resealed += 1
        else:
            already += 1
    db.flush()
    return resealed, already


def private_key_of(key: IssuerKey, *, kek: bytes) -> Ed25519PrivateKey:
    return open_private_key(
        key.encrypted_private_key,
        kek=kek,
        organisation_id=key.organisation_id,
        verification_method=key.verification_method,
    )


def active_key(db: Session, *, organisation_id: uuid.UUID) -> IssuerKey | None:
    return db.scalar(
        select(IssuerKey).where(IssuerKey.organisation_id == organisation_id, IssuerKey.retired_at.is_(None))
    )


def ensure_active_key(db: Session, *, organisation_id: uuid.UUID, kek: bytes, now: dt.datetime) -> IssuerKey:
    """The organisation's active key, created on first use.

    Two first issuances racing both try to insert; the partial unique index lets one win and the
    other reads the winner's key.
    """
    existing = active_key(db, organisation_id=organisation_id)
    if existing is not None:
        return existing
    private_key = Ed25519PrivateKey.generate()
    method = multikey.verification_method_id(private_key)
    key = IssuerKey(
        organisation_id=organisation_id,
        did=multikey.did_key_for(private_key),
        verification_method=method,
        public_key_multibase=multikey.ed25519_public_key_to_multibase(private_key.public_key()),
        encrypted_private_key=seal_private_key(
            private_key, kek=kek, organisation_id=organisation_id, verification_method=method
        ),
        created_at=now,
    )
    try:
        with db.begin_nested():
            db.add(key)
            db.flush()
    except IntegrityError:
        winner = active_key(db, organisation_id=organisation_id)
        if winner is None:
            raise
        return winner
    return key


def rotate_key(db: Session, *, slug: str, actor: uuid.UUID | None, kek: bytes, now: dt.datetime) -> IssuerKey:
    """Retire the active key and make a new one (admins; ``actor=None`` is the operator's CLI)."""
    organisation = (
        get_by_slug(db, slug=slug) if actor is None else require_role(db, slug=slug, actor=actor, roles=ADMINS)
    )
    db.execute(
        update(IssuerKey)
        .where(IssuerKey.organisation_id == organisation.id, IssuerKey.retired_at.is_(None))
        .values(retired_at=now)
    )
    return ensure_active_key(db, organisation_id=organisation.id, kek=kek, now=now)


def all_keys(db: Session, *, organisation_id: uuid.UUID) -> list[IssuerKey]:
    """Every key the organisation ever signed with: the active one first, then retired ones, newest first."""
    keys = db.scalars(
        select(IssuerKey).where(IssuerKey.organisation_id == organisation_id).order_by(IssuerKey.created_at.desc())
    ).all()
    return sorted(keys, key=lambda key: key.retired_at is not None)
