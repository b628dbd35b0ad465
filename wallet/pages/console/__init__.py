"""The console at ``/console``: youth workers run claim sessions, admins run their organisation,
operators create organisations. Server-rendered over the services the API calls (never over HTTP),
with the learner app's browser sign-in, CSRF and layout.

Routes (all under ``/console``; who may use each is the API's rule for the same action):

``/``                                  your organisations (and the operator's page, for operators)
``/first-password``                    choose your own password after signing in with a one-time one
``/orgs/<slug>``                       badges, sessions running now, upcoming and past (members)
``/orgs/<slug>/sessions/new``          start a claim session (members)
``/sessions/<id>``                     the live session: count, claims, approve/reject/revoke, state
``/sessions/<id>/live.json``           what the live page polls
``/sessions/<id>/display``             one click to the projector page (mints a display link)
``/sessions/<id>/cards.pdf``           the printable single-use cards
``/sessions/<id>/claims.csv``          the claim list for a register
``/orgs/<slug>/badges…``               create and edit badges (admins)
``/orgs/<slug>/members…``              invite, change role, remove (admins)
``/orgs/<slug>/awards…``               award directly, list and revoke (admins)
``/orgs/<slug>/issuer``                the issuer profile, time zone and key history (admins)
``/orgs/<slug>/badges/<id>/alignments…`` align a badge to a framework's items, or remove one (admins)
``/orgs/<slug>/pathways…``             design learning pathways: details, steps, archive (admins; partners: steps)
``/orgs/<slug>/frameworks``            import a skills framework the organisation owns (admins)
``/orgs/<slug>/reset-code``            hand a learner a password reset code (members; who for whom: the API's rule)
``/orgs/<slug>/badges/<id>/requestable`` let learners ask for a badge, with guidance and the evidence wanted (admins)
``/orgs/<slug>/endorsements…``         endorsements given (members); endorse another organisation, withdraw (admins)
``/operator``                          create organisations and their first admin (operators)
``/operator/frameworks``               import any skills framework, for any owner (operators)

Badge-request review (``/console/orgs/<slug>/requests``) is its own blueprint, ``review_pages`` in
:mod:`wallet.pages.requests`; the organisation's navigation links it.
"""

from __future__ import annotations

from flask import Blueprint

pages = Blueprint("console_pages", __name__, url_prefix="/console", template_folder="../templates")

from wallet.pages.console import (  # noqa: E402  (routes attach to ``pages``)
    admin,
    frameworks,
    operator,
    pathways,
    recognition,
    resets,
    running,
)
from wallet.pages.console.common import known_organisation  # noqa: E402

pages.before_request(known_organisation)

__all__ = ["admin", "frameworks", "operator", "pages", "pathways", "recognition", "resets", "running"]
