"""What the workspace commands share: the --workspace/--org/--as-of options, opening the
workspace with a clear error, progress bars, reading many files."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from toysafe.cli.common import fail

Workspace = Annotated[
    Path | None, typer.Option("--workspace", help="Workspace folder (default: TOYSAFE_HOME or .)")
]
Org = Annotated[str, typer.Option("--org", help="Organization (certifier) in the workspace.")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="As of DATE (YYYY-MM-DD).")]


class Fmt(StrEnum):
    table = "table"
    json = "json"


def open_workspace(workspace: Path | None, org: str = "default") -> Any:
    from toysafe.io.errors import InputError
    from toysafe.store.db import open_store
    from toysafe.store.workspace import Workspace as Ws

    try:
        ws = Ws(open_store(workspace), org)
        ws.party()  # the organization must exist: a clear error, not a traceback
    except InputError as e:
        fail(str(e))
    return ws


def console() -> Any:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 140)
    return console


class _Quiet:
    """Stands in for a progress bar when nobody is watching (not a terminal)."""

    def __enter__(self) -> _Quiet:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def advance(self, *args: Any, **kwargs: Any) -> None:
        return None


def progress_bar() -> Any:
    import sys

    if not sys.stderr.isatty():
        return _Quiet()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True
    )


def read_each(files: list[Path], read: Any, label: str) -> tuple[list[Any], list[str]]:
    """Read every file (with a progress bar); collect what was read and every error."""
    from toysafe.io.errors import InputError

    items: list[Any] = []
    errors: list[str] = []
    with progress_bar() as progress:
        task = progress.add_task(label, total=len(files))
        for f in files:
            try:
                items.append(read(f))
            except InputError as e:
                errors.append(str(e))
            progress.advance(task)
    return items, errors


def files_in(paths: list[Path], suffixes: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(x for x in p.iterdir() if x.suffix.lower() in suffixes))
        else:
            out.append(p)
    return out
