"""Certifying products from the workspace's stored profiles, reports and labs (the
`toysafe certify --sku` form)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from toysafe.cli.common import EXIT_NOT_OK, EXIT_OK, fail, parse_as_of, signing_key
from toysafe.cli.workspace_common import (
    open_workspace,
    progress_bar,
)


def certify_stored(
    skus: list[str],
    party_file: Path | None,
    out: Path | None,
    as_of: str | None,
    lot: str | None,
    workspace: Path | None,
    org: str,
    every: bool = False,
) -> None:
    """Certify products from the workspace's stored profiles, reports and labs."""
    from toysafe.core.certificates.party import Party
    from toysafe.io.errors import InputError
    from toysafe.settings import workspace as resolve
    from toysafe.usecases.certify import NotCertifiable, file_stem, read_party
    from toysafe.usecases.certify import certify_stored as certify_from_store

    ws = open_workspace(workspace, org)
    when = parse_as_of(as_of)
    try:
        if party_file is not None:
            party = read_party(party_file)
        else:
            stored = ws.party()
            if stored is None:
                fail("--party: no party file given and none stored (toysafe init --party FILE)")
            party = Party.model_validate(stored)
    except InputError as e:
        fail(str(e))
    key = signing_key(workspace)
    if every:
        skus = [r.sku for r in ws.statuses(when) if r.status in ("ready_to_certify",)]
    folder = out or resolve(workspace) / "certificates"
    refused = 0

    def one(sku: str) -> None:
        nonlocal refused
        try:
            signed, pdf = certify_from_store(ws, sku, party, key, when, lot)
        except (InputError, NotCertifiable) as e:
            refused += 1
            lines = [f"{sku}: not certified: {e}"]
            if isinstance(e, NotCertifiable):
                lines += [
                    f"  {c.id} {c.status}: {f}"
                    for c in e.verification.requirements
                    if c.status != "pass"
                    for f in c.findings[:2]
                ]
            typer.echo("\n".join(lines), err=True)
            return
        folder.mkdir(parents=True, exist_ok=True)
        stem = file_stem(sku, signed["certificate"]["type"])
        (folder / f"{stem}.pdf").write_bytes(pdf)
        (folder / f"{stem}.json").write_text(
            json.dumps(signed, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        c = signed["certificate"]
        typer.echo(
            f"{sku}: {c['type']} {c['id']} (version {c['version']}) stored; files in {folder}"
        )

    if len(skus) <= 1:
        for sku in skus:
            one(sku)
    else:
        with progress_bar() as progress:
            task = progress.add_task("certifying", total=len(skus))
            for sku in skus:
                one(sku)
                progress.advance(task)
    if not skus:
        typer.echo("nothing to certify")
    raise typer.Exit(EXIT_NOT_OK if refused else EXIT_OK)
