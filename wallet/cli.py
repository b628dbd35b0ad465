"""The ``wallet`` command: serve, migrate, seed demo data, and the operator's tools.

Commands own their transaction (``with session_factory.begin() as db:``); services only flush.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.orm import Session

from wallet.config import Settings
from wallet.db import make_engine, make_session_factory
from wallet.errors import DomainError
from wallet.instance_secrets import InstanceSecrets, MissingSharedSecrets
from wallet.instance_secrets import for_settings as secrets_for


def _settings() -> Settings:
    return Settings.from_env()


@contextmanager
def _transaction(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings.resolved_database_url())
    try:
        with make_session_factory(engine).begin() as db:
            yield db
    finally:
        engine.dispose()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _secrets(settings: Settings) -> InstanceSecrets:
    """The node's secrets, or a clear refusal (PostgreSQL without shared secrets) instead of a traceback."""
    try:
        return secrets_for(settings)
    except (MissingSharedSecrets, ValueError) as error:
        raise click.ClickException(str(error)) from error


@click.group()
def main() -> None:
    """Learner Wallet: an open learner-credential wallet backend."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--dev", is_flag=True, help="Flask's development server with reload (never in production).")
def serve(host: str, port: int, workers: int, dev: bool) -> None:
    """Run the HTTP service (gunicorn; migrations applied first)."""
    settings = _settings()
    _secrets(settings)  # refuse before any worker boots: PostgreSQL needs the nodes' shared secrets
    _upgrade(settings)
    if settings.run_scheduler:
        from wallet.jobs import start_in_process

        start_in_process(settings)
    if dev:
        from wallet.app import create_app

        create_app(settings).run(host=host, port=port, debug=True)
        return
    from wallet.server import run_gunicorn

    run_gunicorn(host=host, port=port, workers=workers, settings=settings)


@main.group()
def db() -> None:
    """Database schema."""


def _upgrade(settings: Settings) -> None:
    from wallet.migrate import upgrade

    settings.resolved_instance_path().mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url())


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (safe to run repeatedly)."""
    from wallet.migrate import applied_revisions

    settings = _settings()
    url = settings.resolved_database_url()
    settings.resolved_instance_path().mkdir(parents=True, exist_ok=True)
    before = applied_revisions(url)
    _upgrade(settings)
    after = applied_revisions(url)
    where, latest = _redact(url), ", ".join(after)
    if not before:
        click.echo(f"Created the database at revision {latest}: {where}")
    elif before == after:
        click.echo(f"Already at the latest revision {latest}: {where}")
    else:
        click.echo(f"Upgraded from revision {', '.join(before)} to {latest}: {where}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.group()
def org() -> None:
    """Operator tools for organisations."""


@org.command("create")
@click.option("--slug", required=True, help="Short name used in URLs, e.g. makerspace-north.")
@click.option("--name", required=True, help="Display name.")
@click.option("--description", default="", help="Who they are, shown on their issuer page.")
@click.option("--url", default=None, help="Their website.")
@click.option(
    "--admin",
    "admin_username",
    required=True,
    help="Username of the first admin; created with a printed one-time password if it does not exist.",
)
def org_create(slug: str, name: str, description: str, url: str | None, admin_username: str) -> None:
    """Create an organisation and its first admin."""
    from wallet.accounts.passwords import make_hasher
    from wallet.models import Role
    from wallet.organisations import services as organisations

    settings = _settings()
    _upgrade(settings)
    try:
        with _transaction(settings) as session:
            password = _ensure_account(session, admin_username, make_hasher(settings.password_hash_profile))
            organisations.create_organisation(
                session, slug=slug, name=name, description=description, url=url, now=_now()
            )
            organisations.add_member(
                session, slug=slug, actor=None, username=admin_username, role=Role.ADMIN, now=_now()
            )
    except DomainError as error:
        raise click.ClickException(error.detail) from error
    click.echo(f"Created organisation {slug!r} with admin {admin_username!r}.")
    if password:
        click.echo(
            f"New account {admin_username!r}, one-time password: {password}  "
            "(it signs in once; they then choose their own)"
        )


@main.group()
def framework() -> None:
    """Operator tools for a place's skills frameworks."""


@framework.command("import")
@click.option("--slug", required=True, help="Short name used in URLs, e.g. leeds-skills.")
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--owner", default=None, help="Slug of the anchor organisation whose admins may add versions.")
@click.option("--title", default=None, help="The framework's title (CSV files; CASE JSON carries its own).")
def framework_import(slug: str, path: str, owner: str | None, title: str | None) -> None:
    """Import a CASE 1.1 JSON package or a CSV as a framework's next version (unchanged: no new version)."""
    from wallet.skills import formats
    from wallet.skills.frameworks import import_framework

    settings = _settings()
    _upgrade(settings)
    data = Path(path).read_bytes()
    try:
        if path.lower().endswith(".csv"):
            parsed = formats.parse_csv(data, title=title or slug, identifier=f"csv:{slug}")
        else:
            parsed = formats.parse_case_json(data)
        with _transaction(settings) as session:
            result = import_framework(
                session, slug=slug, parsed=parsed, actor=None, organisation_slug=owner, now=_now()
            )
            version, created, count = result.version.version, result.created, len(parsed.items)
    except formats.FrameworkUnreadable as error:
        raise click.ClickException(f"{path}: {error.where} {error.message}") from error
    except DomainError as error:
        raise click.ClickException(error.detail) from error
    if created:
        click.echo(f"Imported {slug!r} version {version}: {count} items.")
    else:
        click.echo(f"{slug!r} is unchanged: still version {version}.")


@org.command("add-member")
@click.option("--slug", required=True)
@click.option("--username", required=True)
@click.option("--role", type=click.Choice(["admin", "youth_worker"]), required=True)
def org_add_member(slug: str, username: str, role: str) -> None:
    """Add an existing account to an organisation."""
    from wallet.models import Role
    from wallet.organisations import services as organisations

    settings = _settings()
    try:
        with _transaction(settings) as session:
            organisations.add_member(session, slug=slug, actor=None, username=username, role=Role(role), now=_now())
    except DomainError as error:
        raise click.ClickException(error.detail) from error
    click.echo(f"{username} is now {role} of {slug}.")


@org.command("invite")
@click.option("--slug", required=True, help="The organisation.")
@click.option("--username", required=True, help="The new account's username.")
@click.option("--role", type=click.Choice(["admin", "youth_worker"]), default="youth_worker", show_default=True)
@click.option("--name", "display_name", default=None, help="The name shown to learners (default: the username).")
def org_invite(slug: str, username: str, role: str, display_name: str | None) -> None:
    """Create an account for a new youth worker (or admin) and add it to an organisation.

    Prints a one-time password once: hand it over in person and have them change it after signing in.
    """
    from sqlalchemy import select

    from wallet.accounts import services as accounts
    from wallet.accounts.passwords import make_hasher
    from wallet.models import Account, Role
    from wallet.organisations import services as organisations

    settings = _settings()
    _upgrade(settings)
    try:
        with _transaction(settings) as session:
            organisations.get_by_slug(session, slug=slug)
            if session.scalar(select(Account).where(Account.username == accounts.normalise_username(username))):
                raise click.ClickException(
                    f"An account {username!r} already exists; add it with: "
                    f"wallet org add-member --slug {slug} --username {username} --role {role}"
                )
            _, password = accounts.create_with_one_time_password(
                session,
                username=username,
                display_name=display_name or username,
                hasher=make_hasher(settings.password_hash_profile),
                now=_now(),
            )
            organisations.add_member(session, slug=slug, actor=None, username=username, role=Role(role), now=_now())
    except DomainError as error:
        raise click.ClickException(error.detail) from error
    click.echo(f"Created {username!r} as {role} of {slug}.")
    click.echo(f"One-time password (shown only now): {password}")
    click.echo("Hand it over in person: it signs in once, and they must then choose their own password.")


def _ensure_account(session: Session, username: str, hasher: object) -> str | None:
    """Create ``username`` with a one-time password unless it exists; return the password if created."""
    from sqlalchemy import select

    from wallet.accounts import services as accounts
    from wallet.models import Account

    if session.scalar(select(Account).where(Account.username == accounts.normalise_username(username))):
        return None
    _, password = accounts.create_with_one_time_password(
        session,
        username=username,
        display_name=username,
        hasher=hasher,
        now=_now(),  # type: ignore[arg-type]
    )
    return password


@main.group()
def operator() -> None:
    """Who may create organisations from the web console (as `wallet org create` does here)."""


@operator.command("grant")
@click.option("--username", required=True)
def operator_grant(username: str) -> None:
    """Let an existing account create organisations and their first admin at /console/operator."""
    _set_operator(username, True)
    click.echo(f"{username} is now an operator.")


@operator.command("revoke")
@click.option("--username", required=True)
def operator_revoke(username: str) -> None:
    """Take the operator's web rights away again."""
    _set_operator(username, False)
    click.echo(f"{username} is no longer an operator.")


def _set_operator(username: str, value: bool) -> None:
    from wallet.organisations import services as organisations

    settings = _settings()
    _upgrade(settings)
    try:
        with _transaction(settings) as session:
            organisations.set_operator(session, username=username, is_operator=value)
    except DomainError as error:
        raise click.ClickException(error.detail) from error


@main.command()
@click.option("--once", is_flag=True, help="Run every job once and exit (cron, or to check the setup).")
def scheduler(once: bool) -> None:
    """Run the background jobs (close ended claim sessions, expire codes, clear lockouts …).

    For deployments with many web workers: set WALLET_RUN_SCHEDULER=false for `wallet serve` and run
    this once or more; a database lock keeps any job from running twice at once.
    """
    import signal
    import threading

    from wallet.db import make_engine, make_session_factory
    from wallet.jobs import build_scheduler, run_all

    settings = _settings()
    _upgrade(settings)
    session_factory = make_session_factory(make_engine(settings.resolved_database_url()))
    if once:
        for job_id, changed in run_all(session_factory, settings=settings, now=_now()).items():
            click.echo(f"{job_id}: {'skipped (running elsewhere)' if changed is None else changed}")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    jobs = build_scheduler(session_factory, settings=settings, clock=_now)
    jobs.start()
    click.echo(f"Scheduler running {len(jobs.get_jobs())} jobs; Ctrl-C to stop.")
    stop.wait()
    jobs.shutdown(wait=True)


@main.command()
@click.option("--quiet", is_flag=True, help="Print only where to look, not what was created.")
def demo(quiet: bool) -> None:
    """Seed a demo organisation, youth worker, learner and badges (idempotent)."""
    from wallet.demo import DemoMadeForAnotherAddress, seed_demo

    settings = _settings()
    _upgrade(settings)
    try:
        with _transaction(settings) as session:
            lines = seed_demo(
                session,
                settings=settings,
                now=_now(),
                progress=(lambda _text: None) if quiet else (lambda text: click.echo(f"  {text}")),
            )
    except DemoMadeForAnotherAddress as error:
        instance = settings.resolved_instance_path()
        from urllib.parse import urlsplit

        made_for = urlsplit(error.made_for)
        port = made_for.port or (443 if made_for.scheme == "https" else 80)
        raise click.ClickException(
            f"The demo data in {instance} was made for {error.made_for}, not {error.serving}: its signed badges "
            "name that address, so their images would break and their checks could not finish.\n"
            f"  Serve it where it was made:   PORT={port} scripts/serve\n"
            f"  Or start the demo afresh:     rm -r {instance}   (then run the same command again)"
        ) from error
    for line in lines:
        click.echo(line)


_IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}
_VERIFY_EXIT = {"valid": 0, "invalid": 1, "indeterminate": 2}


