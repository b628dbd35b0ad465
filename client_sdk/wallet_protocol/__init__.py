"""Rules shared by the Learner Wallet server and its SDK: one source of truth.

Everything here is pure: the standard library (and ``cryptography`` for signatures) only, time and
randomness passed in as arguments, no I/O. The server (``wallet``) and the SDK (``wallet_client``)
both import it, so a merge rule, a token format or an error code cannot drift between them.
"""
