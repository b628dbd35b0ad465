"""The one claim-code guard: a request pays once per code, a reservation is spent before anything is
counted again, and the same buckets serve every path."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallet.claims.guessing import CodeGuard, Guesser, GuessPolicy, guess_limits
from wallet.errors import DomainError
from wallet.ratelimit import Grant, Limit


class Counter:
    """A stand-in for the committed buckets: grants up to ``budget`` attempts, counting every one."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.counted = 0
        self.calls = 0

    def __call__(self, limits: Sequence[Limit], cost: int) -> Grant:
        self.calls += 1
        before = self.counted
        self.counted += cost
        granted = max(0, min(cost, self.budget - before))
        return Grant(granted, 0 if granted == cost else 42)


def test_the_same_buckets_whoever_asks() -> None:
    policy = GuessPolicy()
    account = uuid.uuid4()
    anonymous = {limit.key for limit in guess_limits(policy, Guesser("203.0.113.9"))}
    signed_in = {limit.key for limit in guess_limits(policy, Guesser("203.0.113.9", account))}
    assert anonymous < signed_in and len(signed_in - anonymous) == 1


def test_one_request_pays_once_for_a_code_it_shows_twice() -> None:
    counter = Counter(budget=5)
    guard = CodeGuard(GuessPolicy(), Guesser("203.0.113.9"), counter)
    guard.judge("K7Q-M3X-PDR")
    guard.judge(" K7Q-M3X-PDR ")
    assert counter.counted == 1


@given(budget=st.integers(0, 40), queued=st.integers(1, 60))
def test_a_reservation_grants_at_most_the_budget_and_never_counts_again(budget: int, queued: int) -> None:
    counter = Counter(budget)
    guard = CodeGuard(GuessPolicy(), Guesser("203.0.113.9"), counter)
    guard.reserve(queued)
    judged = refused = 0
    for n in range(queued):
        try:
            guard.judge(f"CODE{n:05d}")
            judged += 1
        except DomainError as error:
            assert error.code == "request.rate_limited" and error.extra["retry_after"] > 0
            refused += 1
    assert judged == min(budget, queued) and refused == queued - judged
    assert counter.calls == 1  # inside the sync's transaction nothing is counted on the side


def test_without_a_reservation_each_code_is_counted_when_judged() -> None:
    counter = Counter(budget=2)
    guard = CodeGuard(GuessPolicy(), Guesser("203.0.113.9"), counter)
    guard.judge("A")
    guard.judge("B")
    with pytest.raises(DomainError):
        guard.judge("C")
    assert counter.counted == 3


def test_reserving_many_attempts_at_once_grants_what_the_window_has_left(app: object) -> None:
    import datetime as dt

    from wallet.ratelimit import reserve_hits

    factory = app.extensions["wallet"].session_factory  # type: ignore[attr-defined]
    now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    limits = [Limit(f"reserve-{uuid.uuid4()}", 30, dt.timedelta(minutes=1))]
    assert reserve_hits(factory, limits, cost=20, now=now) == Grant(20, 0)
    partial = reserve_hits(factory, limits, cost=20, now=now)
    assert partial.granted == 10 and partial.retry_after_seconds == 60
    assert reserve_hits(factory, limits, cost=5, now=now).granted == 0
    assert reserve_hits(factory, limits, cost=5, now=now + dt.timedelta(minutes=1)) == Grant(5, 0)