@main.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--offline", is_flag=True, help="Fetch nothing: checks that need the network are indeterminate.")
def verify(file: str, as_json: bool, offline: bool) -> None:
    """Verify a credential FILE (JSON, VC-JWT, baked PNG/SVG, OB 2.0).

    Exit status: 0 valid, 1 invalid, 2 could not be checked (a server was unreachable, offline, or the
    file is not a credential we read) — never 0 unless everything was established.
    """
    import json as jsonlib
    from pathlib import Path

    from wallet.fetching import build_fetcher
    from wallet.holding.checking import check_credential

    data = click.get_binary_stream("stdin").read() if file == "-" else Path(file).read_bytes()
    settings = _settings()
    try:
        if offline:
            checked = check_credential(
                data, content_type=_IMAGE_TYPES.get(Path(file).suffix.lower()), fetcher=None, now=_now()
            )
        else:
            with _transaction(settings) as session:
                fetcher = build_fetcher(settings, session=lambda: session)
                checked = check_credential(
                    data, content_type=_IMAGE_TYPES.get(Path(file).suffix.lower()), fetcher=fetcher, now=_now()
                )
    except DomainError as error:
        if as_json:
            click.echo(jsonlib.dumps({"outcome": "indeterminate", "error": error.code, "detail": error.detail}))
        else:
            click.echo(f"Could not check {file}: {error.detail}", err=True)
        sys.exit(2)
    report = checked.report
    if as_json:
        summary = {
            key: value.isoformat() if isinstance(value, dt.datetime) else value
            for key, value in vars(checked.summary).items()
        }
        click.echo(jsonlib.dumps({**report, "credential": {**summary, "expired": checked.expired}}, indent=2))
    else:
        summary = checked.summary
        click.echo(f"{summary.achievement_name or 'Credential'} — issued by {summary.issuer_name or summary.issuer_id}")
        for check in report["checks"]:
            reason = f" [{check['reason']}]" if check.get("reason") else ""
            click.echo(f"  {check['name']:<11} {check['outcome']:<14} {check['detail']}{reason}")
        for warning in report.get("warnings", []):
            click.echo(f"  warning     {warning['check']:<14} {warning['detail']} [{warning['reason']}]")
        click.echo(f"Result: {report['outcome'].upper()}")
        for hint in _verify_hints(report):
            click.echo(hint)
    sys.exit(_VERIFY_EXIT.get(report["outcome"], 2))


