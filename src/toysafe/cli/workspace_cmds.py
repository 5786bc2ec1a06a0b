"""Commands over the persistent workspace: init, product, report, labs, listings, lot, status,
due, impact, refresh; and certifying stored products."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from toysafe.cli.common import EXIT_NOT_OK, EXIT_OK, app, fail, parse_as_of, signing_key

Workspace = Annotated[
    Path | None, typer.Option("--workspace", help="Workspace folder (default: TOYSAFE_HOME or .)")
]
Org = Annotated[str, typer.Option("--org", help="Organization (certifier) in the workspace.")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="As of DATE (YYYY-MM-DD).")]


class Fmt(StrEnum):
    table = "table"
    json = "json"


def _open(workspace: Path | None, org: str = "default") -> Any:
    from toysafe.io.errors import InputError
    from toysafe.store.db import open_store
    from toysafe.store.workspace import Workspace as Ws

    try:
        ws = Ws(open_store(workspace), org)
        ws.party()  # the organization must exist: a clear error, not a traceback
    except InputError as e:
        fail(str(e))
    return ws


def _console() -> Any:
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


def _progress() -> Any:
    import sys

    if not sys.stderr.isatty():
        return _Quiet()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True
    )


def _read_each(files: list[Path], read: Any, label: str) -> tuple[list[Any], list[str]]:
    """Read every file (with a progress bar); collect what was read and every error."""
    from toysafe.io.errors import InputError

    items: list[Any] = []
    errors: list[str] = []
    with _progress() as progress:
        task = progress.add_task(label, total=len(files))
        for f in files:
            try:
                items.append(read(f))
            except InputError as e:
                errors.append(str(e))
            progress.advance(task)
    return items, errors


def _files(paths: list[Path], suffixes: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(x for x in p.iterdir() if x.suffix.lower() in suffixes))
        else:
            out.append(p)
    return out


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


product_app = typer.Typer(help="Products and their profile versions.", no_args_is_help=True)
app.add_typer(product_app, name="product")


@product_app.command("add")
def product_add(
    profiles: Annotated[list[Path], typer.Argument(help="Profiles or folders of them.")],
    workspace: Workspace = None,
    org: Org = "default",
    as_of: AsOf = None,
) -> None:
    """Add profiles: unchanged ones are a no-op, changed ones become a new version."""
    from toysafe.io.profiles import read_profile

    ws = _open(workspace, org)
    when = parse_as_of(as_of)
    files = _files(profiles, (".yaml", ".yml", ".json"))
    parsed, errors = _read_each(files, read_profile, "reading profiles")
    if errors:
        fail("\n".join(errors) + "\nnothing was added")
    seen: dict[str, Path] = {}
    for f, p in zip(files, parsed, strict=True):
        if p.sku in seen:
            fail(f"{f}: sku: '{p.sku}' is also the SKU of {seen[p.sku]}; nothing was added")
        seen[p.sku] = f
    outcomes = ws.add_profiles(parsed, when)
    for o in outcomes:
        typer.echo(f"{o.key}: {o.outcome.replace('_', ' ')} ({o.detail})")


@product_app.command("list")
def product_list(
    workspace: Workspace = None,
    org: Org = "default",
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """Every product in the workspace with its latest profile version."""
    rows = _open(workspace, org).products()
    if fmt is Fmt.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['sku']}\tv{r['version']}\t{r['name']}")
    typer.echo(f"{len(rows)} products")


@product_app.command("show")
def product_show(
    sku: str,
    workspace: Workspace = None,
    org: Org = "default",
    version: Annotated[int | None, typer.Option("--version", help="A past version.")] = None,
    history: Annotated[bool, typer.Option("--history", help="Versions, evidence, events.")] = False,
) -> None:
    """Show a product's profile (latest or --version), or its whole history."""
    import yaml

    from toysafe.io.errors import InputError

    ws = _open(workspace, org)
    try:
        if history:
            typer.echo(json.dumps(ws.history(sku), indent=2))
            return
        profile, v = ws.profile(sku, version)
    except InputError as e:
        fail(str(e))
    typer.echo(f"# {sku} version {v}")
    typer.echo(yaml.safe_dump(profile.to_data(), sort_keys=False, allow_unicode=True), nl=False)


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

    ws = _open(workspace, org)
    when = parse_as_of(as_of)
    files = _files(reports, (".json", ".csv"))
    batches, errors = _read_each(files, read_report_file, "reading reports")
    found = [r for batch in batches for r in batch]
    errors += report_problems(found, default_kb(), when)
    if errors:
        fail("\n".join(errors) + "\nnothing was added")
    try:
        outcomes = ws.add_reports(found, when)
    except InputError as e:
        fail(f"{e}\nnothing was added")
    added = [o for o in outcomes if o.outcome == "added"]
    typer.echo(f"{len(added)} reports added, {len(outcomes) - len(added)} already stored")


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

    ws = _open(workspace)
    try:
        read_labs(file)  # whole-file checks: header, consistency, line numbers
    except Exception as e:  # noqa: BLE001 - InputError with every problem
        fail(str(e))
    rows = []
    text = file.read_text(encoding="utf-8-sig")
    with _progress() as progress:
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


