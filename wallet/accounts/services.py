"""Account services: plain functions over a session; the caller commits."""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from wallet.accounts import passwords, tokens
from wallet.errors import DomainError
from wallet.models import Account, Device, RefreshToken

USERNAME_ALLOWED = set("abcdefghijklmnopqrstuvwxyz0123456789_.-")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    device_id: uuid.UUID
    account_id: uuid.UUID


@dataclass(frozen=True)
class TokenPolicy:
    """What the services need to know to mint tokens; built from settings by the app."""

    access_key: bytes
    access_ttl: dt.timedelta
    refresh_ttl: dt.timedelta
    successor_key: bytes
    """Derives a refresh's successor from the spent token and the client's idempotency key."""
    refresh_grace: dt.timedelta
    """How long after a refresh the same client may repeat it and get the same pair back (0: never)."""
    previous_access_keys: tuple[bytes, ...] = ()
    """Access-token keys derived from previous secret keys: their tokens verify during a rotation."""


def normalise_username(username: str) -> str:
    name = unicodedata.normalize("NFKC", username).strip().lower()
    if not 3 <= len(name) <= 40 or not set(name) <= USERNAME_ALLOWED:
        raise DomainError(
            "request.validation_failed",
            "A username has 3 to 40 characters: letters, digits, '.', '-' or '_'.",
            errors={"username": ["3 to 40 characters: letters, digits, '.', '-' or '_'."]},
        )
    return name


def sign_up(
    db: Session,
    *,
    username: str,
    password: str,
    display_name: str,
    email: str | None,
    hasher: PasswordHasher,
    now: dt.datetime,
) -> Account:
    name = normalise_username(username)
    passwords.check_policy(password, username=name)
    account = Account(
        username=name,
        password_hash=passwords.hash_password(hasher, password),
        display_name=display_name.strip() or name,
        email=email or None,
        subject_id=f"urn:uuid:{uuid.uuid4()}",
        created_at=now,
    )
    db.add(account)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as error:
        raise DomainError("account.username_taken") from error
    return account


def authenticate(db: Session, *, username: str, password: str, hasher: PasswordHasher) -> Account:
    try:
        name = normalise_username(username)
    except DomainError:
        name = ""
    account = db.scalar(select(Account).where(Account.username == name)) if name else None
    if account is None:
        passwords.verify_password(hasher, passwords.decoy_hash(hasher), password)  # same cost: no timing oracle
        raise DomainError("auth.invalid_credentials")
    if not passwords.verify_password(hasher, account.password_hash, password):
        raise DomainError("auth.invalid_credentials")
    if account.must_change_password:
        # A one-time password signs in once: the session it opens may only choose a new password.
        account.password_hash = passwords.hash_password(hasher, secrets.token_urlsafe(32))
    elif hasher.check_needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(hasher, password)
    return account


ONE_TIME_PASSWORD_BYTES = 12


def create_with_one_time_password(
    db: Session, *, username: str, display_name: str, hasher: PasswordHasher, now: dt.datetime
) -> tuple[Account, str]:
    """A new account whose random password is handed over once (an invite, ``wallet org create``).

    The password signs in once (:func:`authenticate` spends it); that session must choose the
    account's own password (:func:`set_first_password`) before it can do anything else.
    """
    password = secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)
    account = sign_up(
        db, username=username, password=password, display_name=display_name, email=None, hasher=hasher, now=now
    )
    account.must_change_password = True
    db.flush()
    return account, password


def set_first_password(
    db: Session,
    *,
    account_id: uuid.UUID,
    new_password: str,
    hasher: PasswordHasher,
    keep_device_id: uuid.UUID,
    now: dt.datetime,
) -> None:
    """Choose a password after signing in with a one-time one (no current password: it is spent)."""
    account = get_account(db, account_id=account_id)
    if not account.must_change_password:
        raise DomainError("request.conflict", "This account already has its own password.")
    passwords.check_policy(new_password, username=account.username)
    account.password_hash = passwords.hash_password(hasher, new_password)
    account.must_change_password = False
    for device in list_devices(db, account_id=account_id):
        if device.id != keep_device_id:
            revoke_device_chain(db, device_id=device.id, now=now)
    db.flush()


def open_device(
    db: Session, *, account: Account, name: str, platform: str, policy: TokenPolicy, now: dt.datetime
) -> TokenPair:
    """Register a device for the account and start its refresh-token chain."""
    device = Device(account_id=account.id, name=name, platform=platform, created_at=now, last_seen_at=now)
    db.add(device)
    db.flush()
    return _issue_pair(db, device=device, policy=policy, now=now)


