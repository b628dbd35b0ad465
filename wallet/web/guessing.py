"""The claim-code guessing budget of one request, shared by every path that judges a code.

The API, the claim pages, OpenID4VCI and sync all call :func:`code_guard`, so one policy (from
``WALLET_RATELIMIT_CLAIM_CODE_*``), one set of keys and one counter judge every guess
(docs/claim-codes.md "Guessing budget").
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from wallet import ratelimit
from wallet.claims.guessing import CodeGuard, Guesser, GuessPolicy
from wallet.web import context, limits


def code_guard(account_id: uuid.UUID | None = None) -> CodeGuard:
    """This request's budget of claim-code judgements: the client's address always, the account when
    signed in. Hits are committed on a connection of their own."""
    state = context.state()
    settings = state.settings
    policy = GuessPolicy(
        per_account_per_minute=settings.ratelimit_claim_code_per_account_per_minute,
        per_client_per_minute=settings.ratelimit_claim_code_per_ip_per_minute,
        per_client_per_day=settings.ratelimit_claim_code_per_ip_per_day,
    )

    def record(buckets: Sequence[ratelimit.Limit], cost: int) -> ratelimit.Grant:
        limits.end_read_only_transaction()
        return ratelimit.reserve_hits(state.session_factory, buckets, cost=cost, now=context.now())

    return CodeGuard(policy, Guesser(context.client_ip(), account_id), record)


def reserve_claim_judgements(ops: Sequence[Any]) -> CodeGuard | None:
    """Before a sync's transaction: count its queued ``claim.redeem`` ops under the guessing limit.

    The sync judges them inside one long transaction, where no counter can be committed on the side;
    the ops beyond what the limit grants are deferred (a transient rejection, retried later). Returns the
    guard the sync's ``claim.redeem`` actions spend from (``None`` when none is queued).
    """
    queued = sum(1 for op in ops if isinstance(op, dict) and op.get("type") == "claim.redeem")
    if not queued:
        return None
    guard = code_guard(context.principal().account_id)
    guard.reserve(queued)
    return guard
