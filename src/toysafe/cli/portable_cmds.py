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


PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help="A file whose first line is the passphrase for the keys "
        "(or set TOYSAFE_BACKUP_PASSPHRASE).",
    ),
]
WithoutKeys = Annotated[
    bool,
    typer.Option("--without-keys", help="Leave the signing and session keys out, on purpose."),
]
PASSPHRASE_ENV = "TOYSAFE_BACKUP_PASSPHRASE"


def _passphrase(file: Path | None) -> bytes | None:

    if file is not None:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            fail(f"--passphrase-file: {file}: cannot read: {e}")
        if not lines or not lines[0]:
            fail(f"--passphrase-file: {file}: the first line is empty")
        return lines[0].encode()
    from toysafe.settings import settings

    env = settings().backup_passphrase
    return env.encode() if env else None


@app.command("backup")
def backup_cmd(
    file: Annotated[Path, typer.Argument(help="Zip file to write.")],
    workspace: WorkspaceOption = None,
    passphrase_file: PassphraseFile = None,
    without_keys: WithoutKeys = False,
) -> None:
    """Back the whole workspace up into one zip file: the catalog, users, API tokens, lab
    shares, enrollments, the program's records, and the keys: encrypted with a passphrase, or
    left out when asked (--without-keys). Without either, nothing is written (exit 2)."""
    from toysafe.settings import workspace as resolve
    from toysafe.store.portable import backup

    passphrase = None if without_keys else _passphrase(passphrase_file)
    if passphrase is None and not without_keys:
        fail(
            "keys: no passphrase to encrypt the signing and session keys with: give "
            f"--passphrase-file FILE (or set {PASSPHRASE_ENV}) to include them encrypted, or "
            "--without-keys to leave them out on purpose (a restore then makes new keys and "
            "trusts the old public key)"
        )
    reason = "left out on purpose (--without-keys)"
    home = resolve(workspace)
    summary = _run(workspace, False, lambda store: backup(store, file, home, passphrase, reason))
    typer.echo(f"backed up to {file}: {summary}")
    if passphrase is None:
        typer.echo(
            f"keys not included ({reason}): only their public halves are in the backup",
            err=True,
        )


@app.command("restore")
def restore_cmd(
    file: Annotated[Path, typer.Argument(help="A zip file written by 'toysafe backup'.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace a workspace that already holds data.")
    ] = False,
    workspace: WorkspaceOption = None,
    passphrase_file: PassphraseFile = None,
    without_keys: WithoutKeys = False,
) -> None:
    """Restore a backup into the workspace (created when missing), all or nothing; its keys
    too when it holds them and the passphrase is given."""
    from toysafe.settings import workspace as resolve
    from toysafe.store.access_export import Keys
    from toysafe.store.portable import restore_workspace

    if not file.exists():
        fail(f"{file}: no such file (a backup written by 'toysafe backup')")
    passphrase = None if without_keys else _passphrase(passphrase_file)
    home = resolve(workspace)
    keys: list[Keys] = []

    def action(store: Store) -> dict[str, int]:
        counts, k = restore_workspace(store, file, force, home, passphrase, without_keys)
        keys.append(k)
        return counts

    summary = _run(workspace, True, action)
    typer.echo(f"restored from {file}: {summary}")
    typer.echo(keys[0].explain(), err=not keys[0].files)
