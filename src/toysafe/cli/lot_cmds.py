"""`toysafe lot`: production lots (date and place of manufacture)."""

from __future__ import annotations

from typing import Annotated

import typer

from toysafe.cli.common import app, fail
from toysafe.cli.workspace_common import (
    Org,
    Workspace,
    open_workspace,
)


@app.command("lot")
def lot_add(
    sku: str,
    lot: Annotated[str, typer.Argument(help="Batch or run number.")],
    made: Annotated[str, typer.Option("--made", help="Manufacture month YYYY-MM (or day).")],
    city: Annotated[str | None, typer.Option("--city")] = None,
    country: Annotated[str | None, typer.Option("--country")] = None,
    workspace: Workspace = None,
    org: Org = "default",
) -> None:
    """Record a production lot of a product (date and place of manufacture)."""
    from toysafe.core.law.dates import ManufactureDate
    from toysafe.io.errors import InputError

    try:
        ManufactureDate.parse(made)
    except ValueError as e:
        fail(f"--made: {e}")
    ws = open_workspace(workspace, org)
    try:
        profile, _ = ws.profile(sku)
        place = profile.made_in
        added = ws.add_lot(
            sku,
            lot,
            made,
            city or (place.city if place else None),
            country or (place.country if place else None),
        )
    except InputError as e:
        fail(str(e))
    typer.echo(f"{sku}: lot {lot} {'recorded' if added else 'already recorded'}")
