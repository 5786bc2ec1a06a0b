"""Commands that move a whole workspace: export, import, backup, restore."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from toysafe.cli.common import app, fail

if TYPE_CHECKING:
    from toysafe.store.db import Store

WorkspaceOption = Annotated[
    Path | None,
    typer.Option("--workspace", help="Workspace directory (default: TOYSAFE_HOME or here)."),
]


def _run(workspace: Path | None, create: bool, action: Callable[[Store], dict[str, int]]) -> str:
    """Open the workspace database, run ``action`` and summarise its counts; bad input exits 2."""
    from toysafe.io.errors import InputError
    from toysafe.store.db import open_store

    try:
        store = open_store(workspace, create=create)
        try:
            counts = action(store)
        finally:
            store.engine.dispose()
    except InputError as e:
        fail(str(e))
    return ", ".join(f"{n} {key.replace('_', ' ')}" for key, n in counts.items())


@app.command("export")
def export_cmd(
    directory: Annotated[Path, typer.Argument(help="New (or empty) directory to write.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Write the whole workspace as contract files: profiles, reports, certificates, events."""
    from toysafe.store.portable import export_workspace

    summary = _run(workspace, False, lambda store: export_workspace(store, directory))
    typer.echo(f"exported to {directory}: {summary}")


@app.command("import")
def import_cmd(
    directory: Annotated[Path, typer.Argument(help="A directory written by 'toysafe export'.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Load an export into an empty workspace (created when missing), all or nothing."""
    from toysafe.store.portable import import_workspace

    if not directory.is_dir():
        fail(f"{directory}: no such directory (an export written by 'toysafe export')")
    summary = _run(workspace, True, lambda store: import_workspace(store, directory))
    typer.echo(f"imported from {directory}: {summary}")


@app.command("backup")
def backup_cmd(
    file: Annotated[Path, typer.Argument(help="The zip file to write (replaced if present).")],
    workspace: WorkspaceOption = None,
) -> None:
    """Back the whole workspace up into one zip file."""
    from toysafe.store.portable import backup

    summary = _run(workspace, False, lambda store: backup(store, file))
    typer.echo(f"backed up to {file}: {summary}")


@app.command("restore")
def restore_cmd(
    file: Annotated[Path, typer.Argument(help="A zip file written by 'toysafe backup'.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a workspace that already holds data.")
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Restore a backup into the workspace (created when missing), all or nothing."""
    from toysafe.store.portable import restore

    if not file.is_file():
        fail(f"{file}: no such file (a backup written by 'toysafe backup')")
    summary = _run(workspace, True, lambda store: restore(store, file, force))
    typer.echo(f"restored from {file}: {summary}")
