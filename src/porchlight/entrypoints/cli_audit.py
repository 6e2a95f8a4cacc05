"""`porchlight audit ...` and `porchlight worker`: sequence, verify and prove the audit log.

Exit codes: 0 all good, 1 the log failed verification (or a proof failed), 2 the command
could not run (no key, unreachable server, bad arguments).
"""

from __future__ import annotations

import base64
import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from porchlight import bootstrap
from porchlight.audit.domain import (
    CheckpointError,
    CheckpointVerifier,
    CosignatureVerifier,
    verify_inclusion,
)
from porchlight.audit.services import openings as audit_openings
from porchlight.audit.services import queries as audit_queries
from porchlight.audit.services.log import SequenceResult
from porchlight.audit.services.ports import AuditKeyError, AuditQueueBusy, AuditSourceError
from porchlight.audit.services.verify import Progress as ProgressFn
from porchlight.audit.services.verify import VerifyReport, WitnessPolicy, verify_log
from porchlight.bootstrap import Container
from porchlight.config import Settings
from porchlight.custody.domain.footage_check import check_footage
from porchlight.entrypoints.audit_worker import worker_for
from porchlight.kernel.domain.errors import DomainError

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)
PHASES = {"checkpoints": "checkpoint chain", "leaves": "leaves", "events": "events",
          "locating": "locating the damage"}


def _container() -> Container:
    return bootstrap.build(Settings())


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]{escape(message)}[/]")
    return typer.Exit(code)


def _describe(result: SequenceResult) -> str:
    signed = f"; signed a checkpoint for size {result.checkpoint.size}" if result.checkpoint else ""
    return f"sequenced {result.sequenced} events; the log has {result.size} entries{signed}"


@audit_app.command("sequence")
def sequence() -> None:
    """Turn queued audit events into log entries now (one batch, even when this minute
    already has one; its entries still carry the minute only), signing if due."""
    container = _container()
    try:
        console.print(_describe(container.audit_sequencer().run_pass(force=True)))
    except AuditQueueBusy as exc:
        raise _fail(f"{exc}; try again in a moment") from exc
    except (AuditKeyError, CheckpointError) as exc:
        raise _fail(str(exc), 1) from exc
    finally:
        container.close()


def worker(once: bool = typer.Option(False, "--once", help="Run one pass and exit."),
           jobs: bool = typer.Option(True, help="Also run jobs (PORCHLIGHT_JOBS__WORKERS "
                                     "threads); --no-jobs for a sequencer only.")) -> None:
    """Run the jobs and the audit log sequencer until stopped (Ctrl-C or SIGTERM): any number
    of these may run, on any number of machines sharing the database (and Redis)."""
    container = _container()
    runner = worker_for(container, jobs=jobs)  # logs each pass that changed something
    job_workers = None
    try:
        if once:
            result = runner.run_once(force=True)  # an operator's (or cron's) one pass
            if result is None:
                raise _fail("the sequencing pass failed; see the log above", 1)
            console.print(_describe(result))
            return
        job_workers = container.start_job_workers() if jobs else None
        signal.signal(signal.SIGTERM, lambda *_: runner.stop())
        console.print((f"{container.settings.jobs.workers} job threads; the audit log is "
                       "sequenced by jobs" if job_workers else
                       f"sequencing every {runner.interval:g}s") + "; Ctrl-C stops")
        try:
            runner.run_forever()
        except KeyboardInterrupt:
            runner.stop()
    finally:
        if job_workers is not None:
            job_workers.stop()
        container.close()


@contextmanager
def _progress() -> Iterator[ProgressFn]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def _read_notes(paths: list[Path]) -> list[str]:
    try:
        return [path.read_text(encoding="utf-8") for path in paths]
    except OSError as exc:
        raise _fail(f"cannot read a trusted checkpoint: {exc}") from exc


