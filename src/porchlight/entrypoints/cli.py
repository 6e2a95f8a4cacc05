"""The `porchlight` command line (Typer)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from porchlight import bootstrap
from porchlight.bootstrap import Container
from porchlight.config import Settings
from porchlight.entrypoints import (
    cli_audit,
    cli_evidence,
    cli_jobs,
    cli_redact,
    cli_retention,
    witness,
)
from porchlight.neighbourhood.services import demo
from porchlight.neighbourhood.services import summary as neighbourhood

app = typer.Typer(help="Porchlight: footage sharing that keeps residents in control.",
                  no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo neighbourhood (development only).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(cli_retention.app, name="retention")
app.add_typer(cli_audit.audit_app, name="audit")
app.add_typer(cli_jobs.app, name="jobs")
app.add_typer(cli_evidence.app, name="evidence")
app.command("worker")(cli_audit.worker)
app.command("witness")(witness.witness)
app.command("redact")(cli_redact.redact)
console = Console()


def _container() -> Container:
    return bootstrap.build(Settings())


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
    workers: int = typer.Option(
        1, min=1, max=64, help="Web processes sharing the port (uvicorn's own supervisor). "
        "Start more than one with PostgreSQL and PORCHLIGHT_JOBS__IN_PROCESS=false, "
        "`porchlight worker` processes running the jobs."),
) -> None:
    """Serve the web app and the JSON API with uvicorn."""
    import uvicorn

    if reload and workers > 1:
        console.print("[red]--reload runs one process; leave out --workers[/]")
        raise typer.Exit(2)
    _follow_port_in_development(host, port)
    uvicorn.run(
        "porchlight.entrypoints.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        workers=workers,
        access_log=False,
        proxy_headers=True,
    )


def _follow_port_in_development(host: str, port: int) -> None:
    """In development, e-mailed links and the /audit page name the server being started,
    unless PORCHLIGHT_BASE_URL says otherwise. Production always sets its own."""
    if "PORCHLIGHT_BASE_URL" in os.environ or not Settings().is_development:
        return
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - a name
    if ":" in shown:
        shown = f"[{shown}]"
    os.environ["PORCHLIGHT_BASE_URL"] = f"http://{shown}:{port}"


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the database to the newest schema (or to REVISION)."""
    container = _container()
    container.migrate()
    console.print(f"database at revision [bold]{revision}[/]")
    container.close()


@db_app.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree (alembic check)."""
    container = _container()
    container.check_migrations()
    console.print("models and migrations agree")
    container.close()


def _logins_file(settings: Settings) -> Path:
    return settings.data_dir / "demo-logins.json"


@demo_app.command("seed")
def demo_seed(
    if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing when data exists."),
    clips: bool = typer.Option(True, help="Record demo clips for some cameras (slower)."),
) -> None:
    """Create the demo neighbourhood: homes on a street grid, cameras, agencies, demo logins."""
    container = _container()
    settings = container.settings
    if settings.env == "production":
        console.print("[red]refusing to seed demo data in production[/]")
        raise typer.Exit(2)
    if neighbourhood.summary(container.uow()).residents > 0:
        if if_empty:
            console.print("database already has data; not seeding")
            return
        console.print("[red]the database already has data; seed an empty database[/]")
        raise typer.Exit(1)
    result = _seed_with_progress(container)
    _save_logins(settings, result.logins)
    made = _seed_clips_with_progress(container) if clips else 0
    console.print(f"seeded {result.homes} homes with {result.cameras} cameras and {made} clips")
    console.print("`porchlight demo logins` prints the demo logins (development only)")


def _seed_with_progress(container: Container) -> demo.DemoResult:
    columns = (TextColumn("seeding homes"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("homes", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return demo.seed(container.uow(), container.security, tick)


def _seed_clips_with_progress(container: Container) -> int:
    columns = (TextColumn("recording demo clips"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    workdir = container.settings.data_dir / "tmp" / "demo"
    bootstrap.private_dirs(workdir)
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("clips", total=None)
        return demo.seed_clips(
            container.uow(), container.footage, container.make_demo_clip, workdir,
            lambda done, total: progress.update(task, completed=done, total=total),
        )


def _save_logins(settings: Settings, logins: list[demo.DemoLogin]) -> None:
    path = _logins_file(settings)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump([asdict(login) for login in logins], handle, indent=2)


@demo_app.command("logins")
def demo_logins() -> None:
    """Print the demo logins (development only)."""
    _print_logins(Settings())


@demo_app.command("totp")
def demo_totp(email: str) -> None:
    """Print the current authenticator code of a demo login (development only)."""
    import pyotp

    settings = Settings()
    path = _logins_file(settings)
    if not settings.is_development or not path.exists():
        console.print("demo codes are shown only in development, after `porchlight demo seed`")
        raise typer.Exit(1)
    for login in json.loads(path.read_text()):
        if login["email"] == email.strip().lower() and login.get("totp_secret"):
            console.print(pyotp.TOTP(login["totp_secret"]).now())
            return
    console.print(f"no demo login with an authenticator for {email}")
    raise typer.Exit(1)


def _print_logins(settings: Settings) -> None:
    if not settings.is_development:
        console.print("demo logins are shown only when PORCHLIGHT_ENV=development")
        return
    path = _logins_file(settings)
    if not path.exists():
        console.print("no demo logins: run `porchlight demo seed` on an empty database")
        return
    logins = json.loads(path.read_text())
    if console.is_terminal:
        table = Table(title="Demo logins (development only)")
        for column in ("role", "email", "password", "TOTP secret"):
            table.add_column(column, no_wrap=column != "role")
        for login in logins:
            table.add_row(login["role"], login["email"], login["password"],
                          login.get("totp_secret") or "")
        console.print(table)
    else:  # a log or a pipe: one login per block, nothing wrapped or cut at 80 columns
        typer.echo("Demo logins (development only)")
        for login in logins:
            typer.echo(f"\n  {login['role']}\n    e-mail:   {login['email']}\n"
                       f"    password: {login['password']}")
            if login.get("totp_secret"):
                typer.echo(f"    TOTP secret: {login['totp_secret']}")
        typer.echo("")
    console.print("Staff and the admin sign in with a second step: `porchlight demo totp EMAIL` "
                  "prints the current code (or add the TOTP secret to an authenticator app).")


def main() -> None:
    app()
