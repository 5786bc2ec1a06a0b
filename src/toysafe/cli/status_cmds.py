"""`toysafe status` and `toysafe refresh`: the catalog's standing from stored state."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from toysafe.cli.common import app, parse_as_of
from toysafe.cli.workspace_common import (
    AsOf,
    Fmt,
    Org,
    Workspace,
    console,
    open_workspace,
)


@app.command()
def refresh(workspace: Workspace = None, org: Org = "default", as_of: AsOf = None) -> None:
    """Recompute every product's state from the stored evidence (after a rule change)."""
    count = open_workspace(workspace, org).refresh_all(parse_as_of(as_of))
    typer.echo(f"{count} products recomputed")


STATUS_STYLE = {
    "certified": "green",
    "expiring": "yellow",
    "expired": "bold red",
    "action_needed": "bold red",
    "ready_to_certify": "cyan",
    "missing_evidence": "magenta",
    "not_required": "dim",
    "no_profile": "red",
}


@app.command()
def status(
    workspace: Workspace = None,
    org: Org = "default",
    as_of: AsOf = None,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """Per SKU: certified and until when, expiring, expired, or what is missing; next due date."""
    from collections import Counter

    when = parse_as_of(as_of)
    rows = open_workspace(workspace, org).statuses(when)
    counts = Counter(r.status for r in rows)
    if fmt is Fmt.json:
        doc = {
            "format": "toysafe/status@1",
            "as_of": when.isoformat(),
            "summary": dict(sorted(counts.items())),
            "products": [r.to_dict() for r in rows],
        }
        typer.echo(json.dumps(doc, indent=2))
        return
    from rich.table import Table

    table = Table(
        title=f"{len(rows)} SKUs as of {when.isoformat()}", title_justify="left", expand=True
    )
    for col in ("SKU", "Status", "Valid until", "Next due", "Listings", "Action"):
        table.add_column(
            col,
            no_wrap=col in ("SKU", "Status", "Valid until", "Next due"),
            ratio=3 if col == "Action" else None,
        )
    for r in rows:
        style = STATUS_STYLE[r.status]
        table.add_row(
            r.sku,
            f"[{style}]{r.status}[/{style}]",
            r.valid_until.isoformat() if r.valid_until else "—",
            r.next_due.isoformat() if r.next_due else "—",
            ", ".join(r.listings) or "—",
            r.action,
        )
    out = console()
    out.print(table)
    out.print(" · ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
