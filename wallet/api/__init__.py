"""The HTTP API: flask-smorest blueprints and marshmallow schemas, nothing else.

A view parses, calls a service, commits, and returns. Errors are rendered once, by
:class:`wallet.api.core.WalletApi`, as RFC 9457 problem+json.
"""
