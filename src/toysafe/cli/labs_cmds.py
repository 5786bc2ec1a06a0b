"""`toysafe labs import`: the registry of CPSC-accepted labs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toysafe.cli.common import app, fail, parse_as_of
from toysafe.cli.workspace_common import (
    AsOf,
    Workspace,
    open_workspace,
    progress_bar,
)

labs_app = typer.Typer(help="The registry of CPSC-accepted labs.", no_args_is_help=True)
app.add_typer(labs_app, name="labs")


@labs_app.command("import")
def labs_import(
    file: Annotated[Path, typer.Argument(help="Lab registry CSV (toysafe/labs@1).")],
    workspace: Workspace = None,
    as_of: AsOf = None,
) -> None:
    """Import (upsert) labs and their accepted scopes."""
    import csv
    import io

    from pydantic import ValidationError

    from toysafe.core.evidence.labs import LabRow
    from toysafe.io.errors import describe_validation_error
    from toysafe.io.labs import read_labs

    ws = open_workspace(workspace)
    try:
        read_labs(file)  # whole-file checks: header, consistency, line numbers
    except Exception as e:  # noqa: BLE001 - InputError with every problem
        fail(str(e))
    rows = []
    text = file.read_text(encoding="utf-8-sig")
    with progress_bar() as progress:
        records = list(csv.DictReader(io.StringIO(text)))
        task = progress.add_task("reading labs", total=len(records))
        for line, raw in enumerate(records, start=2):
            data = {
                k.strip(): v.strip() for k, v in raw.items() if isinstance(v, str) and v.strip()
            }
            try:
                rows.append(LabRow.model_validate(data))
            except ValidationError as e:
                fail(describe_validation_error(e, f"{file} line {line}: "))
            progress.advance(task)
    labs, count = ws.import_labs(rows, parse_as_of(as_of))
    typer.echo(f"{labs} labs, {count} scope rows imported")
