"""Shared pieces of the command-line adapter: the Typer app, exit codes, error helpers."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from toysafe.io.keys import SigningKey

app = typer.Typer(
    name="toysafe",
    help="U.S. toy-safety compliance, explained: assess, verify, certify and track toys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_NOT_OK, EXIT_BAD_INPUT = 0, 1, 2
T = TypeVar("T")


@app.callback()
def _root(
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor",
            help="Who is acting, recorded on every event (default: TOYSAFE_ACTOR, else the "
            "operating-system user as os:NAME).",
        ),
    ] = None,
) -> None:
    """U.S. toy-safety compliance, explained: assess, verify, certify and track toys."""
    from toysafe.actor import act_as

    if actor is not None and (not actor.strip() or len(actor) > 100):
        fail("--actor: 1 to 100 characters")
    act_as(actor.strip() if actor else None)  # for this command (None: TOYSAFE_ACTOR, OS user)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


def or_fail(read: Callable[..., T], *args: Any) -> T:
    """``read(*args)``, or exit 2 with its InputError message."""
    from toysafe.io.errors import InputError

    try:
        return read(*args)
    except InputError as e:
        fail(str(e))


def signing_key(workspace: Path | None) -> SigningKey:
    """The workspace signing key (created on first use, said on stderr), or exit 2."""
    from toysafe.io.keys import load_or_create

    key, created = or_fail(load_or_create, workspace)
    if created:
        typer.echo(
            f"created a signing key at {key.key_path} (keep it out of version control)", err=True
        )
    return key


def parse_as_of(value: str | None) -> date:
    from toysafe.core.law.dates import parse_date

    if value is None:
        return date.today()
    try:
        return parse_date(value)
    except ValueError as e:
        fail(f"--as-of: {e}")