def open_browser_session(db: Session, *, account: Account, name: str, now: dt.datetime) -> Device:
    """Register a browser the learner signed in on as one of their devices.

    A browser holds no refresh chain (its signed session cookie names the device), but it is listed and
    revoked like a phone: revoking it anywhere signs that browser out at its next request.
    """
    device = Device(
        account_id=account.id, name=name[:80] or "Web browser", platform="web", created_at=now, last_seen_at=now
    )
    db.add(device)
    db.flush()
    return device


def _issue_pair(
    db: Session, *, device: Device, policy: TokenPolicy, now: dt.datetime, refresh: str | None = None
) -> TokenPair:
    refresh = refresh or tokens.new_refresh_token()
    db.add(
        RefreshToken(
            device_id=device.id,
            token_hash=tokens.hash_refresh_token(refresh),
            created_at=now,
            expires_at=now + policy.refresh_ttl,
        )
    )
    access = tokens.mint_access_token(
        policy.access_key, account_id=device.account_id, device_id=device.id, now=now, ttl=policy.access_ttl
    )
    db.flush()
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=int(policy.access_ttl.total_seconds()),
        device_id=device.id,
        account_id=device.account_id,
    )


def _signed_out(reason: str) -> DomainError:
    """A refresh that can never succeed: the app must show the sign-in screen (``reason`` is for logs)."""
    details = {
        "reused": "This refresh token was already used, so the device was signed out. Sign in again.",
        "device_revoked": "This device was signed out. Sign in again.",
        "unknown_or_expired": "This refresh token is unknown or expired. Sign in again.",
    }
    return DomainError("auth.signed_out", details[reason], reason=reason)


def rotate_refresh_token(
    db: Session, *, refresh_token: str, policy: TokenPolicy, now: dt.datetime, idempotency_key: str | None = None
) -> TokenPair:
    """Exchange a refresh token for a new pair; a second use of any token revokes its device.

    The exchange is one conditional UPDATE (``used_at IS NULL``), so two concurrent refreshes with
    the same token cannot both spend it. The one exception to "a second use revokes" is a *repeat*
    (docs/security.md, "Refresh tokens"): the same token with the same ``idempotency_key`` within
    ``policy.refresh_grace`` of the exchange, while its successor is still unspent, gets the same pair
    again — so a lost answer, a killed app or the loser of a race does not sign the device out.
    Anything else that presents a spent token (no key, another key, too late, successor already
    refreshed) revokes the device's chain. Every refusal is ``auth.signed_out``.
    """
    token_hash = tokens.hash_refresh_token(refresh_token)
    claimed = db.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_(None), RefreshToken.expires_at > now)
        .values(used_at=now)
        .returning(RefreshToken.device_id)
    ).first()
    if claimed is None:
        known = db.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
        if known is None or known.used_at is None:
            raise _signed_out("unknown_or_expired")
        repeat = _repeated_pair(
            db, spent=known, refresh_token=refresh_token, idempotency_key=idempotency_key, policy=policy, now=now
        )
        if repeat is not None:
            return repeat
        revoke_device_chain(db, device_id=known.device_id, now=now)
        raise _signed_out("reused")
    device = db.get(Device, claimed.device_id)
    if device is None or device.revoked_at is not None:
        raise _signed_out("device_revoked")
    device.last_seen_at = now
    successor = None
    if idempotency_key:
        successor = tokens.successor_refresh_token(
            policy.successor_key, spent=refresh_token, idempotency_key=idempotency_key
        )
    return _issue_pair(db, device=device, policy=policy, now=now, refresh=successor)


def _repeated_pair(
    db: Session,
    *,
    spent: RefreshToken,
    refresh_token: str,
    idempotency_key: str | None,
    policy: TokenPolicy,
    now: dt.datetime,
) -> TokenPair | None:
    """The pair a spent token was exchanged for, if this presentation is a repeat of that exchange.

    Nothing secret is stored for this: the successor is re-derived from the token and the key (and
    only matches if the key is the one the exchange used), and the access token is minted again with
    the exchange's time, which gives the identical JWT (HS256 is deterministic).
    """
    if not idempotency_key or spent.used_at is None or policy.refresh_grace <= dt.timedelta(0):
        return None
    if now - spent.used_at > policy.refresh_grace:
        return None
    successor = tokens.successor_refresh_token(
        policy.successor_key, spent=refresh_token, idempotency_key=idempotency_key
    )
    issued = db.scalar(
        select(RefreshToken).where(
            RefreshToken.token_hash == tokens.hash_refresh_token(successor), RefreshToken.device_id == spent.device_id
        )
    )
    if issued is None or issued.used_at is not None:
        return None
    device = db.get(Device, spent.device_id)
    if device is None or device.revoked_at is not None:
        return None
    access = tokens.mint_access_token(
        policy.access_key,
        account_id=device.account_id,
        device_id=device.id,
        now=issued.created_at,
        ttl=policy.access_ttl,
    )
    remaining = issued.created_at + policy.access_ttl - now
    return TokenPair(
        access_token=access,
        refresh_token=successor,
        expires_in=max(0, int(remaining.total_seconds())),
        device_id=device.id,
        account_id=device.account_id,
    )


