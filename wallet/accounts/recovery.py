"""Getting back into an account without e-mail: recovery codes, and reset codes handed over in person.

Learners sign up with a username and a password only (no e-mail, no phone number), so "forgot my
password" needs a way in that works at a youth centre:

* **Recovery codes** — :data:`RECOVERY_CODE_COUNT` codes shown once at sign-up (the web page and the
  API's answer), regenerable from the account page with the password. Each works once, never expires,
  and is 80 random bits (``XXXX-XXXX-XXXX-XXXX``), so its SHA-256 at rest cannot be brute-forced.
* **Reset codes** — a youth worker, an admin or the operator issues one (:func:`issue_reset_code`) and
  hands it over in person. 50 random bits (``XXXXX-XXXXX``, easy to read out), valid
  :data:`RESET_CODE_TTL`, single use; issuing a new one cancels the old one. The console uses the same
  call for an invited youth worker's first password (``ttl=`` up to :data:`MAX_RESET_CODE_TTL`).

Who may issue a reset code for whom (:func:`check_may_issue`; docs/security.md, "Reset codes"):

1. the operator (``issued_by=None``, the ``wallet`` CLI) — anyone;
2. nobody for themselves (they change their password, or use a recovery code);
3. for an account that is a member (admin or youth worker) of any organisation: only an **admin of one
   of that account's organisations** — a youth worker can never take over another staff account;
4. for a learner: an admin or youth worker of an organisation that has **issued the learner a badge**
   or in one of whose claim sessions the learner has a claim — the people who met them. Never any
   youth worker for any account.

Both kinds are typed on ``/reset`` (or ``POST /api/v1/auth/password-reset``) with the username and a new
password: :func:`reset_password_with_code` spends the code (one conditional UPDATE, so two tabs cannot
both use it), sets the password and signs out every device — whoever held the old password is out.
Guesses are judged under the sign-in limits for that username (:func:`wallet.web.limits.sign_in`), so a
guesser gains nothing by trying codes instead of passwords. Codes are read case-insensitively, with
spaces and hyphens ignored and O/I/L read as 0/1/1.

Services flush, never commit; time comes in as ``now``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session
from wallet_protocol.claim_codes import ALPHABET

from wallet.accounts import passwords
from wallet.accounts.services import normalise_username, revoke_device_chain
from wallet.errors import DomainError
from wallet.models import Account, AccountCode, Claim, ClaimSession, Device, IssuedCredential, Membership, Role

RECOVERY = "recovery"
RESET = "reset"
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 16
RESET_CODE_LENGTH = 10
RESET_CODE_TTL = dt.timedelta(minutes=30)
"""Long enough to walk from the youth worker's desk to a phone; short enough that a lost slip is harmless."""
MAX_RESET_CODE_TTL = dt.timedelta(days=7)
"""The longest a code may live: an invited youth worker's first password, sent with the invitation."""

_CONFUSABLE = {"O": "0", "I": "1", "L": "1"}
_SEPARATORS = frozenset(" \t\r\n-_.\u2010\u2011\u2012\u2013\u2014\u00a0")


@dataclass(frozen=True)
class IssuedResetCode:
    """A reset code to hand over: shown once, never stored in the clear."""

    code: str
    account_id: uuid.UUID
    username: str
    expires_at: dt.datetime


def _new_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _grouped(code: str, size: int) -> str:
    return "-".join(code[i : i + size] for i in range(0, len(code), size))


def format_code(code: str) -> str:
    """The printed form: ``XXXX-XXXX-XXXX-XXXX`` for recovery codes, ``XXXXX-XXXXX`` for reset codes."""
    return _grouped(code, 4 if len(code) == RECOVERY_CODE_LENGTH else 5)


