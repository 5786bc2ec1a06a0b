"""Direct validation on the command line (contract 8.3): ``toysafe program validations ...``,
``toysafe program tic-key new`` and ``toysafe program extend``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from toysafe.cli.common import fail, or_fail

validations_app = typer.Typer(
    name="validations",
    help="TIC direct validations (toysafe/validation@1): sign, file.",
    no_args_is_help=True,
)
tic_key_app = typer.Typer(
    name="tic-key", help="Signing keys for TICs (Ed25519).", no_args_is_help=True
)


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
