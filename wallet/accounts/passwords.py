"""Password hashing (argon2id) and policy.

The policy follows NIST SP 800-63B: a minimum length, no composition rules, and a refusal of
passwords that are known to be common or breached. The blocklist ships with the package
(``common_passwords.txt``) so no lookup ever leaves the server.
"""

from __future__ import annotations

import functools
import unicodedata
from importlib import resources

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from wallet.errors import DomainError

MIN_LENGTH = 8
MAX_LENGTH = 128

HASH_PROFILES = {
    "RFC_9106_LOW_MEMORY": profiles.RFC_9106_LOW_MEMORY,
    "CHEAPEST": profiles.CHEAPEST,
}


def make_hasher(profile: str = "RFC_9106_LOW_MEMORY") -> PasswordHasher:
    """An argon2id hasher; ``CHEAPEST`` exists only so test suites stay fast."""
    return PasswordHasher.from_parameters(HASH_PROFILES[profile])


@functools.cache
def _blocklist() -> frozenset[str]:
    text = resources.files("wallet.accounts").joinpath("common_passwords.txt").read_text()
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip())


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def check_policy(password: str, *, username: str) -> None:
    """Raise ``account.weak_password`` with a reason a teenager can act on."""
    password = normalise(password)
    if len(password) < MIN_LENGTH:
        raise DomainError("account.weak_password", f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise DomainError("account.weak_password", f"Use at most {MAX_LENGTH} characters.")
    folded = password.casefold()
    if folded in _blocklist() or len(set(folded)) <= 2:
        raise DomainError("account.weak_password", "That password is too common; pick something less guessable.")
    if username and username.casefold() in folded:
        raise DomainError("account.weak_password", "Your password must not contain your username.")


_DECOY_PASSWORD = "not-a-real-password-but-a-timing-decoy"  # noqa: S105 - a decoy, not a secret
_decoys: dict[tuple[object, ...], str] = {}


def decoy_hash(hasher: PasswordHasher) -> str:
    """A hash made once per hasher's parameters, verified against when a username is unknown.

    Checking a wrong password for an unknown username must cost exactly what checking it for a real one
    costs — one argon2 verification, with the same parameters — or the response time tells which
    usernames exist. Hashing the decoy on every attempt (as before) cost two.
    """
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len, hasher.salt_len, hasher.type)
    if key not in _decoys:
        _decoys[key] = hasher.hash(_DECOY_PASSWORD)
    return _decoys[key]


def hash_password(hasher: PasswordHasher, password: str) -> str:
    return hasher.hash(normalise(password))


def verify_password(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