listings_app = typer.Typer(help="Marketplace listings.", no_args_is_help=True)
app.add_typer(listings_app, name="listings")


@listings_app.command("import")
def listings_import(
    file: Annotated[Path, typer.Argument(help="Amazon inventory report or listing flat file.")],
    marketplace: Annotated[str, typer.Option("--marketplace")] = "amazon.com",
    workspace: Workspace = None,
    org: Org = "default",
) -> None:
    """Import listings (columns mapped by header: SKU and ASIN at least)."""
    from toysafe.io.errors import InputError
    from toysafe.io.listings import read_listings_file

    ws = _open(workspace, org)
    try:
        with _progress() as progress:
            progress.add_task("reading listings", total=None)
            rows = read_listings_file(file, marketplace)
    except InputError as e:
        fail(f"{e}\nnothing was imported")
    added, updated = ws.import_listings(rows)
    typer.echo(f"{len(rows)} listings read: {added} added, {updated} updated")


@app.command("lot")
def lot_add(
    sku: str,
    lot: Annotated[str, typer.Argument(help="Batch or run number.")],
    made: Annotated[str, typer.Option("--made", help="Manufacture month YYYY-MM (or day).")],
    city: Annotated[str | None, typer.Option("--city")] = None,
    country: Annotated[str | None, typer.Option("--country")] = None,
    workspace: Workspace = None,
    org: Org = "default",
) -> None:
    """Record a production lot of a product (date and place of manufacture)."""
    from toysafe.core.law.dates import ManufactureDate
    from toysafe.io.errors import InputError

    try:
        ManufactureDate.parse(made)
    except ValueError as e:
        fail(f"--made: {e}")
    ws = _open(workspace, org)
    try:
        profile, _ = ws.profile(sku)
        place = profile.made_in
        added = ws.add_lot(
            sku,
            lot,
            made,
            city or (place.city if place else None),
            country or (place.country if place else None),
        )
    except InputError as e:
        fail(str(e))
    typer.echo(f"{sku}: lot {lot} {'recorded' if added else 'already recorded'}")


@app.command()
def refresh(workspace: Workspace = None, org: Org = "default", as_of: AsOf = None) -> None:
    """Recompute every product's state from the stored evidence (after a rule change)."""
    count = _open(workspace, org).refresh_all(parse_as_of(as_of))
    typer.echo(f"{count} products recomputed")


STATUS_STYLE = {
    "certified": "green",
    "expiring": "yellow",
    "expired": "bold red",
    "action_needed": "bold red",
    "ready_to_certify": "cyan",
    "missing_evidence": "magenta",
    "not_required": "dim",
    "no_profile": "red",
}


