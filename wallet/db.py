"""Database plumbing: the declarative base, engine and session factories.

The caller owns the transaction: views commit at the end of a write, CLI commands and jobs use
``with session_factory.begin() as db:``, services only flush. Nothing here is created at import
time; :func:`make_engine` is called by ``create_app()`` and the CLI.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, Uuid, create_engine, event, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
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

    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, _state: Any) -> None:
        # A COMMIT refused by a deferred foreign key leaves SQLite's transaction open, while SQLAlchemy
        # takes it as ended and skips its rollback: end it here, or the pooled connection's next BEGIN fails.
        if dbapi_connection.in_transaction:
            dbapi_connection.rollback()

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


_Model = TypeVar("_Model")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def add_inserted(
    db: Session, model: type[_Model], values: dict[str, Any], *, unique: Sequence[str] = ()
) -> _Model | None:
    """Insert one row of ``model`` with a table statement and hold it in ``db`` as a persistent object;
    with ``unique``, ``None`` when a row with the same values of those columns exists (ON CONFLICT DO
    NOTHING, PostgreSQL and SQLite).

    Why not ``db.add`` and a flush, or an ORM ``INSERT … RETURNING``: on the claim path each cost two to
    three times the table statement (docs/performance.md, fourth pass). Columns left out of ``values``
    get their Python-side default, so the object comes back complete, exactly as if it had been loaded:
    later changes to it are flushed as UPDATEs. Pending objects are flushed first (it may refer to them).
    """
    table = model.__table__
    row = dict(values)
    for column in table.columns:
        if column.key not in row:
            default = column.default
            if default is None:
                row[column.key] = None
            elif default.is_scalar:
                row[column.key] = default.arg
            elif default.is_callable:
                row[column.key] = default.arg(None)
            else:  # pragma: no cover - no model of ours has a SQL-expression default
                raise ValueError(f"{table.name}.{column.key} has a default only the database knows")
    if db.autoflush:
        db.flush()
    inserted = db.execute(_insert_statement(db.get_bind().dialect.name, table, tuple(unique)), row).first()
    if inserted is None:  # the unique columns' row is there already
        return None
    instance = model(**row)
    make_transient_to_detached(instance)
    db.add(instance)
    return instance


@functools.cache
def _insert_statement(dialect: str, table: Any, unique: tuple[str, ...]) -> Any:
    # RETURNING the key says whether a row went in (a DBAPI's rowcount after an upsert is not reliable).
    key = list(table.primary_key.columns)
    if not unique:
        return insert(table).returning(*key)
    if dialect not in ("postgresql", "sqlite"):
        raise ValueError(f"ON CONFLICT DO NOTHING needs PostgreSQL or SQLite, not {dialect}")
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return make_insert(table).on_conflict_do_nothing(index_elements=list(unique)).returning(*key)