def normalise_code(text: str) -> str | None:
    """The canonical form of a typed code (upper case, no separators, O→0, I/L→1), or None if it is no code."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    chars = []
    for char in text:
        if char in _SEPARATORS:
            continue
        upper = char.upper()
        upper = _CONFUSABLE.get(upper, upper)
        if upper not in ALPHABET:
            return None
        chars.append(upper)
    code = "".join(chars)
    return code if len(code) in (RECOVERY_CODE_LENGTH, RESET_CODE_LENGTH) else None


def _hash(kind: str, account_id: uuid.UUID, code: str) -> str:
    return hashlib.sha256(f"{kind}:{account_id}:{code}".encode()).hexdigest()


# --- Recovery codes ---------------------------------------------------------------------------------


def new_recovery_codes(db: Session, *, account_id: uuid.UUID, now: dt.datetime) -> list[str]:
    """Replace the account's recovery codes with :data:`RECOVERY_CODE_COUNT` new ones; returns them, formatted.

    The old codes stop working at once. The caller shows the result once and never stores it.
    """
    db.execute(delete(AccountCode).where(AccountCode.account_id == account_id, AccountCode.kind == RECOVERY))
    codes = [_new_code(RECOVERY_CODE_LENGTH) for _ in range(RECOVERY_CODE_COUNT)]
    db.add_all(
        AccountCode(account_id=account_id, kind=RECOVERY, code_hash=_hash(RECOVERY, account_id, code), created_at=now)
        for code in codes
    )
    db.flush()
    return [format_code(code) for code in codes]


def regenerate_recovery_codes(
    db: Session, *, account_id: uuid.UUID, password: str, hasher: PasswordHasher, now: dt.datetime
) -> list[str]:
    """New recovery codes, confirmed with the password (a borrowed, signed-in phone must not mint a way back in)."""
    account = db.get(Account, account_id)
    if account is None:
        raise DomainError("account.not_found")
    if not passwords.verify_password(hasher, account.password_hash, password):
        raise DomainError("auth.invalid_credentials", "The password is wrong; your codes did not change.")
    return new_recovery_codes(db, account_id=account_id, now=now)


def recovery_codes_left(db: Session, *, account_id: uuid.UUID) -> int:
    """How many of the account's recovery codes are still unused (the account page says so)."""
    return int(
        db.scalar(
            select(func.count())
            .select_from(AccountCode)
            .where(AccountCode.account_id == account_id, AccountCode.kind == RECOVERY, AccountCode.used_at.is_(None))
        )
        or 0
    )


# --- Reset codes ------------------------------------------------------------------------------------


def check_may_issue(db: Session, *, account_id: uuid.UUID, issued_by: uuid.UUID | None) -> None:
    """Raise ``auth.forbidden`` unless ``issued_by`` may issue a reset code for ``account_id`` (module rules 1-4)."""
    if issued_by is None:
        return
    if issued_by == account_id:
        raise DomainError(
            "auth.forbidden", "Change your own password on the account page, or use one of your recovery codes."
        )
    target_orgs = select(Membership.organisation_id).where(Membership.account_id == account_id)
    staff_of = select(Membership.organisation_id).where(Membership.account_id == issued_by)
    if db.scalar(select(exists(target_orgs))):
        admin_of_theirs = select(
            exists(
                staff_of.where(
                    Membership.role == Role.ADMIN, Membership.organisation_id.in_(target_orgs.scalar_subquery())
                )
            )
        )
        if not db.scalar(admin_of_theirs):
            raise DomainError(
                "auth.forbidden", "Only an admin of their organisation can give a youth worker or admin a reset code."
            )
        return
    issuer_orgs = staff_of.scalar_subquery()
    issued_badge = exists(
        select(IssuedCredential.id).where(
            IssuedCredential.recipient_account_id == account_id, IssuedCredential.organisation_id.in_(issuer_orgs)
        )
    )
    claimed_here = exists(
        select(Claim.id)
        .join(ClaimSession, ClaimSession.id == Claim.session_id)
        .where(Claim.account_id == account_id, ClaimSession.organisation_id.in_(issuer_orgs))
    )
    if not db.scalar(select(issued_badge | claimed_here)):
        raise DomainError(
            "auth.forbidden", "You can give a reset code only to a learner your organisation has given a badge."
        )


