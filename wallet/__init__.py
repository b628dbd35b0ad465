"""Learner Wallet: an open learner-credential wallet backend.

``create_app`` is imported lazily so that the domain packages (``wallet.accounts``,
``wallet.credentials`` …) can be used — by the CLI, jobs and tests — without importing Flask.
"""

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from wallet.app import create_app

        return create_app
    raise AttributeError(name)