@app.command()
def status(
    workspace: Workspace = None,
    org: Org = "default",
    as_of: AsOf = None,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """Per SKU: certified and until when, expiring, expired, or what is missing; next due date."""
    from collections import Counter

    when = parse_as_of(as_of)
    rows = _open(workspace, org).statuses(when)
    counts = Counter(r.status for r in rows)
    if fmt is Fmt.json:
        doc = {
            "format": "toysafe/status@1",
            "as_of": when.isoformat(),
            "summary": dict(sorted(counts.items())),
            "products": [r.to_dict() for r in rows],
        }
        typer.echo(json.dumps(doc, indent=2))
        return
    from rich.table import Table

    table = Table(
        title=f"{len(rows)} SKUs as of {when.isoformat()}", title_justify="left", expand=True
    )
    for col in ("SKU", "Status", "Valid until", "Next due", "Listings", "Action"):
        table.add_column(
            col,
            no_wrap=col in ("SKU", "Status", "Valid until", "Next due"),
            ratio=3 if col == "Action" else None,
        )
    for r in rows:
        style = STATUS_STYLE[r.status]
        table.add_row(
            r.sku,
            f"[{style}]{r.status}[/{style}]",
            r.valid_until.isoformat() if r.valid_until else "—",
            r.next_due.isoformat() if r.next_due else "—",
            ", ".join(r.listings) or "—",
            r.action,
        )
    console = _console()
    console.print(table)
    console.print(" · ".join(f"{k}: {v}" for k, v in sorted(counts.items())))


def _days(text: str) -> int:
    t = text.strip().lower()
    try:
        if t.endswith("d"):
            return int(t[:-1])
        if t.endswith("w"):
            return 7 * int(t[:-1])
        return int(t)
    except ValueError:
        fail(f"--within: '{text}' is not a number of days such as 60d")


@app.command()
def due(
    within: Annotated[str, typer.Option("--within", help="Window, e.g. 60d or 8w.")] = "60d",
    ics: Annotated[Path | None, typer.Option("--ics", help="Also write an iCalendar file.")] = None,
    workspace: Workspace = None,
    org: Org = "default",
    as_of: AsOf = None,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """What falls due (renewals, periodic tests, missing certificates) within a window."""
    from datetime import timedelta

    when = parse_as_of(as_of)
    horizon = when + timedelta(days=_days(within))
    rows = [
        r
        for r in _open(workspace, org).statuses(when)
        if r.next_due is not None and r.next_due <= horizon
    ]
    rows.sort(key=lambda r: (r.next_due, r.sku))
    if ics is not None:
        _write_ics(ics, rows, when)
    if fmt is Fmt.json:
        typer.echo(
            json.dumps(
                {
                    "format": "toysafe/due@1",
                    "as_of": when.isoformat(),
                    "until": horizon.isoformat(),
                    "items": [r.to_dict() for r in rows],
                },
                indent=2,
            )
        )
        return
    for r in rows:
        typer.echo(f"{r.next_due}\t{r.sku}\t{r.next_due_reason}\t{r.action}")
    typer.echo(
        f"{len(rows)} items due by {horizon.isoformat()}" + (f"; calendar: {ics}" if ics else "")
    )


def _write_ics(path: Path, rows: list[Any], when: Any) -> None:
    import os
    import tempfile
    from datetime import UTC, datetime, timedelta

    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//toysafe//compliance due dates//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Toy compliance due dates")
    stamp = datetime.now(UTC)
    for r in rows:
        event = Event()
        event.add(
            "uid",
            f"{r.sku}-{(r.next_due_reason or 'due').replace(' ', '-')}-"
            f"{r.next_due.isoformat()}@toysafe",
        )
        event.add("dtstamp", stamp)
        event.add("dtstart", r.next_due)
        event.add("dtend", r.next_due + timedelta(days=1))
        event.add("summary", f"{r.sku}: {r.next_due_reason}")
        event.add("description", r.action)
        cal.add_component(event)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".toysafe-", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(cal.to_ical())
    os.replace(tmp, path)


@app.command("impact")
def impact_cmd(
    start: Annotated[
        str | None, typer.Option("--from", help="Rules of DATE (default: a year ago).")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Rules of DATE (default: today).")] = None,
    workspace: Workspace = None,
    org: Org = "default",
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """Re-assess every stored product under the rules of two dates: what changed, and which
    certificates cite an F963 edition no longer in force for new production."""
    from datetime import timedelta

    from toysafe.core.law.impact import impact
    from toysafe.io.kb import default_kb

    to = parse_as_of(end)
    frm = parse_as_of(start) if start else to - timedelta(days=365)
    if frm > to:
        fail("--from: must not be after --to")
    kb = default_kb()
    items = [
        impact(sku, p, certs, kb, frm, to) for sku, p, certs in _open(workspace, org).all_profiles()
    ]
    changed = [i for i in items if i.changed]
    if fmt is Fmt.json:
        typer.echo(
            json.dumps(
                {
                    "format": "toysafe/impact@1",
                    "from": frm.isoformat(),
                    "to": to.isoformat(),
                    "products": len(items),
                    "changed": [i.to_dict() for i in changed],
                },
                indent=2,
            )
        )
        return
    typer.echo(
        f"rules of {frm.isoformat()} vs {to.isoformat()}: {len(changed)} of "
        f"{len(items)} products affected"
    )
    for i in changed:
        parts = []
        if i.edition[0] != i.edition[1]:
            parts.append(f"toy standard {i.edition[0]} -> {i.edition[1]}")
        if i.added:
            parts.append("now applies: " + ", ".join(i.added))
        if i.removed:
            parts.append("no longer applies: " + ", ".join(i.removed))
        if i.lab_added:
            parts.append("new lab tests: " + ", ".join(i.lab_added))
        for c in i.certificates:
            lots = (
                f"; lots made since: {', '.join(c['lots_made_since'])}"
                if c["lots_made_since"]
                else ""
            )
            parts.append(
                f"certificate {c['certificate']} cites {c['cites']}, {c['in_force']} in "
                f"force since {c['since']}{lots}"
            )
        typer.echo(f"{i.sku}: " + "; ".join(parts))


def certify_stored(
    skus: list[str],
    party_file: Path | None,
    out: Path | None,
    as_of: str | None,
    lot: str | None,
    workspace: Path | None,
    org: str,
    every: bool = False,
) -> None:
    """Certify products from the workspace's stored profiles, reports and labs."""
    from toysafe.core.certificates.party import Party
    from toysafe.io.errors import InputError
    from toysafe.io.keys import workspace as resolve
    from toysafe.usecases.certify import NotCertifiable, file_stem, read_party
    from toysafe.usecases.certify import certify_stored as certify_from_store

    ws = _open(workspace, org)
    when = parse_as_of(as_of)
    try:
        if party_file is not None:
            party = read_party(party_file)
        else:
            stored = ws.party()
            if stored is None:
                fail("--party: no party file given and none stored (toysafe init --party FILE)")
            party = Party.model_validate(stored)
    except InputError as e:
        fail(str(e))
    key = signing_key(workspace)
    if every:
        skus = [r.sku for r in ws.statuses(when) if r.status in ("ready_to_certify",)]
    folder = out or resolve(workspace) / "certificates"
    refused = 0

    def one(sku: str) -> None:
        nonlocal refused
        try:
            signed, pdf = certify_from_store(ws, sku, party, key, when, lot)
        except (InputError, NotCertifiable) as e:
            refused += 1
            lines = [f"{sku}: not certified: {e}"]
            if isinstance(e, NotCertifiable):
                lines += [
                    f"  {c.id} {c.status}: {f}"
                    for c in e.verification.requirements
                    if c.status != "pass"
                    for f in c.findings[:2]
                ]
            typer.echo("\n".join(lines), err=True)
            return
        folder.mkdir(parents=True, exist_ok=True)
        stem = file_stem(sku, signed["certificate"]["type"])
        (folder / f"{stem}.pdf").write_bytes(pdf)
        (folder / f"{stem}.json").write_text(
            json.dumps(signed, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        c = signed["certificate"]
        typer.echo(
            f"{sku}: {c['type']} {c['id']} (version {c['version']}) stored; files in {folder}"
        )

    if len(skus) <= 1:
        for sku in skus:
            one(sku)
    else:
        with _progress() as progress:
            task = progress.add_task("certifying", total=len(skus))
            for sku in skus:
                one(sku)
                progress.advance(task)
    if not skus:
        typer.echo("nothing to certify")
    raise typer.Exit(EXIT_NOT_OK if refused else EXIT_OK)
