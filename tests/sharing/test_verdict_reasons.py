"""The share page's verdict is decided by reason codes, never by the words of a check's detail."""

from __future__ import annotations

import datetime as dt

from wallet.sharing.verdict import verdict

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def report(check: str, reason: str, detail: str) -> dict:
    checks = [
        {"name": name, "outcome": "passed", "detail": "fine", "reason": f"{name}.ok"}
        for name in ("proof", "issuer_key", "validity", "status", "shape")
    ]
    for item in checks:
        if item["name"] == check:
            item.update(outcome="failed", reason=reason, detail=detail)
    return {"outcome": "invalid", "checks": checks}


def judged(check: str, reason: str, detail: str) -> str:
    return verdict(
        report(check, reason, detail),
        checked_at=NOW,
        issuer="Harbour College",
        learner="Sam",
        issued_at=NOW,
        expires_at=None,
    ).kind


def test_suspended_is_told_from_revoked_by_its_code_whatever_the_words() -> None:
    assert judged("status", "status.suspended", "entry 5 is 0x1 in the list") == "suspended"
    assert judged("status", "status.revoked", "suspended? no: withdrawn") == "revoked"


def test_not_yet_valid_is_told_from_expired_by_its_code() -> None:
    assert judged("validity", "validity.not_yet_valid", "starts 2026-01-01") == "not_yet_valid"
    assert judged("validity", "validity.expired", "not valid before a while ago") == "expired"
