"""Commands for accounts and the web server: users add, share, enroll, serve."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from toysafe.cli.common import app, fail

users_app = typer.Typer(help="People who sign in to the web app and the API.", no_args_is_help=True)
app.add_typer(users_app, name="users")
Workspace = Annotated[Path | None, typer.Option("--workspace", help="Workspace folder.")]


def _store(workspace: Path | None) -> Any:
    from toysafe.io.errors import InputError
    from toysafe.store.db import open_store

    try:
        return open_store(workspace)
    except InputError as e:
        fail(str(e))


@users_app.command("add")
def users_add(
    email: str,
    org: Annotated[str, typer.Option("--org", help="Organization slug (created if new).")],
    role: Annotated[str, typer.Option("--role", help="seller, lab, reviewer or admin.")],
    lab_id: Annotated[str | None, typer.Option("--lab-id", help="CPSC lab id (lab users).")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    token: Annotated[bool, typer.Option("--token", help="Print a new API token last.")] = False,
    exists_ok: Annotated[
        bool, typer.Option("--exists-ok", help="Succeed without change if the user exists.")
    ] = False,
    workspace: Workspace = None,
) -> None:
    """Add a user; with --token, the last line of output is a new API token."""
    from toysafe.io.errors import InputError
    from toysafe.store.accounts import Accounts

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    accounts = Accounts(_store(workspace))
    if exists_ok and accounts.exists(email):
        typer.echo(f"{email} already exists")
        return
    try:
        who = accounts.add_user(email, org, role, password, lab_id)
    except InputError as e:
        fail(str(e))
    typer.echo(f"added {who.email} ({who.role} of {who.org_slug})")
    if token:
        typer.echo(accounts.new_token(who.email))


@users_app.command("token")
def users_token(email: str, workspace: Workspace = None) -> None:
    """Print a new API token for an existing user."""
    from toysafe.io.errors import InputError
    from toysafe.store.accounts import Accounts

    try:
        typer.echo(Accounts(_store(workspace)).new_token(email))
    except InputError as e:
        fail(str(e))


@users_app.command("revoke-tokens")
def users_revoke_tokens(
    email: str,
    name: Annotated[str | None, typer.Option("--name", help="Only tokens of this name.")] = None,
    workspace: Workspace = None,
) -> None:
    """Revoke a user's API tokens; they stop working at once."""
    from toysafe.io.errors import InputError
    from toysafe.store.accounts import Accounts

    try:
        count = Accounts(_store(workspace)).revoke_tokens(email, name)
    except InputError as e:
        fail(str(e))
    typer.echo(f"{email}: {count} token(s) revoked")


@app.command()
def share(
    sku: str,
    lab: Annotated[str, typer.Option("--lab", help="CPSC lab id to share with.")],
    org: Annotated[str, typer.Option("--org")] = "default",
    revoke: Annotated[bool, typer.Option("--revoke")] = False,
    workspace: Workspace = None,
) -> None:
    """Share a product with a lab (it may then upload reports for it), or --revoke."""
    from toysafe.io.errors import InputError
    from toysafe.store.accounts import Accounts

    try:
        from toysafe.store.workspace import actor

        Accounts(_store(workspace)).share(org, sku, lab, not revoke, actor())
    except InputError as e:
        fail(str(e))
    typer.echo(f"{sku}: {'no longer ' if revoke else ''}shared with lab {lab}")


@app.command()
def enroll(
    org: str,
    reviewer: Annotated[str, typer.Option("--reviewer", help="Reviewer organization slug.")],
    workspace: Workspace = None,
) -> None:
    """Enroll an organization with a reviewer (read-only access to its catalog)."""
    from toysafe.io.errors import InputError
    from toysafe.store.accounts import Accounts

    try:
        Accounts(_store(workspace)).enroll(reviewer, org)
    except InputError as e:
        fail(str(e))
    typer.echo(f"{org} enrolled with reviewer {reviewer}")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1)] = 1,
    workspace: Workspace = None,
) -> None:
    """Serve the web app and the REST API on the workspace database."""
    import os

    import uvicorn

    from toysafe.settings import env_name
    from toysafe.settings import workspace as resolve
    from toysafe.web import serving

    ws = resolve(workspace)
    _store(workspace)  # fail early, with the message, when there is no workspace
    # The server workers read their settings from the environment (toysafe.web.main).
    os.environ[env_name("home")] = str(ws)
    loopback = host in ("127.0.0.1", "localhost", "::1")
    os.environ.setdefault(env_name("secure_cookies"), "0" if loopback else "1")
    # Links in e-mails point here unless TOYSAFE_PUBLIC_URL says otherwise (never the Host
    # header of a request, which a client chooses).
    os.environ.setdefault(env_name("public_url"), f"http://{host}:{port}")
    typer.echo(f"toysafe on http://{host}:{port}/ (API: /api/v1, docs: /api/docs); workspace {ws}")
    uvicorn.run(
        "toysafe.web.main:app",
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        # X-Forwarded-For is applied by the app, and only from TOYSAFE_TRUSTED_PROXIES.
        proxy_headers=False,
        backlog=4096,
        # httptools and uvloop when installed (uvicorn[standard]), Nagle off either way.
        http=serving.protocol(),
        loop=serving.loop(),
    )
