"""`toysafe product revert` and `toysafe report withdraw` (contract 10: record safety)."""

from __future__ import annotations

from typing import Annotated

import typer

from toysafe.cli.common import fail, parse_as_of
from toysafe.cli.product_cmds import product_app
from toysafe.cli.report_cmds import report_app
from toysafe.cli.workspace_common import AsOf, Org, Workspace, open_workspace


@product_app.command("revert")
def product_revert(
    sku: str,
    to: Annotated[int, typer.Option("--to", help="The version whose content to restore.")],
    workspace: Workspace = None,
    org: Org = "default",
    as_of: AsOf = None,
) -> None:
    """Restore an earlier version as a new version (its evidence counts again)."""
    from toysafe.io.errors import InputError
    from toysafe.store.record import revert

    ws = open_workspace(workspace, org)
    try:
        result = revert(ws, sku, to, parse_as_of(as_of))
    except InputError as e:
        fail(str(e))
    inv = result.invalidates
    typer.echo(f"{sku}: version {result.version} restores version {to} ({result.outcome.detail})")
    for r in inv["requirements_met_again"]:
        typer.echo(f"  met again: {r['id']} ({', '.join(r['reports'])})")
    for r in inv["requirements_no_longer_met"]:
        typer.echo(f"  no longer met: {r['id']} ({', '.join(r['reports'])})")


@report_app.command("withdraw")
def report_withdraw(
    report_no: str,
    reason: Annotated[str, typer.Option("--reason", help="Why the report is withdrawn.")],
    workspace: Workspace = None,
    org: Org = "default",
    as_of: AsOf = None,
) -> None:
    """Take a report out of the evidence; it stays in the history with who and why."""
    from toysafe.io.errors import InputError
    from toysafe.store.record import withdraw_report

    ws = open_workspace(workspace, org)
    try:
        done = withdraw_report(ws, report_no, reason, parse_as_of(as_of))
    except InputError as e:
        fail(str(e))
    skus = ", ".join(done["skus"]) or "no product"
    typer.echo(f"{report_no}: withdrawn by {done['withdrawn_by']} ({skus}): {done['reason']}")
