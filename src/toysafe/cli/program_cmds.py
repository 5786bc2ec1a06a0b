"""``toysafe program ...``: the marketplace program (contract section 8) on the command line.

``program_app`` is the sub-app; other modules add commands to it (``@program_app.command()``)
and sub-groups (``program_app.add_typer(...)``). Every command takes ``--as-of DATE``; exit 0
success, 1 a refusal the output explains, 2 bad input naming the field.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from toysafe.cli.common import EXIT_BAD_INPUT, app, fail, parse_as_of

program_app = typer.Typer(
    help="The marketplace program: policy, feeds, requests, sweep, health.",
    no_args_is_help=True,
)
policy_app = typer.Typer(
    help="The program's policy (toysafe/policy@1), versioned.", no_args_is_help=True
)
listings_app = typer.Typer(help="The marketplace's listings feed.", no_args_is_help=True)
complaints_app = typer.Typer(help="The marketplace's complaints feed.", no_args_is_help=True)
program_app.add_typer(policy_app, name="policy")
program_app.add_typer(listings_app, name="listings")
program_app.add_typer(complaints_app, name="complaints")
app.add_typer(program_app, name="program")

Workspace = Annotated[
    Path | None, typer.Option("--workspace", help="Workspace folder (default: TOYSAFE_HOME or .)")
]
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="The program's date (YYYY-MM-DD; default today).")
]


class Fmt(StrEnum):
    table = "table"
    json = "json"


FormatOpt = Annotated[Fmt, typer.Option("--format", help="Output format.")]


def open_store(workspace: Path | None) -> Any:
    """The workspace's store, or exit 2 with the reason."""
    from toysafe.io.errors import InputError
    from toysafe.store.db import open_store as _open

    try:
        return _open(workspace)
    except InputError as e:
        fail(str(e))


def actor() -> str:
    from toysafe.store.repos.base import actor as _actor

    return _actor()


def emit(doc: Any) -> None:
    """Print a JSON document (or a list of them) on stdout."""
    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))