def _verify_hints(report: dict[str, object]) -> list[str]:
    """Why a check could not be done, when the reason is one a person can act on."""
    import re

    details = " ".join(str(check.get("detail", "")) for check in report.get("checks", []))  # type: ignore[attr-defined]
    found = re.search(r"refusing plain-http URL (\S+?):? only https is allowed", details)
    if found is None:
        return []
    from urllib.parse import urlsplit

    origin = "{0.scheme}://{0.netloc}".format(urlsplit(found.group(1)))
    return [
        f"Why: the credential names plain-http URLs ({origin}); other servers are only fetched over https, "
        "so the issuer's key or status could not be fetched.",
        f"If it was issued by this service (the demo, for instance), run with WALLET_BASE_URL={origin} "
        "so its own URLs are checked in-process.",
    ]


@main.group()
def issuer() -> None:
    """Operator tools for issuers' signing keys."""


@issuer.command("rotate-key")
@click.option("--slug", required=True, help="The organisation whose signing key to replace.")
def issuer_rotate_key(slug: str) -> None:
    """Retire the organisation's signing key and make a new one (old badges keep verifying)."""
    from wallet.issuing.keys import rotate_key

    settings = _settings()
    secrets_ = _secrets(settings)
    try:
        with _transaction(settings) as session:
            key = rotate_key(session, slug=slug, actor=None, kek=secrets_.key_encryption_key, now=_now())
            method = key.verification_method
    except DomainError as error:
        raise click.ClickException(error.detail) from error
    click.echo(f"{slug} now signs with {method}")


