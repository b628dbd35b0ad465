"""A rotating QR's scan, bound to the browser that scanned it (docs/claim-codes.md, "Scan, then sign up").

A learner who scans a rotating code may need minutes to sign up before claiming; by then the code on the
screen has changed and the step in their address is stale. When the landing page first opens with a
*fresh* rotating code, it records ``(session public id, step) → scan time`` in this browser's signed
session cookie (Flask signs it with the app's secret key, so it cannot be forged or moved to another
session's code). A claim from the same browser for the same code then presents that time as
``scanned_at``, and the claim service judges the code at the scan — the rule it already applies to
a phone's offline queue, here with a time the server measured itself.

What it does not change: a code opened for the first time after it went stale (a forwarded photo, a
link sent on) is refused as before, because no record is made for it; a record names one step of one
session and expires after :data:`SCAN_HOLD`; pause and close still apply when the claim arrives.
"""

from __future__ import annotations

import datetime as dt

from flask import session

SCAN_HOLD = dt.timedelta(minutes=30)
"""How long after a scan this browser may still claim with it (sign-up included)."""
_SCANS = "scans"
_KEEP = 8


def _key(public_id: str, step: int) -> str:
    return f"{public_id}:{step}"


def remember_scan(*, public_id: str, step: int, now: dt.datetime) -> None:
    """Record that this browser opened ``step`` of the session while it was fresh (first scan wins)."""
    scans = {key: at for key, at in dict(session.get(_SCANS) or {}).items() if _live(at, now)}
    key = _key(public_id, step)
    if key not in scans:
        scans[key] = int(now.timestamp())
        while len(scans) > _KEEP:
            scans.pop(min(scans, key=lambda k: scans[k]))
    session[_SCANS] = scans


def scanned_at(*, public_id: str, step: int, now: dt.datetime) -> dt.datetime | None:
    """When this browser scanned ``step`` of the session, if it did within :data:`SCAN_HOLD`."""
    at = dict(session.get(_SCANS) or {}).get(_key(public_id, step))
    if not isinstance(at, int) or not _live(at, now):
        return None
    return dt.datetime.fromtimestamp(at, dt.UTC)


def carried_over() -> dict[str, int]:
    """The records to keep when a sign-in starts a fresh session (:func:`wallet.web.session.sign_in`)."""
    return dict(session.get(_SCANS) or {})


def restore(scans: dict[str, int]) -> None:
    if scans:
        session[_SCANS] = scans


def _live(at: object, now: dt.datetime) -> bool:
    return isinstance(at, int) and now.timestamp() - SCAN_HOLD.total_seconds() <= at <= now.timestamp() + 5