def run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(...)``, or exit 2 with the message of the InputError it raised."""
    from toysafe.io.errors import InputError

    try:
        return fn(*args, **kwargs)
    except InputError as e:
        fail(str(e), EXIT_BAD_INPUT)


def _console() -> Any:
    from rich.console import Console

    return Console()


# --- policy ----------------------------------------------------------------------------------


@policy_app.command("load")
def policy_load(
    file: Annotated[Path, typer.Argument(help="A toysafe/policy@1 YAML file.")],
    as_of: AsOf = None,
    workspace: Workspace = None,
) -> None:
    """Store the policy as a new numbered version (the same content again changes nothing)."""
    from toysafe.io.program import read_policy
    from toysafe.store.program.policies import load_policy

    day = parse_as_of(as_of)
    policy = run(read_policy, file)
    loaded = load_policy(open_store(workspace), policy, day, actor())
    typer.echo(f"policy version {loaded.version}")
    if not loaded.created:
        typer.echo("(unchanged: the same content as the current version)", err=True)


@policy_app.command("show")
def policy_show(
    version: Annotated[
        int | None, typer.Option("--version", help="Version (default newest).")
    ] = None,
    fmt: FormatOpt = Fmt.table,
    as_of: AsOf = None,
    workspace: Workspace = None,
) -> None:
    """Print a policy version (YAML, or JSON with --format json)."""
    import yaml

    from toysafe.store.program import policies

    parse_as_of(as_of)
    store = open_store(workspace)
    with store.reader() as s:
        number, policy = run(policies.get, s, version)
    doc = {"version": number, "digest": policy.digest(), **policy.canonical()}
    if fmt is Fmt.json:
        emit(doc)
    else:
        typer.echo(f"# policy version {number} ({policy.digest()[:12]})")
        typer.echo(
            yaml.safe_dump(policy.canonical(), sort_keys=False, allow_unicode=True), nl=False
        )


@policy_app.command("diff")
def policy_diff(
    a: Annotated[int, typer.Argument(help="Policy version A.")],
    b: Annotated[int, typer.Argument(help="Policy version B.")],
    fmt: FormatOpt = Fmt.table,
    as_of: AsOf = None,
    workspace: Workspace = None,
) -> None:
    """Every key whose value differs between two policy versions."""
    from toysafe.core.program.policy import diff
    from toysafe.store.program import policies

    parse_as_of(as_of)
    store = open_store(workspace)
    with store.reader() as s:
        _, pa = run(policies.get, s, a)
        _, pb = run(policies.get, s, b)
    changes = diff(pa, pb)
    if fmt is Fmt.json:
        emit({"from": a, "to": b, "changes": changes})
        return
    if not changes:
        typer.echo(f"policy versions {a} and {b} are the same")
    for c in changes:
        typer.echo(f"{c['key']}: {json.dumps(c['from'])} -> {json.dumps(c['to'])}")


# --- feeds -----------------------------------------------------------------------------------


@listings_app.command("import")
def listings_import(
    file: Annotated[
        Path, typer.Argument(help="Listings feed: CSV with a header row, or JSON Lines.")
    ],
    fmt: FormatOpt = Fmt.table,
    as_of: AsOf = None,
    workspace: Workspace = None,
) -> None:
    """Add new listings, update changed ones (their history is kept); never deletes."""
    from toysafe.io.program import read_listings_feed
    from toysafe.store.program.feeds import import_listings

    day = parse_as_of(as_of)
    rows = run(read_listings_feed, file)
    result = import_listings(open_store(workspace), rows, day, actor(), str(file))
    if fmt is Fmt.json:
        emit(result.to_dict())
    else:
        typer.echo(
            f"listings: {result.added} added, {result.updated} updated, "
            f"{result.unchanged} unchanged ({result.sellers_added} new seller(s))"
        )


@complaints_app.command("import")
def complaints_import(
    file: Annotated[
        Path, typer.Argument(help="Complaints feed: CSV with a header row, or JSON Lines.")
    ],
    fmt: FormatOpt = Fmt.table,
    as_of: AsOf = None,
    workspace: Workspace = None,
) -> None:
    """Add complaints; a complaint id seen before is skipped."""
    from toysafe.io.program import read_complaints_feed
    from toysafe.store.program.feeds import import_complaints

    day = parse_as_of(as_of)
    rows = run(read_complaints_feed, file)
    result = import_complaints(open_store(workspace), rows, day, actor(), str(file))
    if fmt is Fmt.json:
        emit(result.to_dict())
    else:
        typer.echo(f"complaints: {result.added} added, {result.unchanged} seen before")


# --- the sweep -------------------------------------------------------------------------------


class SweepEngine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


class _Steps:
    """A progress bar over the sweep's steps (on a terminal only)."""

    def __init__(self, total: int) -> None:
        self.bar: Any = None
        self.task: Any = None
        self.total = total

    def __enter__(self) -> _Steps:
        if sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(
                TextColumn("sweep: {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                transient=True,
            )
            self.bar.__enter__()
            self.task = self.bar.add_task("starting", total=self.total)
        return self

    def __call__(self, label: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=label)
            self.bar.advance(self.task)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@program_app.command("sweep")
def sweep_cmd(
    as_of: AsOf = None,
    fmt: FormatOpt = Fmt.table,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="A candidate policy (with --dry-run): what it would do."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what the sweep would do; store nothing.")
    ] = False,
    engine: Annotated[
        SweepEngine | None,
        typer.Option(
            "--engine",
            help="Compute the sweep as a compiled plan on DuckDB or Spark over a snapshot of "
            "the tables (default: SQL in the workspace database).",
        ),
    ] = None,
    spark_master: Annotated[
        str | None, typer.Option("--spark-master", help="Spark master URL (default local[2]).")
    ] = None,
    workspace: Workspace = None,
) -> None:
    """Run the program for a date (P14): triggers, reminders, the ladder, health, the tier."""
    from toysafe.io.program import read_policy
    from toysafe.store.program.sweep import sweep

    day = parse_as_of(as_of)
    if policy is not None and not dry_run:
        fail("--policy: a candidate policy is only tried with --dry-run (load it to use it)")
    if spark_master and engine is not SweepEngine.spark:
        fail("--spark-master: only with --engine spark")
    candidate = run(read_policy, policy) if policy is not None else None
    store = open_store(workspace)
    session = None
    if engine is SweepEngine.spark:
        try:
            import pyspark  # noqa: F401
        except ImportError:  # pragma: no cover - depends on the extra
            fail("--engine spark needs the 'spark' extra: pip install 'toysafe[spark]'")
        from toysafe.bulk.run import spark_session

        session = spark_session(spark_master or "local[2]", "toysafe-sweep")
    name = engine.value if engine is not None else None
    try:
        with _Steps(8 if engine else 7) as steps:
            result = run(sweep, store, day, actor(), candidate, dry_run, steps, None, name, session)
    finally:
        if session is not None:
            session.stop()
    doc = result.to_dict()
    if fmt is Fmt.json:
        emit(doc)
        return
    what = "would do (dry run, nothing stored)" if dry_run else "did"
    typer.echo(f"sweep of {doc['as_of']} under policy version {doc['policy_version']} {what}:")
    typer.echo(
        f"  {len(doc['opened'])} request(s) opened, {len(doc['updated'])} updated with new "
        f"triggers, {len(doc['reminded'])} reminded, {len(doc['actions'])} action(s), "
        f"{len(doc['accounts'])} account(s) changed, {len(doc['closed'])} closed"
    )
    for a in doc["actions"][:20]:
        target = a.get("listing_id") or a.get("seller")
        typer.echo(f"  {a['action']}: {target} ({a['reasons']['rule']})")
    if len(doc["actions"]) > 20:
        typer.echo(f"  ... and {len(doc['actions']) - 20} more (--format json lists them all)")


