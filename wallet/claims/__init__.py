"""Claim sessions: youth workers hand out badges on the spot; learners claim by QR, card or typed code.

Services only, no Flask (docs/claims.md). Modules: :mod:`~wallet.claims.sessions` (open, list, pause,
close, counts, CSV), :mod:`~wallet.claims.redeem` (the claim itself: checks, PIN),
:mod:`~wallet.claims.admission` (the one admission path for accounts and holder DIDs, and its lock order),
:mod:`~wallet.claims.guessing` (the one claim-code guessing limit every path applies), :mod:`~wallet.claims.moderation`
(approve, reject, revoke), :mod:`~wallet.claims.codes` (what a code names), :mod:`~wallet.claims.display`
(display links), :mod:`~wallet.claims.maintenance` (scheduler jobs), :mod:`~wallet.claims.policy` (limits, keys).
"""
