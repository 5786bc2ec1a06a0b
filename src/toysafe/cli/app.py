"""The ``toysafe`` command."""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

app = typer.Typer(
    name="toysafe",
    help="U.S. toy-safety compliance, explained: assess, verify, certify and track toys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_NOT_OK, EXIT_BAD_INPUT = 0, 1, 2


@app.callback()
def _root() -> None:
    """U.S. toy-safety compliance, explained: assess, verify, certify and track toys."""


class AssessFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    raise typer.Exit(code)


def parse_as_of(value: str | None) -> date:
    from toysafe.core.dates import parse_date

    if value is None:
        return date.today()
    try:
        return parse_date(value)
    except ValueError as e:
        fail(f"--as-of: {e}")


@app.command()
def assess(
    profile: Annotated[Path, typer.Argument(help="Product profile (YAML or JSON).")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Assess as of DATE (YYYY-MM-DD).")
    ] = None,
    fmt: Annotated[
        AssessFormat, typer.Option("--format", help="Output format.")
    ] = AssessFormat.table,
    explain: Annotated[
        str | None, typer.Option("--explain", help="Show why (or why not) for one requirement id.")
    ] = None,
) -> None:
    """Decide every U.S. requirement that applies to a product, with citations and reasons."""
    from toysafe.core.engine import assess as run_assess
    from toysafe.kbload import default_kb
    from toysafe.profile_io import InputError, read_profile

    when = parse_as_of(as_of)
    try:
        prof = read_profile(profile)
    except InputError as e:
        fail(str(e))
    result = run_assess(prof, default_kb(), when)
    if explain is not None:
        from toysafe.cli.render import explain_requirement

        text = explain_requirement(result, explain)
        if text is None:
            fail(f"--explain: unknown requirement id '{explain}'")
        typer.echo(text)
        return
    if fmt is AssessFormat.json:
        import json

        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    elif fmt is AssessFormat.markdown:
        from toysafe.cli.render import assessment_markdown

        typer.echo(assessment_markdown(result))
    else:
        from toysafe.cli.render import print_assessment

        print_assessment(result)


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
    from toysafe.core.engine import assess as run_assess
    from toysafe.core.verify import report_problems
    from toysafe.core.verify import verify as run_verify
    from toysafe.kbload import default_kb
    from toysafe.labs_io import read_labs
    from toysafe.profile_io import InputError, read_profile
    from toysafe.report_io import read_reports

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
        fail("\n".join(problems))
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
    from toysafe.core.engine import assess as run_assess
    from toysafe.core.plan import COLUMNS, test_plan
    from toysafe.kbload import default_kb
    from toysafe.profile_io import InputError, read_profile

    when = parse_as_of(as_of)
    try:
        prof = read_profile(profile)
    except InputError as e:
        fail(str(e))
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


class SummaryFormat(StrEnum):
    table = "table"
    json = "json"


@app.command()
def summary(
    paths: Annotated[list[Path], typer.Argument(help="Profile files or directories of them.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Assess as of DATE.")] = None,
    fmt: Annotated[SummaryFormat, typer.Option("--format")] = SummaryFormat.table,
) -> None:
    """Assess many profiles and print one line each: certificate, edition, lab tests, warnings."""
    from toysafe.cli.render import print_summary
    from toysafe.core.engine import assess as run_assess
    from toysafe.kbload import default_kb
    from toysafe.profile_io import InputError, read_profile

    when = parse_as_of(as_of)
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(x for x in p.iterdir() if x.suffix in (".yaml", ".yml", ".json")))
        else:
            files.append(p)
    if not files:
        fail("no profile files found")
    try:
        profiles = [read_profile(f) for f in files]
    except InputError as e:
        fail(str(e))
    results = [run_assess(p, default_kb(), when) for p in profiles]
    if fmt is SummaryFormat.json:
        import json

        typer.echo(json.dumps([r.to_dict(trace=False) for r in results], indent=2))
    else:
        print_summary(results, [p.name for p in profiles])


def main() -> None:
    app()


if __name__ == "__main__":
    main()
