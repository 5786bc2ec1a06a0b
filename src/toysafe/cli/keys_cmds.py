"""Signing keys: show this workspace's public key, and trust other certifiers' keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from toysafe.cli.common import app, or_fail, signing_key

keys_app = typer.Typer(
    help="This workspace's signing key and the keys it trusts for certificates.",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")

WorkspaceOpt = Annotated[Path | None, typer.Option("--workspace")]


@keys_app.command("export")
def keys_export(
    out: Annotated[Path | None, typer.Option("--out", help="Write the PEM here.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Print this workspace's public key (PEM) and fingerprint, to give to whoever checks
    its certificates (they run ``toysafe keys trust``)."""
    from cryptography.hazmat.primitives import serialization

    from toysafe.io.trust import fingerprint

    key = signing_key(workspace)
    pem = key.public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if out is not None:
        out.write_bytes(pem)
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(pem.decode(), nl=False)
    typer.echo(f"fingerprint: {fingerprint(key.public)}", err=True)


@keys_app.command("trust")
def keys_trust(
    file: Annotated[Path, typer.Argument(help="The certifier's public key (PEM) or certificate.")],
    certifier: Annotated[
        str, typer.Option("--certifier", help="The certifier's name, as its certificates say.")
    ],
    workspace: WorkspaceOpt = None,
) -> None:
    """Trust a key to sign certificates for one certifier."""
    from toysafe.io.trust import read_public_key, trust

    key = or_fail(read_public_key, file, "FILE")
    entry, added = or_fail(trust, workspace, key, certifier)
    verb = "trusted" if added else "already trusted"
    typer.echo(
        f"{verb}: key {entry.key_id} for {entry.certifier}\nfingerprint: {entry.fingerprint}"
    )


@keys_app.command("untrust")
def keys_untrust(
    key_id: Annotated[str, typer.Argument(help="A key id or fingerprint from `keys list`.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Stop trusting a key."""
    from toysafe.io.trust import untrust

    entry = or_fail(untrust, workspace, key_id)
    typer.echo(f"no longer trusted: key {entry.key_id} ({entry.certifier})")


@keys_app.command("list")
def keys_list(
    workspace: WorkspaceOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The keys trusted here: this workspace's own, and those registered for certifiers."""
    from toysafe.io.keys import trusted_public_key
    from toysafe.io.trust import fingerprint, trusted_keys

    own = trusted_public_key(workspace)
    rows = [k.to_data() for k in or_fail(trusted_keys, workspace)]
    if as_json:
        data = {"own": fingerprint(own) if own else None, "trusted": rows}
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"own: {fingerprint(own) if own else '(no signing key yet)'}")
    for r in rows:
        typer.echo(f"{r['key_id']}  {r['certifier']}  {r['fingerprint']}  added {r['added']}")
