"""`toysafe product add|list|show`: products and their profile versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from toysafe.cli.common import app, fail, parse_as_of
from toysafe.cli.workspace_common import (
    AsOf,
    Fmt,
    Org,
    Workspace,
    files_in,
    open_workspace,
    read_each,
)

product_app = typer.Typer(help="Products and their profile versions.", no_args_is_help=True)
app.add_typer(product_app, name="product")


@product_app.command("add")
def product_add(
    profiles: Annotated[list[Path], typer.Argument(help="Profiles or folders of them.")],
    workspace: Workspace = None,
    org: Org = "default",
    as_of: AsOf = None,
) -> None:
    """Add profiles: unchanged ones are a no-op, changed ones become a new version."""
    from toysafe.io.profiles import read_profile

    ws = open_workspace(workspace, org)
    when = parse_as_of(as_of)
    files = files_in(profiles, (".yaml", ".yml", ".json"))
    parsed, errors = read_each(files, read_profile, "reading profiles")
    if errors:
        fail("\n".join(errors) + "\nnothing was added")
    seen: dict[str, Path] = {}
    for f, p in zip(files, parsed, strict=True):
        if p.sku in seen:
            fail(f"{f}: sku: '{p.sku}' is also the SKU of {seen[p.sku]}; nothing was added")
        seen[p.sku] = f
    outcomes = ws.add_profiles(parsed, when)
    for o in outcomes:
        typer.echo(f"{o.key}: {o.outcome.replace('_', ' ')} ({o.detail})")


@product_app.command("list")
def product_list(
    workspace: Workspace = None,
    org: Org = "default",
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """Every product in the workspace with its latest profile version."""
    rows = open_workspace(workspace, org).products()
    if fmt is Fmt.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['sku']}\tv{r['version']}\t{r['name']}")
    typer.echo(f"{len(rows)} products")


@product_app.command("show")
def product_show(
    sku: str,
    workspace: Workspace = None,
    org: Org = "default",
    version: Annotated[int | None, typer.Option("--version", help="A past version.")] = None,
    history: Annotated[bool, typer.Option("--history", help="Versions, evidence, events.")] = False,
) -> None:
    """Show a product's profile (latest or --version), or its whole history."""
    import yaml

    from toysafe.io.errors import InputError

    ws = open_workspace(workspace, org)
    try:
        if history:
            typer.echo(json.dumps(ws.history(sku), indent=2))
            return
        profile, v = ws.profile(sku, version)
    except InputError as e:
        fail(str(e))
    typer.echo(f"# {sku} version {v}")
    typer.echo(yaml.safe_dump(profile.to_data(), sort_keys=False, allow_unicode=True), nl=False)