@audit_app.command("verify")
def verify(
    url: str | None = typer.Option(None, help="Verify another deployment over its public API."),
    key: str | None = typer.Option(None, help="Trusted verifier key (needed with --url)."),
    origin: str | None = typer.Option(None, help="Require this checkpoint origin line."),
    events: bool = typer.Option(True, help="Also check every leaf against its event (local)."),
    trusted_checkpoint: list[Path] = typer.Option(
        [], help="A signed checkpoint saved earlier: the log must still extend it."),
    save_checkpoint: Path | None = typer.Option(
        None, help="After a clean verification, save the latest checkpoint here."),
    witness: list[str] = typer.Option(
        [], help="NAME=KEY of a witness whose cosignature counts (repeatable)."),
    min_witnesses: int | None = typer.Option(
        None, min=1, help="Cosignatures required from the --witness list (default: all)."),
    state_dir: Path | None = typer.Option(
        None, help="Where --url remembers the last verified checkpoint per log "
        "(default: $PORCHLIGHT_VERIFY_STATE_DIR or ~/.local/share/porchlight/audit-verify)."),
    state: bool = typer.Option(True, help="With --url, trust and update the remembered "
                               "checkpoint (--no-state: neither)."),
) -> None:
    """Re-derive the whole log, check every signature and checkpoint, name the first bad index."""
    notes = _read_notes(trusted_checkpoint)
    policy = _witness_policy(witness, min_witnesses)
    memory = None
    if url and key and state:
        _verifier(key, origin)
        memory = bootstrap.verified_checkpoint_file(state_dir, key)
        remembered = memory.load()
        notes += [remembered] if remembered else []
    report = _verify_remote(url, key, origin, notes, policy) if url else _verify_local(
        key, origin, events, notes, policy)
    _print_report(report)
    if not report.ok:
        raise typer.Exit(1)
    if memory is not None and report.latest_note is not None and memory.save(report.latest_note):
        console.print(f"remembered the verified checkpoint in {memory.path}")
    if save_checkpoint is not None and report.latest_note is not None:
        save_checkpoint.write_text(report.latest_note, encoding="utf-8")
        console.print(f"saved the latest checkpoint to {save_checkpoint}")


def _witness_policy(witnesses: list[str], minimum: int | None) -> WitnessPolicy | None:
    if not witnesses:
        if minimum is not None:
            raise _fail("--min-witnesses needs --witness NAME=KEY")
        return None
    verifiers = []
    for entry in witnesses:
        name, _, key = entry.partition("=") if "=" in entry else ("", "", entry)
        try:
            verifier = CosignatureVerifier(key)
        except CheckpointError as exc:
            raise _fail(f"bad witness key {entry!r}: {exc}") from exc
        if name and name != verifier.name:
            raise _fail(f"witness {name!r} has a key named {verifier.name!r}")
        verifiers.append(verifier)
    minimum = len(verifiers) if minimum is None else minimum
    if minimum > len(verifiers):
        raise _fail(f"--min-witnesses {minimum} is more than the {len(verifiers)} witnesses given")
    return WitnessPolicy(verifiers, minimum)


def _verifier(key: str, origin: str | None) -> CheckpointVerifier:
    try:
        return CheckpointVerifier(key, origin=origin)
    except CheckpointError as exc:
        raise _fail(f"bad verifier key: {exc}") from exc


def _verify_local(key: str | None, origin: str | None, events: bool, notes: list[str],
                  policy: WitnessPolicy | None = None) -> VerifyReport:
    container = _container()
    try:
        key = key or container.audit_verifier_key()
        verifier = _verifier(key, origin or container.settings.origin)
        with container.audit_source() as source, _progress() as progress:
            return verify_log(source, verifier, events=source if events else None,
                              trusted=notes, progress=progress, witnesses=policy)
    except (AuditKeyError, CheckpointError) as exc:
        raise _fail(f"{exc} (pass --key)" if isinstance(exc, AuditKeyError) else str(exc)) from exc
    finally:
        container.close()


