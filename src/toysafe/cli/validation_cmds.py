"""Direct validation on the command line (contract 8.3): ``toysafe program validations ...``,
``toysafe program tic-key new`` and ``toysafe program extend``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from toysafe.cli.common import EXIT_NOT_OK, fail, or_fail, parse_as_of
from toysafe.cli.program_cmds import program_app

program = program_app
validations_app = typer.Typer(
    name="validations",
    help="TIC direct validations (toysafe/validation@1): sign, file.",
    no_args_is_help=True,
)
tic_key_app = typer.Typer(
    name="tic-key", help="Signing keys for TICs (Ed25519).", no_args_is_help=True
)
program.add_typer(validations_app, name="validations")
program.add_typer(tic_key_app, name="tic-key")

Workspace = Annotated[
    Path | None, typer.Option("--workspace", help="Workspace folder (default: TOYSAFE_HOME or .)")
]
AsOf = Annotated[str | None, typer.Option("--as-of", help="As of DATE (YYYY-MM-DD).")]


class Fmt(StrEnum):
    table = "table"
    json = "json"


@validations_app.command("sign")
def sign_cmd(
    file: Annotated[Path, typer.Argument(help="The unsigned toysafe/validation@1 JSON.")],
    key: Annotated[Path, typer.Option("--key", help="The TIC's Ed25519 private key (PEM).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write here (default: standard output).")
    ] = None,
    key_id: Annotated[
        str | None, typer.Option("--key-id", help="signature.key_id (default: the tic).")
    ] = None,
) -> None:
    """Sign a validation as its TIC: Ed25519 over the RFC 8785 form without `signature`."""
    from toysafe.io.validations import read_private_key, sign_file

    private = or_fail(read_private_key, key)
    data = or_fail(sign_file, file, private, key_id)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        out.write_bytes(data)
    except OSError as e:
        fail(f"--out: cannot write {out}: {e.strerror}")
    typer.echo(f"signed {file} -> {out}", err=True)


@tic_key_app.command("new")
def tic_key_new(
    out: Annotated[Path, typer.Option("--out", help="Where to write the private key (PEM).")],
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """Make a TIC keypair: writes the private key (mode 0600, never overwriting) and prints the
    policy's `public_key` string (`ed25519:` + base64 of the raw 32-byte key)."""
    from toysafe.io.validations import new_keypair

    public = or_fail(new_keypair, out)
    if fmt is Fmt.json:
        typer.echo(json.dumps({"private_key": str(out), "public_key": public}))
    else:
        typer.echo(public)
        typer.echo(f"private key written to {out} (keep it secret)", err=True)


def _validations(workspace: Path | None) -> Any:
    from toysafe.io.errors import InputError
    from toysafe.store.db import open_store
    from toysafe.store.program.validations import Validations
    from toysafe.store.workspace import actor

    try:
        return Validations(open_store(workspace), actor())
    except InputError as e:
        fail(str(e))


@validations_app.command("add")
def add_cmd(
    file: Annotated[Path, typer.Argument(help="The signed toysafe/validation@1 JSON a TIC sent.")],
    workspace: Workspace = None,
    as_of: AsOf = None,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """File a TIC's validation (the marketplace filing what a TIC sent): exit 0 when filed
    (findings included), 1 when refused (nothing stored), 2 on bad input."""
    from toysafe.io.errors import InputError
    from toysafe.io.validations import read_raw

    when = parse_as_of(as_of)
    raw = or_fail(read_raw, file)
    vals = _validations(workspace)
    try:
        filing = vals.add(raw, str(file), when)
    except InputError as e:
        fail(str(e))
    out = filing.to_dict()
    if fmt is Fmt.json:
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        _print_filing(out)
    if filing.refused:
        raise typer.Exit(EXIT_NOT_OK)


def _print_filing(out: dict[str, Any]) -> None:
    head = f"{out['trf']} revision {out['revision']} from {out['tic']}"
    if not out["accepted"]:
        typer.echo(f"refused: {head}: {out['refusal']['message']}")
        return
    if out["unchanged"]:
        typer.echo(f"unchanged: {head} is already on file")
        return
    places = ", ".join(f"{x['listing_id']} ({x['placement']})" for x in out["listings"])
    verdict = "counts as proof" if out["counts"] else f"{len(out['findings'])} finding(s)"
    typer.echo(f"filed: {head} for {places}: {verdict}")
    for f in out["findings"]:
        typer.echo(f"  - [{f['code']}] {f['message']}")
        typer.echo(f"    next: {f['next_step']}")
    for r in out["requests"]:
        if r.get("request") and r.get("state"):
            typer.echo(f"  {r['request']} ({r['listing_id']}): {r['state']}")
        elif r.get("request"):
            typer.echo(f"  {r['request']} ({r['listing_id']}): unchanged ({r['note']})")
        else:
            typer.echo(f"  {r['listing_id']}: no open request; the validation stays on file")


@program.command("extend")
def extend_cmd(
    request: Annotated[str, typer.Argument(help="The request, e.g. REQ-000007.")],
    tic: Annotated[str, typer.Option("--tic", help="The TIC granting it (handling the request).")],
    workspace: Workspace = None,
    as_of: AsOf = None,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """P5: the one TIC extension of a request (tic_extension_days), by the TIC handling it."""
    from toysafe.io.errors import InputError
    from toysafe.store.program.validations import ValidationRefused

    when = parse_as_of(as_of)
    vals = _validations(workspace)
    try:
        out = vals.extend(request, tic, when)
    except InputError as e:
        fail(str(e))
    except LookupError as e:
        fail(str(e).strip("'\""))
    except ValidationRefused as e:
        if fmt is Fmt.json:
            typer.echo(json.dumps({"refused": e.code, "message": e.message}))
        else:
            typer.echo(f"refused: {e.message}")
        raise typer.Exit(EXIT_NOT_OK) from None
    if fmt is Fmt.json:
        typer.echo(json.dumps(out, indent=2))
    else:
        typer.echo(
            f"{out['request']} extended by {out['days']} days by {out['tic']}: "
            f"due {out['due_before']} -> {out['due']}"
        )
