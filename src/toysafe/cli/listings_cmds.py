"""`toysafe listings import`: marketplace listings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toysafe.cli.common import app, fail
from toysafe.cli.workspace_common import (
    Org,
    Workspace,
    open_workspace,
    progress_bar,
)

listings_app = typer.Typer(help="Marketplace listings.", no_args_is_help=True)
app.add_typer(listings_app, name="listings")


@listings_app.command("import")
def listings_import(
    file: Annotated[Path, typer.Argument(help="Amazon inventory report or listing flat file.")],
    marketplace: Annotated[str, typer.Option("--marketplace")] = "amazon.com",
    workspace: Workspace = None,
    org: Org = "default",
) -> None:
    """Import listings (columns mapped by header: SKU and ASIN at least)."""
    from toysafe.io.errors import InputError
    from toysafe.io.listings import read_listings_file

    ws = open_workspace(workspace, org)
    try:
        with progress_bar() as progress:
            progress.add_task("reading listings", total=None)
            rows = read_listings_file(file, marketplace)
    except InputError as e:
        fail(f"{e}\nnothing was imported")
    added, updated = ws.import_listings(rows)
    typer.echo(f"{len(rows)} listings read: {added} added, {updated} updated")
