"""Forms whose view judges NUL characters itself, so that a refused form can be shown again with what was typed.

Every route refuses a NUL in its path, query string or form before any view runs
(:func:`wallet.app.refuse_unstorable_text`), so no route can forget it. A page form marked with
:func:`judges_nul` is left to its view for the *form* fields (the path and query are still checked): the view
promises that no form value reaches the database unjudged — it refuses a NUL in a text field with its own
friendly page that keeps the rest, and reads ids only through a parser that refuses anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

View = TypeVar("View", bound=Callable[..., Any])


def judges_nul(view: View) -> View:
    """Mark a page view that judges NUL in its own form fields (see the module docstring)."""
    view._wallet_judges_nul = True  # type: ignore[attr-defined]
    return view


def view_judges_nul(view: Callable[..., Any] | None) -> bool:
    return bool(getattr(view, "_wallet_judges_nul", False))