def _verify_remote(url: str, key: str | None, origin: str | None, notes: list[str],
                   policy: WitnessPolicy | None = None) -> VerifyReport:
    if not key:
        raise _fail("--url needs --key: the verifier key you trust, obtained separately")
    verifier = _verifier(key, origin)
    source = bootstrap.remote_audit_source(url)
    try:
        with _progress() as progress:
            return verify_log(source, verifier, trusted=notes, progress=progress,
                              witnesses=policy)
    except (AuditSourceError, CheckpointError) as exc:
        raise _fail(str(exc)) from exc
    finally:
        source.close()


def _print_report(report: VerifyReport) -> None:
    unsigned = report.size - report.signed_size
    console.print(f"{report.size} leaves, {report.checkpoints} signed checkpoints "
                  f"(the latest covers {report.signed_size} leaves"
                  f"{f'; {unsigned} newer leaves await the next' if unsigned > 0 else ''})")
    if report.witnessed_size is not None:
        console.print(f"the latest checkpoint cosigned by enough witnesses covers "
                      f"{report.witnessed_size} leaves")
    if report.ok:
        console.print("[green]OK[/]: every signature verifies, every checkpoint extends the "
                      "one before, and the stored leaves reproduce every signed root")
        return
    first = report.first_bad_index
    console.print(f"[red]FAILED[/]: first bad index {first}" if first is not None
                  else "[red]FAILED[/]")
    for problem in report.problems:
        where = f"leaf {problem.index}" if problem.index is not None else "log"
        console.print(escape(f"  - [{problem.code}] {where}: {problem.message}"))


@audit_app.command("witness-collect")
def witness_collect() -> None:
    """Ask every configured witness (PORCHLIGHT_AUDIT__WITNESSES) to cosign the newest
    checkpoint, with a consistency proof from the last one it cosigned; store the answers."""
    container = _container()
    try:
        results = container.collect_cosignatures()
    except CheckpointError as exc:
        raise _fail(str(exc)) from exc
    finally:
        container.close()
    if not container.settings.audit.witnesses:
        raise _fail("no witnesses configured (PORCHLIGHT_AUDIT__WITNESSES)")
    for result in results:
        mark = "[green]ok[/]" if result.ok else "[red]refused[/]"
        console.print(f"{mark} {escape(result.witness)} at size {result.size}: "
                      f"{escape(result.message)}")
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@audit_app.command("prove")
def prove(
    index: int = typer.Argument(..., help="Log index of the entry."),
    size: int | None = typer.Option(None, help="Tree size (default: the latest checkpoint)."),
) -> None:
    """Print the inclusion proof of one entry against the latest checkpoint, as JSON."""
    container = _container()
    try:
        console.print_json(json.dumps(_proof(container, index, size)))
    except DomainError as exc:
        raise _fail(exc.message) from exc
    except (audit_queries.AuditLogDamaged, ValueError) as exc:
        raise _fail(str(exc), 1) from exc
    finally:
        container.close()


def _proof(container: Container, index: int, size: int | None) -> dict[str, Any]:
    store = container.audit_store()
    checkpoint, _ = audit_queries.log_state(store)
    if checkpoint is None:
        raise DomainError("the audit log has no signed checkpoint yet")
    proof = audit_queries.inclusion(store, index, size or checkpoint.size)
    if proof.size == checkpoint.size:
        verify_inclusion(proof.leaf_hash, index, proof.size, proof.proof, checkpoint.root)
    [(_, event_id, data, _)] = audit_queries.entries(store, index, index + 1).entries
    b64 = lambda value: base64.b64encode(value).decode("ascii")  # noqa: E731
    return {
        "index": index, "size": proof.size, "event_id": event_id,
        "entry": audit_queries.parse_leaf(data), "leaf_hash": b64(proof.leaf_hash),
        "root": b64(proof.root), "proof": [b64(h) for h in proof.proof],
        "checkpoint": checkpoint.note if proof.size == checkpoint.size else None,
    }