def revoke_device_chain(db: Session, *, device_id: uuid.UUID, now: dt.datetime) -> None:
    db.execute(update(Device).where(Device.id == device_id, Device.revoked_at.is_(None)).values(revoked_at=now))
    db.execute(delete(RefreshToken).where(RefreshToken.device_id == device_id))


_DEVICE_AND_ACCOUNT = (
    select(Device, Account).join(Account, Account.id == Device.account_id).where(Device.id == bindparam("device_id"))
)
"""Every signed-in request runs this: built once (building a statement costs about as much as running it).
Two entities of one row, not ``joinedload``: the eager loader's machinery cost more than the query."""


def active_device(db: Session, *, account_id: uuid.UUID, device_id: uuid.UUID) -> Device:
    """The device behind an access token, if it is still signed in; its ``account`` comes in the same query."""
    found = db.execute(_DEVICE_AND_ACCOUNT, {"device_id": device_id}).first()
    device = None
    if found is not None:
        device, account = found
        set_committed_value(device, "account", account)
    if device is None or device.account_id != account_id:
        raise DomainError("auth.invalid_token")
    if device.revoked_at is not None:
        raise DomainError("auth.device_revoked")
    return device


def list_devices(db: Session, *, account_id: uuid.UUID) -> list[Device]:
    return list(
        db.scalars(
            select(Device)
            .where(Device.account_id == account_id, Device.revoked_at.is_(None))
            .order_by(Device.created_at)
        )
    )


def revoke_device(db: Session, *, account_id: uuid.UUID, device_id: uuid.UUID, now: dt.datetime) -> None:
    device = db.get(Device, device_id)
    if device is None or device.account_id != account_id or device.revoked_at is not None:
        raise DomainError("device.not_found")
    revoke_device_chain(db, device_id=device_id, now=now)


def get_account(db: Session, *, account_id: uuid.UUID) -> Account:
    account = db.get(Account, account_id)
    if account is None:
        raise DomainError("account.not_found")
    return account


def update_profile(
    db: Session,
    *,
    account_id: uuid.UUID,
    display_name: str | None = None,
    email: str | None = None,
    clear_email: bool = False,
) -> Account:
    account = get_account(db, account_id=account_id)
    if display_name is not None:
        account.display_name = display_name.strip() or account.username
    if clear_email:
        account.email = None
    elif email is not None:
        account.email = email
    db.flush()
    return account


def change_password(
    db: Session,
    *,
    account_id: uuid.UUID,
    current_password: str,
    new_password: str,
    hasher: PasswordHasher,
    keep_device_id: uuid.UUID,
    now: dt.datetime,
) -> None:
    """Change the password and sign out every other device (a stolen session ends here).

    An account signed in with a one-time password has spent it, so ``current_password`` is not checked
    then (:func:`set_first_password`).
    """
    account = get_account(db, account_id=account_id)
    if account.must_change_password:
        set_first_password(
            db, account_id=account_id, new_password=new_password, hasher=hasher, keep_device_id=keep_device_id, now=now
        )
        return
    if not passwords.verify_password(hasher, account.password_hash, current_password):
        raise DomainError("auth.invalid_credentials", "The current password is wrong.")
    passwords.check_policy(new_password, username=account.username)
    account.password_hash = passwords.hash_password(hasher, new_password)
    for device in list_devices(db, account_id=account_id):
        if device.id != keep_device_id:
            revoke_device_chain(db, device_id=device.id, now=now)
    db.flush()


def delete_account(db: Session, *, account_id: uuid.UUID, password: str, hasher: PasswordHasher) -> None:
    """Erase the account and, through ``ON DELETE CASCADE``, every personal row that hangs off it."""
    account = get_account(db, account_id=account_id)
    if not passwords.verify_password(hasher, account.password_hash, password):
        raise DomainError("auth.invalid_credentials", "The password is wrong; nothing was deleted.")
    db.execute(delete(Account).where(Account.id == account_id))
    db.flush()
