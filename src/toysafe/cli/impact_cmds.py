"""`toysafe impact`: what a rule change between two dates means for the catalog."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from toysafe.cli.common import app, fail, parse_as_of
from toysafe.cli.workspace_common import (
    Fmt,
    Org,
    Workspace,
    open_workspace,
)


@app.command("impact")
def impact_cmd(
    start: Annotated[
        str | None, typer.Option("--from", help="Rules of DATE (default: a year ago).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Rules of DATE (default: today).")] = None,
    workspace: Workspace = None,
    org: Org = "default",
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """Re-assess every stored product under the rules of two dates: what changed, and which
    certificates cite an F963 edition no longer in force for new production."""
    from datetime import timedelta

    from toysafe.core.law.impact import impact
    from toysafe.io.kb import default_kb

    to = parse_as_of(end)
    frm = parse_as_of(start) if start else to - timedelta(days=365)
    if frm > to:
        fail("--from: must not be after --to")
    kb = default_kb()
    items = [
        impact(sku, p, certs, kb, frm, to)
        for sku, p, certs in open_workspace(workspace, org).all_profiles()
    ]
    changed = [i for i in items if i.changed]
    if fmt is Fmt.json:
        typer.echo(
            json.dumps(
                {
                    "format": "toysafe/impact@1",
                    "from": frm.isoformat(),
                    "to": to.isoformat(),
                    "products": len(items),
                    "changed": [i.to_dict() for i in changed],
                },
                indent=2,
            )
        )
        return
    typer.echo(
        f"rules of {frm.isoformat()} vs {to.isoformat()}: {len(changed)} of "
        f"{len(items)} products affected"
    )
    for i in changed:
        parts = []
        if i.edition[0] != i.edition[1]:
            parts.append(f"toy standard {i.edition[0]} -> {i.edition[1]}")
        if i.added:
            parts.append("now applies: " + ", ".join(i.added))
        if i.removed:
            parts.append("no longer applies: " + ", ".join(i.removed))
        if i.lab_added:
            parts.append("new lab tests: " + ", ".join(i.lab_added))
        for c in i.certificates:
            lots = (
                f"; lots made since: {', '.join(c['lots_made_since'])}"
                if c["lots_made_since"]
                else ""
            )
            parts.append(
                f"certificate {c['certificate']} cites {c['cites']}, {c['in_force']} in "
                f"force since {c['since']}{lots}"
            )
        typer.echo(f"{i.sku}: " + "; ".join(parts))
