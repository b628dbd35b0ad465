"""One limit on judging claim codes, applied the same way on every path that tells anyone whether a code is real.

Every answer to a code — the landing page and its forms, the redeem API, a queued ``claim.redeem`` op
in a sync, the OpenID4VCI offer fetch and token endpoint — tells a guesser "unknown" or something else,
so every one of them spends from one budget: per client address (a minute and a day) and, when the
guesser is signed in, per account. The buckets are :mod:`wallet.ratelimit`'s, with the same keys on every
path, so a guesser cannot take 30 a minute from the API and as many again from the pages.

Services call :meth:`CodeGuard.judge` before they resolve a code (:func:`judge_code`); the entry point
builds the guard with a ``record`` function that counts in a short transaction of its own (the count
must outlive the refusal that follows a wrong guess). A sync judges many codes inside one long
transaction, so it :meth:`CodeGuard.reserve`\\s its attempts before that transaction begins; attempts
beyond the reservation are refused without being counted again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from wallet.claims.codes import ResolvedCode, resolve_code
from wallet.claims.policy import ClaimConfig
from wallet.errors import DomainError
from wallet.ratelimit import Grant, Limit, bucket_key

MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)

Record = Callable[[Sequence[Limit], int], Grant]
"""``record(limits, cost)``: count ``cost`` attempts on each limit (committed at once); what they allow."""


@dataclass(frozen=True)
class GuessPolicy:
    """The budget, from configuration (``WALLET_RATELIMIT_CLAIM_CODE_*``); 0 turns a limit off."""

    per_account_per_minute: int = 30
    per_client_per_minute: int = 120
    per_client_per_day: int = 2000


@dataclass(frozen=True)
class Guesser:
    """Who asks: the client address always, the account when signed in."""

    client: str
    account_id: uuid.UUID | None = None


def guess_limits(policy: GuessPolicy, guesser: Guesser) -> list[Limit]:
    """The buckets one judgement is counted in (the same names on every path)."""
    limits = [
        Limit(bucket_key("claim-code", "ip", guesser.client), policy.per_client_per_minute, MINUTE),
        Limit(bucket_key("claim-code-day", "ip", guesser.client), policy.per_client_per_day, DAY),
    ]
    if guesser.account_id is not None:
        limits.append(
            Limit(bucket_key("claim-code", "account", str(guesser.account_id)), policy.per_account_per_minute, MINUTE)
        )
    return limits


def rate_limited(retry_after: int) -> DomainError:
    return DomainError(
        "request.rate_limited",
        f"Too many claim codes tried; try again in {retry_after} seconds.",
        retry_after=retry_after,
    )


@dataclass
class CodeGuard:
    """One request's budget of code judgements. The same code judged twice in one request costs once."""

    policy: GuessPolicy
    guesser: Guesser
    record: Record
    _granted: int = 0
    _reserved: bool = False
    _retry_after: int = 0
    _judged: set[str] = field(default_factory=set)

    def reserve(self, attempts: int) -> None:
        """Count ``attempts`` judgements now (before a long transaction); later :meth:`judge` calls use them."""
        grant = self.record(guess_limits(self.policy, self.guesser), attempts)
        self._granted += grant.granted
        self._retry_after = grant.retry_after_seconds
        self._reserved = True

    def judge(self, code: str) -> None:
        """Spend one judgement on ``code``, or raise ``request.rate_limited`` (429, ``retry_after``)."""
        text = (code or "").strip()
        if text in self._judged:
            return
        if self._granted <= 0 and not self._reserved:
            grant = self.record(guess_limits(self.policy, self.guesser), 1)
            self._granted, self._retry_after = grant.granted, grant.retry_after_seconds
        if self._granted <= 0:
            raise rate_limited(max(1, self._retry_after))
        self._granted -= 1
        self._judged.add(text)


def judge_code(db: Session, *, code: str, config: ClaimConfig, guard: CodeGuard) -> ResolvedCode:
    """Resolve ``code`` for a guesser: counted by ``guard`` first, then :func:`~wallet.claims.codes.resolve_code`.

    Every path that answers a code to someone outside calls this, never ``resolve_code`` alone.
    """
    guard.judge(code)
    return resolve_code(db, code=code, config=config)