# --- reading ---------------------------------------------------------------------------------


@program_app.command("requests")
def requests_cmd(
    seller: Annotated[str | None, typer.Option("--seller", help="Only this seller's.")] = None,
    listing: Annotated[str | None, typer.Option("--listing", help="Only this listing's.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="Only in this state.")] = None,
    fmt: FormatOpt = Fmt.table,
    as_of: AsOf = None,
    workspace: Workspace = None,
) -> None:
    """Compliance requests (toysafe/request@1), with their triggers and history."""
    from toysafe.core.program.model import RequestState
    from toysafe.store.program.views import requests

    day = parse_as_of(as_of)
    if state is not None and state not in {s.value for s in RequestState}:
        fail(f"--state: '{state}' is not one of {', '.join(s.value for s in RequestState)}")
    store = open_store(workspace)
    with store.reader() as s:
        docs = run(requests, s, day, seller, listing, state)
    if fmt is Fmt.json:
        emit(docs)
        return
    from rich.table import Table

    t = Table("request", "seller", "listing", "state", "opened", "due", "triggers")
    for d in docs:
        st = d["state"] + (" (overdue)" if d.get("overdue") else "")
        kinds = ", ".join(dict.fromkeys(x["kind"] for x in d["triggers"]))
        t.add_row(d["id"], d["seller"], d["listing_id"], st, d["opened"], d["due"], kinds)
    _console().print(t)


@program_app.command("listing")
def listing_cmd(
    listing_id: Annotated[str, typer.Argument(help="The marketplace's listing id.")],
    fmt: FormatOpt = Fmt.table,
    as_of: AsOf = None,
    workspace: Workspace = None,
) -> None:
    """Where the program stands on a listing (toysafe/listing-status@1)."""
    from toysafe.store.program.views import listing_status

    day = parse_as_of(as_of)
    store = open_store(workspace)
    with store.reader() as s:
        doc = run(listing_status, s, listing_id, day)
    if fmt is Fmt.json:
        emit(doc)
        return
    typer.echo(f"{doc['listing_id']} ({doc['seller']}): {doc['state']}")
    if doc["valid_until"]:
        typer.echo(f"  approved until {doc['valid_until']}")
    for r in doc["requests"]:
        typer.echo(f"  {r['id']}: {r['state']}, opened {r['opened']}, due {r['due']}")
    for a in doc["actions"]:
        typer.echo(
            f"  {a['on']} {a['action']}: {a['reasons']['decision']} ({a['reasons']['rule']})"
        )


@program_app.command("health")
def health_cmd(
    seller: Annotated[str, typer.Argument(help="The seller organization's slug.")],
    fmt: FormatOpt = Fmt.table,
    as_of: AsOf = None,
    workspace: Workspace = None,
) -> None:
    """A seller's account health (toysafe/account-health@1), with the trusted tier."""
    from toysafe.store.program.views import health

    day = parse_as_of(as_of)
    store = open_store(workspace)
    with store.reader() as s:
        doc = run(health, s, seller, day, True)
    if fmt is Fmt.json:
        emit(doc)
        return
    tier = "trusted" if doc.get("trusted") else "standard"
    typer.echo(
        f"{doc['seller']}: score {doc['score']} ({doc['band']}), "
        f"account {doc['state']}, {tier} tier"
    )
    for v in doc["violations"]:
        mark = "" if v["counts"] else " (not counted)"
        typer.echo(
            f"  {v['opened']} {v['kind']} ({v['severity']}, {v['points']} points) "
            f"{v['listing_id'] or ''} {v['request'] or ''}{mark}"
        )
