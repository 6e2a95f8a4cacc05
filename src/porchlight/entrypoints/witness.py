"""`porchlight witness`: a C2SP tlog-witness for Porchlight logs (or any C2SP checkpoint log).

``POST /add-checkpoint`` takes ``old <size>``, consistency proof lines, a blank line and
the signed checkpoint, and answers 200 with the cosignature line, 409 (``text/x.tlog.size``)
with the witness's size when ``old`` is stale, 409 for a fork, 422 for a bad proof, 404 for
an unknown log, 403 for a checkpoint its key did not sign, 400 for a malformed request.
"""

from __future__ import annotations

from pathlib import Path

import typer
from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from porchlight import bootstrap
from porchlight.audit.domain import MAX_REQUEST_BYTES, CheckpointError, WitnessRefusal
from porchlight.audit.services.ports import AuditKeyError
from porchlight.audit.services.witness import Witness


def create_witness_app(witness: Witness) -> FastAPI:
    app = FastAPI(title="Porchlight witness", openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/add-checkpoint")
    async def add_checkpoint(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REQUEST_BYTES:
                return _text(413, "request body too large\n")
        try:
            line = await run_in_threadpool(witness.add_checkpoint, body)
        except WitnessRefusal as exc:
            if exc.known_size is not None:
                return _text(409, f"{exc.known_size}\n", "text/x.tlog.size")
            return _text(exc.status, exc.message + "\n")
        return _text(200, line)

    return app


def _text(status: int, body: str, kind: str = "text/plain; charset=utf-8") -> Response:
    return Response(body.encode("utf-8"), status_code=status, headers={"Content-Type": kind})


def witness(
    name: str = typer.Option(..., envvar="PORCHLIGHT_WITNESS_NAME",
                             help="The witness's name, e.g. witness.example.org/w1."),
    key_file: Path = typer.Option(Path("var/witness/witness.key"),
                                  envvar="PORCHLIGHT_WITNESS_KEY_FILE",
                                  help="Its Ed25519 key, created 0600 on first use."),
    state: Path = typer.Option(Path("var/witness/state.db"), envvar="PORCHLIGHT_WITNESS_STATE",
                               help="SQLite file with the last checkpoint cosigned per log."),
    log: list[str] = typer.Option([], help="A witnessed log's verifier key, or ORIGIN=KEY "
                                  "(repeatable)."),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8100),
    print_key: bool = typer.Option(False, "--print-key",
                                   help="Print the witness's verifier key and exit."),
) -> None:
    """Run a witness: cosign checkpoints of the given logs that extend what it cosigned."""
    try:
        if print_key:
            typer.echo(bootstrap.witness_verifier_key(name, key_file))
            return
        if not log:
            raise CheckpointError("give at least one --log to witness")
        service = bootstrap.build_witness(name, key_file, state, log)
    except (AuditKeyError, CheckpointError) as exc:
        typer.echo(f"witness: {exc}", err=True)
        raise typer.Exit(2) from exc
    import uvicorn

    typer.echo(f"witness {service.signer.verifier_key} on http://{host}:{port}/add-checkpoint")
    uvicorn.run(create_witness_app(service), host=host, port=port)
