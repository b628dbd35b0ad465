"""Background jobs: started in one place (``wallet scheduler``, or inside ``wallet serve``), never by create_app().

Each job is an idempotent function of a session factory and ``now`` (:data:`JOBS`). :func:`run_job` runs
one under a database lock so that no job ever runs twice at once, however many processes schedule it:

* PostgreSQL: ``pg_try_advisory_xact_lock`` in a transaction held open while the job runs (a crashed
  process drops its connection, and with it the lock);
* SQLite: a row in ``job_locks`` taken by a conditional UPDATE (``locked_until`` in the past) and
  committed, released afterwards; a crashed holder's lock lapses at ``locked_until``.

A run that finds the lock taken skips (the other run does the work); APScheduler's ``coalesce`` and
``max_instances=1`` keep one process from piling up runs of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from wallet import ratelimit
from wallet.accounts import recovery
from wallet.claims import maintenance
from wallet.config import Settings
from wallet.fetching import build_fetcher
from wallet.holding import services as holding
from wallet.instance_secrets import for_settings as secrets_for
from wallet.models import JobLock
from wallet.oid4vci import grants as oid4vci_grants
from wallet.pathways.services import recogniser
from wallet.sync import compaction

log = logging.getLogger("wallet.jobs")

SessionFactory = sessionmaker[Session]
JobFunction = Callable[[SessionFactory, dt.datetime], int]

LOCK_LEASE = dt.timedelta(minutes=10)


def _in_transaction(work: Callable[..., int]) -> JobFunction:
    def job(session_factory: SessionFactory, now: dt.datetime) -> int:
        with session_factory.begin() as db:
            return work(db, now=now)

    job.__doc__ = work.__doc__
    return job


@dataclass(frozen=True)
class Job:
    id: str
    function: JobFunction
    every: dt.timedelta


CLAIM_JOBS: tuple[Job, ...] = (
    Job("claims.close_ended_sessions", _in_transaction(maintenance.close_ended_sessions), dt.timedelta(minutes=1)),
    Job("claims.expire_codes", _in_transaction(maintenance.expire_codes), dt.timedelta(minutes=5)),
    Job("claims.clear_stale_pending", _in_transaction(maintenance.clear_stale_pending), dt.timedelta(hours=1)),
    Job("claims.clear_lockouts", _in_transaction(maintenance.clear_lockouts), dt.timedelta(minutes=10)),
)

VERIFICATION_MAX_AGE = dt.timedelta(hours=24)
VERIFICATIONS_PER_RUN = 200


def jobs_for(settings: Settings) -> tuple[Job, ...]:
    """Every job, with the settings the non-claim jobs need (fetch policy, compaction horizon)."""

    def purge_rate_limits(db: Session, *, now: dt.datetime) -> int:
        """Drop rate-limit windows that have ended."""
        return ratelimit.purge(db, now=now)

    def refresh_verifications(db: Session, *, now: dt.datetime) -> int:
        """Re-check held credentials whose revocation status is older than a day (devices hear via sync),
        and award the pathway outcomes that credentials found valid complete."""
        fetcher = build_fetcher(settings, session=lambda: db)
        recognise = recogniser(kek=secrets_for(settings).key_encryption_key, base_url=settings.base_url)
        return holding.refresh_stale_verifications(
            db,
            now=now,
            max_age=VERIFICATION_MAX_AGE,
            fetcher=fetcher,
            limit=VERIFICATIONS_PER_RUN,
            recognise=recognise,
        )

    def compact_sync(db: Session, *, now: dt.datetime) -> int:
        """Purge sync tombstones every active device has seen, or older than the horizon."""
        horizon = dt.timedelta(days=settings.sync_tombstone_horizon_days)
        return compaction.compact(db, now=now, horizon=horizon).purged_rows

    return (
        *CLAIM_JOBS,
        Job("ratelimit.purge", _in_transaction(purge_rate_limits), dt.timedelta(minutes=15)),
        Job("accounts.purge_spent_codes", _in_transaction(recovery.purge_spent_codes), dt.timedelta(hours=1)),
        Job("oid4vci.purge_expired", _in_transaction(oid4vci_grants.purge_expired), dt.timedelta(minutes=15)),
        Job("credentials.refresh_verifications", _in_transaction(refresh_verifications), dt.timedelta(hours=1)),
        Job("sync.compact", _in_transaction(compact_sync), dt.timedelta(hours=24)),
    )


def _advisory_key(job_id: str) -> int:
    return int.from_bytes(hashlib.sha256(job_id.encode()).digest()[:8], "big", signed=True)


def run_job(session_factory: SessionFactory, job_id: str, function: JobFunction, *, now: dt.datetime) -> int | None:
    """Run ``function`` unless another run of ``job_id`` holds the lock; ``None`` means skipped."""
    with session_factory() as lock_db:
        if lock_db.get_bind().dialect.name == "postgresql":
            with lock_db.begin():
                if not lock_db.scalar(select(func.pg_try_advisory_xact_lock(_advisory_key(job_id)))):
                    return None
                return function(session_factory, now)
    holder = secrets.token_hex(8)
    if not _take_row_lock(session_factory, job_id, holder=holder, now=now):
        return None
    try:
        return function(session_factory, now)
    finally:
        with session_factory.begin() as db:
            db.execute(
                update(JobLock)
                .where(JobLock.name == job_id, JobLock.holder == holder)
                .values(holder=None, locked_until=None)
            )


def _take_row_lock(session_factory: SessionFactory, job_id: str, *, holder: str, now: dt.datetime) -> bool:
    with session_factory.begin() as db:
        db.execute(
            sqlite_insert(JobLock)
            .values(name=job_id, holder=None, locked_until=None)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        taken = db.execute(
            update(JobLock)
            .where(JobLock.name == job_id, (JobLock.locked_until.is_(None)) | (JobLock.locked_until <= now))
            .values(holder=holder, locked_until=now + LOCK_LEASE)
            .returning(JobLock.name)
        ).first()
    return taken is not None


def run_all(session_factory: SessionFactory, *, settings: Settings, now: dt.datetime) -> dict[str, int | None]:
    """Every job once (the CLI's ``wallet scheduler --once``, and tests)."""
    return {job.id: run_job(session_factory, job.id, job.function, now=now) for job in jobs_for(settings)}


def build_scheduler(
    session_factory: SessionFactory, *, settings: Settings, clock: Callable[[], dt.datetime]
) -> BackgroundScheduler:
    """A scheduler with every job added (fixed ids, coalesce, one instance each); the caller starts it."""
    scheduler = BackgroundScheduler(timezone=dt.UTC)
    for job in jobs_for(settings):
        scheduler.add_job(
            _scheduled,
            "interval",
            seconds=job.every.total_seconds(),
            id=job.id,
            name=job.id,
            args=(session_factory, job, clock),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=60,
            replace_existing=True,
        )
    return scheduler


def _scheduled(session_factory: SessionFactory, job: Job, clock: Callable[[], dt.datetime]) -> None:
    try:
        done = run_job(session_factory, job.id, job.function, now=clock())
    except Exception:  # a failed run is logged; the next interval tries again
        log.exception("job failed", extra={"job": job.id})
        return
    if done:
        log.info("job ran", extra={"job": job.id, "changed": done})


def start_in_process(settings: Settings) -> BackgroundScheduler:
    """Start the jobs inside this process (``wallet serve`` when ``WALLET_RUN_SCHEDULER`` is true)."""
    from wallet.db import make_engine, make_session_factory
    from wallet.state import utc_now

    session_factory = make_session_factory(make_engine(settings.resolved_database_url()))
    scheduler = build_scheduler(session_factory, settings=settings, clock=utc_now)
    scheduler.start()
    return scheduler
