"""Database plumbing: the declarative base, engine and session factories.

The caller owns the transaction: views commit at the end of a write, CLI commands and jobs use
``with session_factory.begin() as db:``, services only flush. Nothing here is created at import
time; :func:`make_engine` is called by ``create_app()`` and the CLI.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, Uuid, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no time zones and hands back naive values; PostgreSQL keeps ``timestamptz``. Storing
    UTC and re-attaching ``tzinfo`` on the way out means services compare like with like everywhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime, uuid.UUID: Uuid}


def scrub_after_erasure(engine: Engine) -> None:
    """After an erasure has committed: on SQLite, copy the write-ahead log into the database and truncate
    it, so erased bytes do not linger in the ``-wal`` file until some later checkpoint. PostgreSQL needs
    nothing here: its WAL and dead tuples are the operator's to manage (docs/security.md)."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()  # autocommit (isolation_level None): a checkpoint cannot run in a transaction
    try:
        cursor = raw.cursor()
        # TRUNCATE waits for writers and readers on older snapshots; wait briefly, never for the full
        # busy timeout: a checkpoint that cannot finish now is finished by SQLite's next automatic one.
        cursor.execute("PRAGMA busy_timeout=250")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.fetchall()
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
    finally:
        raw.close()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling fights SAVEPOINTs; let SQLAlchemy emit BEGIN itself
        # (the documented workaround), and turn on what SQLite leaves off by default.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Erased rows are overwritten with zeros, not left in free space (docs/security.md, erasure).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout instead of
        # one failing with "database is locked" when it upgrades a read lock.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the per-backend settings the service relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    # No ping at check-out: a dead pooled connection fails its first statement, SQLAlchemy discards it and
    # the older ones, and the request is run again on a fresh one (wallet.web.retry; measured in
    # docs/performance.md: 0.92x the CPU of a claim). Jobs and commands that meet one fail that run only.
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
