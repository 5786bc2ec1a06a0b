"""Commands that assess products: assess, summary."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from toysafe.cli.common import app, fail, or_fail, parse_as_of


class AssessFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


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
    from toysafe.core.law.engine import assess as run_assess
    from toysafe.io.kb import default_kb
    from toysafe.io.profiles import read_profile

    when = parse_as_of(as_of)
    prof = or_fail(read_profile, profile)
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
    from toysafe.core.law.engine import assess as run_assess
    from toysafe.io.kb import default_kb
    from toysafe.io.profiles import InputError, read_profile

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
