"""``toysafe program webhooks ...`` and ``toysafe program deliver``: the outbox delivered as
signed webhooks (Standard Webhooks) and e-mail, by a worker that is safe to run twice."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from toysafe.cli.common import fail
from toysafe.cli.program_cmds import (
    Fmt,
    FormatOpt,
    Workspace,
    emit,
    open_store,
    program_app,
    run,
)

webhooks_app = typer.Typer(
    help="Webhook endpoints that receive an organization's notices.", no_args_is_help=True
)
program_app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("add")
def webhooks_add(
    seller: Annotated[str, typer.Argument(help="The organization (slug) whose notices go there.")],
    url: Annotated[str, typer.Argument(help="The receiver's http(s) URL.")],
    fmt: FormatOpt = Fmt.table,
    workspace: Workspace = None,
) -> None:
    """Add an endpoint; prints its signing secret (whsec_...) once: keep it, it is not shown
    again."""
    from toysafe.store.program.delivery import Webhooks

    endpoint, secret = run(Webhooks(open_store(workspace)).add, seller, url)
    if fmt is Fmt.json:
        emit({**endpoint, "secret": secret})
        return
    typer.echo(f"webhook endpoint {endpoint['id']} for {seller}: {url}")
    typer.echo(f"signing secret (shown once): {secret}")


@webhooks_app.command("list")
def webhooks_list(
    seller: Annotated[
        str | None, typer.Option("--seller", help="Only this organization's.")
    ] = None,
    fmt: FormatOpt = Fmt.table,
    workspace: Workspace = None,
) -> None:
    """The endpoints (never their secrets), enabled or disabled and why."""
    from toysafe.store.program.delivery import Webhooks

    rows = run(Webhooks(open_store(workspace)).list, seller)
    if fmt is Fmt.json:
        emit(rows)
        return
    if not rows:
        typer.echo("no webhook endpoints")
    for r in rows:
        state = "enabled" if r["enabled"] else f"disabled ({r['disabled_reason']})"
        typer.echo(f"{r['id']:>4}  {r['organization']:<20} {state:<22} {r['url']}")


@webhooks_app.command("remove")
def webhooks_remove(
    endpoint: Annotated[int, typer.Argument(help="The endpoint's id (from `list`).")],
    workspace: Workspace = None,
) -> None:
    """Stop sending to an endpoint (it stays listed as removed, with its attempts)."""
    from toysafe.store.program.delivery import Webhooks

    run(Webhooks(open_store(workspace)).remove, endpoint)
    typer.echo(f"webhook endpoint {endpoint} removed")


@program_app.command("deliver")
def deliver_cmd(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help="Deliveries per pass.")
    ] = 100,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of the retry jitter (reproducible).")
    ] = None,
    poll: Annotated[
        float, typer.Option("--poll", min=0.1, help="Seconds between passes with nothing due.")
    ] = 5.0,
    fmt: FormatOpt = Fmt.table,
    workspace: Workspace = None,
) -> None:
    """Send the outbox's notices that are due: signed webhooks, and e-mail when
    TOYSAFE_SMTP_HOST is set; retries with backoff; several workers may run at once."""
    from toysafe.settings import settings
    from toysafe.store.program.delivery import Config, Deliverer

    worker = Deliverer(open_store(workspace), Config.from_settings(settings(), seed))
    try:
        while True:
            result = run(worker.run_once, limit)
            if once:
                break
            if result["attempted"] == 0 and result["queued"] == 0:
                time.sleep(poll)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    if fmt is Fmt.json:
        emit(result)
        return
    typer.echo(
        f"{result['queued']} notice(s) queued, {result['attempted']} attempt(s): "
        f"{result['delivered']} delivered, {result['retry']} to retry, {result['dead']} dead, "
        f"{result['disabled']} disabled endpoint(s)"
    )


@program_app.command("deliveries")
def deliveries_cmd(
    state: Annotated[
        str | None,
        typer.Option("--state", help="Only pending, delivered, dead or disabled ones."),
    ] = None,
    fmt: FormatOpt = Fmt.table,
    workspace: Workspace = None,
) -> None:
    """Every delivery and its attempts (dead ones stay here, visible)."""
    from toysafe.store.program.delivery import deliveries

    if state is not None and state not in ("pending", "delivered", "dead", "disabled"):
        fail("--state: one of pending, delivered, dead, disabled")
    rows = deliveries(open_store(workspace), state)
    if fmt is Fmt.json:
        emit(rows)
        return
    if not rows:
        typer.echo("no deliveries")
    for r in rows:
        last = r["attempts"][-1] if r["attempts"] else None
        said = "" if last is None else f" last: {last['status_code'] or last['error']}"
        typer.echo(
            f"{r['id']:>5}  {r['notice']:<40} {r['target']:<30} {r['state']:<9} "
            f"{len(r['attempts'])} attempt(s){said}"
        )
