"""Commands over lab evidence: verify, plan."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from toysafe.cli.common import EXIT_NOT_OK, EXIT_OK, app, fail, or_fail, parse_as_of


class VerifyFormat(StrEnum):
    table = "table"
    json = "json"


@app.command()
def verify(
    profile: Annotated[Path, typer.Argument(help="Product profile (YAML or JSON).")],
    more: Annotated[list[Path] | None, typer.Argument(hidden=True)] = None,
    reports: Annotated[
        list[Path] | None,
        typer.Option("--reports", help="Lab reports (JSON or CSV); list several after one flag."),
    ] = None,
    labs: Annotated[Path | None, typer.Option("--labs", help="Lab registry CSV.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Verify as of DATE.")] = None,
    period: Annotated[
        int | None,
        typer.Option("--period-months", min=1, help="Certification period (default 12 months)."),
    ] = None,
    fmt: Annotated[VerifyFormat, typer.Option("--format")] = VerifyFormat.table,
) -> None:
    """Check lab reports against every requirement that needs a lab: exit 0 when certifiable."""
    from toysafe.core.evidence.verify import report_problems
    from toysafe.core.evidence.verify import verify as run_verify
    from toysafe.core.law.engine import assess as run_assess
    from toysafe.io.kb import default_kb
    from toysafe.io.labs import read_labs
    from toysafe.io.profiles import InputError, read_profile
    from toysafe.io.reports import read_reports

    when = parse_as_of(as_of)
    paths = list(reports or []) + list(more or [])
    if not paths:
        fail("--reports: give at least one lab report")
    kb = default_kb()
    try:
        prof = read_profile(profile)
        found = read_reports(paths)
        registry = read_labs(labs) if labs else None
    except InputError as e:
        fail(str(e))
    problems = report_problems(found, kb, when)
    if problems:
        fail("\n".join(str(p) for p in problems))
    result = run_verify(
        prof, run_assess(prof, kb, when), [r for _, r in found], kb, when, registry, period
    )
    if fmt is VerifyFormat.json:
        import json

        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        from toysafe.cli.render import print_verification

        print_verification(result)
    raise typer.Exit(EXIT_OK if result.certifiable else EXIT_NOT_OK)


class PlanFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def plan(
    profile: Annotated[Path, typer.Argument(help="Product profile (YAML or JSON).")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Plan as of DATE.")] = None,
    fmt: Annotated[PlanFormat, typer.Option("--format")] = PlanFormat.table,
) -> None:
    """List every test a CPSC-accepted lab must run, per component, to compare lab quotes."""
    from toysafe.core.evidence.plan import COLUMNS, test_plan
    from toysafe.core.law.engine import assess as run_assess
    from toysafe.io.kb import default_kb
    from toysafe.io.profiles import read_profile

    when = parse_as_of(as_of)
    prof = or_fail(read_profile, profile)
    kb = default_kb()
    lines = test_plan(prof, run_assess(prof, kb, when), kb)
    if fmt is PlanFormat.csv:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(line.to_dict() for line in lines)
    elif fmt is PlanFormat.json:
        import json

        doc = {
            "format": "toysafe/test-plan@1",
            "sku": prof.sku,
            "as_of": when.isoformat(),
            "lines": [line.to_dict() for line in lines],
        }
        typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        from toysafe.cli.render import print_plan

        print_plan(prof.sku, lines)
