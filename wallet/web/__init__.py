"""The web layer under the JSON API (``wallet.api``) and the HTML pages (``wallet.pages``).

What both need lives here once: the request context (session, clock, app state, principal), rate-limit
policy and its enforcement, problem+json rendering and QR image responses. ``api`` and ``pages`` import
this package and never each other; this package imports services and models, never ``api`` or ``pages``
(import-linter contracts in pyproject.toml say so).
"""
