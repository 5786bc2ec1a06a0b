"""`toysafe due`: what falls due within a window, optionally as an iCalendar file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from toysafe.cli.common import app, fail, parse_as_of
from toysafe.cli.workspace_common import (
    AsOf,
    Fmt,
    Org,
    Workspace,
    open_workspace,
)


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
        for r in open_workspace(workspace, org).statuses(when)
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
