"""`toysafe init`: create or upgrade the workspace, store the certifier's party file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toysafe.cli.common import app, fail
from toysafe.cli.workspace_common import (
    Org,
    Workspace,
)


@app.command()
def init(
    workspace: Workspace = None,
    party: Annotated[
        Path | None, typer.Option("--party", help="Party file of the certifier.")
    ] = None,
    org: Org = "default",
) -> None:
    """Create (or upgrade) the workspace database; store the certifier's party file."""
    from toysafe.io.errors import InputError
    from toysafe.store.db import open_store
    from toysafe.store.workspace import Workspace as Ws
    from toysafe.usecases.certify import read_party

    try:
        data = read_party(party).model_dump(mode="json", exclude_none=True) if party else None
        store = open_store(workspace, create=True)
    except InputError as e:
        fail(str(e))
    created = Ws(store, org).init(data)
    where = store.engine.url.render_as_string(hide_password=True)
    typer.echo(f"{'created' if created else 'updated'} workspace ({where}), organization {org}")
