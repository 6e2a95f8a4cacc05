"""`porchlight evidence verify`: check an evidence export offline.

Exit codes: 0 the export verifies (custody events newer than its checkpoint are listed as
pending), 1 it does not (a changed byte, a bad signature or proof, a damaged archive), 2
the check could not run (no such file, a malformed key, the log's API unreachable).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from porchlight import bootstrap
from porchlight.audit.domain import CheckpointError
from porchlight.audit.services.ports import AuditSourceError
from porchlight.custody.domain.export_check import ExportReport, Witnesses
from porchlight.custody.services.export_check import verify_export
from porchlight.entrypoints.cli_audit import _witness_policy

app = typer.Typer(help="Evidence exports.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{escape(message)}[/]")
    return typer.Exit(2)


@app.command("verify")
def verify(
    export: Path = typer.Argument(..., help="The export's ZIP."),
    key: str = typer.Option(..., help="The audit log's public key (vkey), from somewhere "
                                      "you trust; it also signs the manifest."),
    witness: list[str] = typer.Option(
        [], help="NAME=KEY of a witness whose cosignature counts (repeatable)."),
    min_witnesses: int | None = typer.Option(
        None, min=1, help="Cosignatures required from the --witness list (default: all)."),
    url: str | None = typer.Option(
        None, help="The deployment's address: fetch proofs for pending custody events."),
) -> None:
    """Check an export with only the log's key: the manifest's signature, the video's
    SHA-256, the checkpoint's signature and cosignatures, and each custody event's proof."""
    if not export.is_file():
        raise _fail(f"no such file: {export}")
    policy = _witness_policy(witness, min_witnesses)
    witnesses = Witnesses(policy.witnesses, policy.minimum) if policy else None
    log = bootstrap.remote_audit_source(url) if url else None
    try:
        report = verify_export(export, key, witnesses=witnesses, log=log)
    except CheckpointError as exc:
        raise _fail(f"bad key: {exc}") from exc
    except (AuditSourceError, LookupError, ValueError, KeyError) as exc:
        raise _fail(f"the log could not answer: {exc}") from exc
    finally:
        if log is not None:
            log.close()
    _print(report)
    if not report.ok:
        raise typer.Exit(1)


def _print(report: ExportReport) -> None:
    for check in report.checks:
        mark = "[green]ok[/]" if check.ok else "[red]FAILED[/]"
        console.print(f"{mark}  {check.name}: {escape(check.detail)}")
    marks = {"proven": "[green]proven[/]", "pending": "[yellow]pending[/]",
             "failed": "[red]FAILED[/]"}
    for c in report.custody:
        where = f" leaf {c.index}" if c.index is not None else ""
        console.print(f"  {marks[c.status]}  {c.kind} at {escape(c.at)} ({escape(c.role)})"
                      f"{where}: {escape(c.detail)}")
    proven = sum(c.status == "proven" for c in report.custody)
    pending = len(report.pending)
    verdict = "[green]the export verifies[/]" if report.ok else "[red]the export FAILED[/]"
    console.print(f"{verdict}: {proven} of {len(report.custody)} custody events proven in the "
                  f"signed log" + (f", {pending} pending (recorded after its checkpoint; "
                                   "--url fetches their proofs)" if pending else ""))