def issue_reset_code(
    db: Session,
    *,
    account_id: uuid.UUID,
    issued_by: uuid.UUID | None,
    now: dt.datetime,
    ttl: dt.timedelta = RESET_CODE_TTL,
) -> str:
    """A new single-use reset code for ``account_id`` (formatted ``XXXXX-XXXXX``), to hand over in person.

    ``issued_by`` is the staff account issuing it (``None``: the operator); :func:`check_may_issue`
    decides (``auth.forbidden``). Any earlier unused reset code of the account stops working. Rate limit
    the caller with :func:`wallet.web.limits.reset_code_issuing` before calling. The code is returned
    once and stored only as a hash.
    """
    if not dt.timedelta(0) < ttl <= MAX_RESET_CODE_TTL:
        raise ValueError("a reset code lives more than 0 seconds and at most MAX_RESET_CODE_TTL")
    if db.get(Account, account_id) is None:
        raise DomainError("account.not_found")
    check_may_issue(db, account_id=account_id, issued_by=issued_by)
    db.execute(
        delete(AccountCode).where(
            AccountCode.account_id == account_id, AccountCode.kind == RESET, AccountCode.used_at.is_(None)
        )
    )
    code = _new_code(RESET_CODE_LENGTH)
    db.add(
        AccountCode(
            account_id=account_id,
            kind=RESET,
            code_hash=_hash(RESET, account_id, code),
            issued_by=issued_by,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    db.flush()
    return format_code(code)


def issue_reset_code_for_username(
    db: Session, *, username: str, issued_by: uuid.UUID | None, now: dt.datetime, ttl: dt.timedelta = RESET_CODE_TTL
) -> IssuedResetCode:
    """:func:`issue_reset_code` for the username the learner tells the youth worker."""
    try:
        name = normalise_username(username)
    except DomainError:
        raise DomainError("account.not_found") from None
    account = db.scalar(select(Account).where(Account.username == name))
    if account is None:
        raise DomainError("account.not_found")
    code = issue_reset_code(db, account_id=account.id, issued_by=issued_by, now=now, ttl=ttl)
    return IssuedResetCode(code=code, account_id=account.id, username=account.username, expires_at=now + ttl)


def redeem_reset_code(db: Session, *, username: str, code: str, now: dt.datetime) -> Account:
    """Spend a reset or recovery code of ``username``; the account, or ``auth.invalid_reset_code``.

    One conditional UPDATE (``used_at IS NULL`` and not expired): two requests with the same code
    cannot both spend it. The same refusal for an unknown username, a wrong, used or expired code.
    """
    refused = DomainError("auth.invalid_reset_code")
    canonical = normalise_code(code)
    try:
        name = normalise_username(username)
    except DomainError:
        raise refused from None
    account = db.scalar(select(Account).where(Account.username == name))
    if account is None or canonical is None:
        raise refused
    kind = RECOVERY if len(canonical) == RECOVERY_CODE_LENGTH else RESET
    spent = db.execute(
        update(AccountCode)
        .where(
            AccountCode.account_id == account.id,
            AccountCode.kind == kind,
            AccountCode.code_hash == _hash(kind, account.id, canonical),
            AccountCode.used_at.is_(None),
            (AccountCode.expires_at.is_(None)) | (AccountCode.expires_at > now),
        )
        .values(used_at=now)
        .returning(AccountCode.id)
    ).first()
    if spent is None:
        raise refused
    return account


def reset_password_with_code(
    db: Session, *, username: str, code: str, new_password: str, hasher: PasswordHasher, now: dt.datetime
) -> Account:
    """Set a new password with a reset or recovery code, and sign out every device of the account.

    The new password is judged first (against the typed username), so a weak one never spends the
    code. Other unused reset codes of the account stop working; recovery codes left stay valid.
    """
    try:
        typed_name = normalise_username(username)
    except DomainError:
        raise DomainError("auth.invalid_reset_code") from None
    passwords.check_policy(new_password, username=typed_name)
    account = redeem_reset_code(db, username=typed_name, code=code, now=now)
    account.password_hash = passwords.hash_password(hasher, new_password)
    device_ids = db.scalars(select(Device.id).where(Device.account_id == account.id, Device.revoked_at.is_(None)))
    for device_id in list(device_ids):
        revoke_device_chain(db, device_id=device_id, now=now)
    db.execute(
        delete(AccountCode).where(
            AccountCode.account_id == account.id, AccountCode.kind == RESET, AccountCode.used_at.is_(None)
        )
    )
    db.flush()
    return account


def purge_spent_codes(db: Session, *, now: dt.datetime) -> int:
    """Delete used and expired reset codes (idempotent; a scheduled job may call it). Returns how many."""
    result = db.execute(
        delete(AccountCode).where(
            AccountCode.kind == RESET, (AccountCode.used_at.is_not(None)) | (AccountCode.expires_at <= now)
        )
    )
    return int(result.rowcount or 0)
