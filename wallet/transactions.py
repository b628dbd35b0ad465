"""One unit of work for a view: commit what succeeded, keep what a refusal recorded, roll back the rest.

Services flush and never commit; the caller owns the transaction. Some refusals did bookkeeping that
must stand — a wrong PIN is counted, a lock-out set (:class:`wallet.claims.redeem.RecordedRefusal`
says so with ``keep_changes``). Views run their service calls inside :func:`unit_of_work` instead of
each remembering to commit before reporting such a refusal; the sync action runner applies the same
rule to its savepoints (:func:`wallet.sync.actions.run_action`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from wallet.errors import DomainError


def keeps_changes(error: BaseException) -> bool:
    """Whether ``error`` is a refusal whose bookkeeping must be committed with it."""
    return isinstance(error, DomainError) and bool(getattr(error, "keep_changes", False))


@contextmanager
def unit_of_work(db: Session) -> Iterator[Session]:
    """Commit on success; on a refusal that keeps its changes, commit and re-raise; else roll back, re-raise."""
    try:
        yield db
    except BaseException as error:
        if keeps_changes(error):
            db.commit()
        else:
            db.rollback()
        raise
    db.commit()
