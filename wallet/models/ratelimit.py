"""Rate-limit counters: one row per limited key, shared by every worker process through the database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wallet.db import Base


class RateLimitBucket(Base):
    """Hits on ``key`` (e.g. ``login:ip:203.0.113.9``) in the fixed window that started at ``window_start``.

    One row per key: a hit in a later window resets the row instead of adding one, so the table holds at
    most one row per key seen recently, and :func:`wallet.ratelimit.purge` removes windows that ended.
    Keys are not personal data tied to an account (no foreign key): an IP or a typed username expires with
    its window.
    """

    __tablename__ = "rate_limit_buckets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[dt.datetime]
    window_end: Mapped[dt.datetime] = mapped_column(index=True)
    count: Mapped[int] = mapped_column(Integer)
