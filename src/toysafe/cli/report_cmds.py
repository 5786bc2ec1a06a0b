"""`toysafe report add`: lab reports in the workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toysafe.cli.common import app, fail, parse_as_of
from toysafe.cli.workspace_common import (
    AsOf,
    Org,
    Workspace,
    files_in,
    open_workspace,
    read_each,
)

report_app = typer.Typer(help="Lab reports in the workspace.", no_args_is_help=True)
app.add_typer(report_app, name="report")


@report_app.command("add")
def report_add(
    reports: Annotated[list[Path], typer.Argument(help="Lab reports (JSON or CSV) or folders.")],
    workspace: Workspace = None,
    org: Org = "default",
    as_of: AsOf = None,
) -> None:
    """Store lab reports and link them to the products they name."""
    from toysafe.core.evidence.verify import report_problems
    from toysafe.io.errors import InputError
    from toysafe.io.kb import default_kb
    from toysafe.io.reports import read_report_file

    ws = open_workspace(workspace, org)
    when = parse_as_of(as_of)
    files = files_in(reports, (".json", ".csv"))
    batches, errors = read_each(files, read_report_file, "reading reports")
    found = [r for batch in batches for r in batch]
    errors += [str(p) for p in report_problems(found, default_kb(), when)]
    if errors:
        fail("\n".join(errors) + "\nnothing was added")
    try:
        outcomes = ws.add_reports(found, when)
    except InputError as e:
        fail(f"{e}\nnothing was added")
    added = [o for o in outcomes if o.outcome == "added"]
    typer.echo(f"{len(added)} reports added, {len(outcomes) - len(added)} already stored")