@issuer.command("reissue")
@click.option("--slug", required=True, help="The organisation whose credentials to re-issue.")
@click.option("--username", default=None, help="Only this learner's credentials.")
def issuer_reissue(slug: str, username: str | None) -> None:
    """Re-issue credentials that name an old issuer id under the organisation's current DID.

    The new credential replaces the learner's held copy (share links follow it); the old one is not revoked.
    """
    from wallet.issuing.reissue import reissue

    settings = _settings()
    secrets_ = _secrets(settings)
    try:
        with _transaction(settings) as session:
            count = len(
                reissue(
                    session,
                    slug=slug,
                    username=username,
                    kek=secrets_.key_encryption_key,
                    base_url=settings.base_url,
                    now=_now(),
                )
            )
    except DomainError as error:
        raise click.ClickException(error.detail) from error
    click.echo(f"Re-issued {count} credential(s) of {slug}.")


@main.group("secrets")
def secrets_group() -> None:
    """The secrets every node shares (docs/operations.md: generate, rotate)."""


@secrets_group.command("generate")
def secrets_generate() -> None:
    """Print a fresh WALLET_SECRET_KEY and WALLET_KEY_ENCRYPTION_KEY as environment lines.

    Give the same two lines to every node (an env file, your orchestrator's secret store); keep a copy
    with the database backups: without the KEK the issuers' signing keys cannot be opened.
    """
    from wallet.instance_secrets import generate_key

    click.echo(f"WALLET_SECRET_KEY={generate_key()}")
    click.echo(f"WALLET_KEY_ENCRYPTION_KEY={generate_key()}")


@secrets_group.command("rotate-kek")
def secrets_rotate_kek() -> None:
    """Re-seal every issuer signing key under WALLET_KEY_ENCRYPTION_KEY.

    Run once every node has the new key as WALLET_KEY_ENCRYPTION_KEY and the old one in
    WALLET_KEY_ENCRYPTION_KEY_PREVIOUS; afterwards drop the previous key. Safe to run again.
    """
    from wallet.issuing.keys import KeyDecryptionError, reseal_all

    settings = _settings()
    secrets_ = _secrets(settings)
    try:
        with _transaction(settings) as session:
            resealed, already = reseal_all(session, kek=secrets_.key_encryption_key)
    except KeyDecryptionError as error:
        raise click.ClickException(
            "A signing key opens with neither WALLET_KEY_ENCRYPTION_KEY nor WALLET_KEY_ENCRYPTION_KEY_PREVIOUS; "
            "nothing was changed."
        ) from error
    click.echo(f"Re-sealed {resealed} signing key(s) under the current key-encryption key ({already} already were).")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