@audit_app.command("open")
def open_export(
    export: Path = typer.Argument(..., exists=True, dir_okay=False,
                                  help="An openings export (your account page's JSON)."),
    key: str = typer.Option(..., help="The log's public key (vkey), from somewhere you trust."),
) -> None:
    """Check an openings export offline: the checkpoint's signature, each entry's proof
    of inclusion, and that each secret opens its commitment."""
    try:
        document = json.loads(export.read_text(encoding="utf-8"))
        checks = audit_openings.check(document, key)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(str(exc)) from exc
    bad = [c for c in checks if not c.ok]
    proven = [c for c in checks if c.proven]
    pending = [c for c in checks if c.ok and not c.proven]
    for c in proven:
        console.print(f"entry {c.index}: {escape(c.kind)} ({escape(c.slot)}) opens and is in "
                      "the signed log")
    for c in pending:
        console.print(f"entry {c.index}: {escape(c.kind)} opens, but is newer than the "
                      "export's checkpoint: not proven yet (download again later)")
    for c in bad:
        console.print(f"[red]entry {c.index} ({escape(c.slot)}): {escape(c.problem or '')}[/]")
    console.print(f"{len(proven)} of {len(checks)} entries open and are in the signed log; "
                  f"{len(pending)} not proven yet; {len(bad)} failed")
    if bad or (checks and not proven):
        raise typer.Exit(1)


@audit_app.command("check-footage")
def check_footage_export(
    export: Path = typer.Argument(..., exists=True, dir_okay=False,
                                  help="Your \"Where is my footage\" download (JSON)."),
    key: str = typer.Option(..., help="The log's public key (vkey), from somewhere you trust."),
) -> None:
    """Check a footage download offline: the checkpoint's signature, and that each
    custody event's leaf names its copy and is included in the signed log."""
    try:
        checks = check_footage(json.loads(export.read_text(encoding="utf-8")), key)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(str(exc)) from exc
    for c in checks:
        colour = {"proven": "", "pending": "[yellow]", "failed": "[red]"}[c.status]
        console.print(f"{colour}{escape(c.evidence_id[:8])} {escape(c.kind)} at {escape(c.at)}: "
                      f"{c.status}{' (entry ' + str(c.index) + ')' if c.index is not None else ''}"
                      f"{' - ' + escape(c.detail) if c.detail else ''}{'[/]' if colour else ''}")
    counts = {state: sum(c.status == state for c in checks)
              for state in ("proven", "pending", "failed")}
    console.print(f"{counts['proven']} of {len(checks)} custody events proven; "
                  f"{counts['pending']} pending; {counts['failed']} failed")
    if counts["failed"]:
        raise typer.Exit(1)


@audit_app.command("openings")
def export_openings(
    account: str | None = typer.Option(None, help="An account's id: the commitments it may open."),
    agency: str | None = typer.Option(None, help="An agency's id: its staff's commitments."),
    output: Path = typer.Option(Path("-"), "-o", "--output", help="File to write (- for stdout)."),
) -> None:
    """Oversight, on the server: export the secrets that open commitments (an account's,
    an agency's staff, or with neither option every one), as `audit open` checks them."""
    try:
        account_id = UUID(account) if account else None
        agency_id = UUID(agency) if agency else None
    except ValueError as exc:
        raise _fail("--account and --agency take an id") from exc
    container = _container()
    try:
        text = json.dumps(container.audit_openings(account_id=account_id, agency_id=agency_id),
                          indent=1)
    finally:
        container.close()
    if str(output) == "-":
        print(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        output.chmod(0o600)


@audit_app.command("forget")
def forget(account: str = typer.Argument(..., help="The deleted account's id.")) -> None:
    """Delete the secrets of every commitment an account could open (when an account is
    erased): its entries stay in the log, and can never be opened again."""
    try:
        account_id = UUID(account)
    except ValueError as exc:
        raise _fail("give an account id") from exc
    container = _container()
    try:
        console.print(f"deleted {container.audit_sequencer().forget(account_id)} secrets")
    finally:
        container.close()
