"""Human-readable views of an assessment: a rich table, Markdown, and a why/why-not answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from toysafe.core.law.assessment import Applicable, Assessment

if TYPE_CHECKING:
    from toysafe.core.evidence.plan import PlanLine
    from toysafe.core.evidence.verification import Verification

STATUS_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "missing": "yellow",
    "not_in_scope": "magenta",
    "expired": "yellow",
}


def _header(a: Assessment) -> list[str]:
    std = a.toy_standard or "not applicable"
    lines = [
        f"SKU {a.sku} — assessed as of {a.as_of.isoformat()}",
        f"Certificate: {a.certificate}   "
        f"Children's product: {'yes' if a.children_product else 'no'}   Toy standard: {std}",
        f"  {a.toy_standard_reason}",
    ]
    return lines


def _components(r: Applicable) -> str:
    if not r.components:
        return ""
    return ", ".join(f"{c.id}{'' if c.third_party_testing else ' (no lab)'}" for c in r.components)


def print_assessment(a: Assessment) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 140)
    for line in _header(a):
        console.print(line, highlight=False)
    table = Table(
        title=f"{len(a.requirements)} requirements apply",
        title_justify="left",
        show_lines=False,
        expand=True,
    )
    table.add_column("Requirement", no_wrap=True)
    table.add_column("Title")
    table.add_column("Lab", justify="center")
    table.add_column("Components")
    table.add_column("Why")
    for r in a.requirements:
        table.add_row(
            r.id,
            r.title,
            "yes" if r.third_party_testing else "no",
            _components(r),
            "; ".join(r.reasons),
        )
    console.print(table)
    if a.warnings:
        console.print("[bold]Warnings to print[/bold] (also on online listings, 16 CFR 1500.20):")
        for w in a.warnings:
            console.print(f"  ⚠ {w.text}", highlight=False)
    for alert in a.alerts:
        console.print(
            f"[bold red]ALERT[/bold red] {alert.requirement}: {alert.message}", highlight=False
        )
    for note in a.note_texts:
        console.print(f"[yellow]note[/yellow] {note}", highlight=False)
    console.print(
        f"{len(a.not_applicable)} requirements do not apply; "
        f"ask why with --explain ID, or see --format json.",
        style="dim",
    )


def assessment_markdown(a: Assessment) -> str:
    out = [f"# Assessment of {a.sku}", ""]
    out += [f"- {line.strip()}" for line in _header(a)[1:]]
    out += [
        "",
        "## Requirements that apply",
        "",
        "| Requirement | Citation | Lab test | Components | Why |",
        "|---|---|---|---|---|",
    ]
    for r in a.requirements:
        out.append(
            f"| {r.id} | {r.citation} | {'yes' if r.third_party_testing else 'no'} | "
            f"{_components(r)} | {'; '.join(r.reasons)} |"
        )
    if a.warnings:
        out += ["", "## Warnings", ""] + [f"- {w.text} ({w.citation})" for w in a.warnings]
    if a.alerts:
        out += ["", "## Alerts", ""] + [f"- **{x.requirement}**: {x.message}" for x in a.alerts]
    if a.notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in a.note_texts]
    out += ["", "## Requirements that do not apply", "", "| Requirement | Why not |", "|---|---|"]
    out += [f"| {n.id} | {'; '.join(n.reasons)} |" for n in a.not_applicable]
    return "\n".join(out) + "\n"


def explain_requirement(a: Assessment, rid: str) -> str | None:
    """Why a requirement applies, or why it does not, with the inputs the rule looked at."""
    r = a.requirement(rid)
    if r is not None:
        lines = [
            f"{r.id} — {r.title} APPLIES",
            f"citation: {r.citation}",
            f"third-party lab test: {'yes' if r.third_party_testing else 'no'}",
            "why:",
        ]
        lines += [f"  - {x}" for x in r.reasons]
        for c in r.components:
            lines.append(
                f"  component {c.id}: {'lab test' if c.third_party_testing else 'no lab test'}"
                f" — {'; '.join(c.reasons)}"
            )
        for cid, why in r.excluded_components:
            lines.append(f"  component {cid} not covered — {why}")
        trace = r.trace
    else:
        n = next((x for x in a.not_applicable if x.id == rid), None)
        if n is None:
            return None
        lines = [f"{n.id} — {n.title} DOES NOT APPLY", f"citation: {n.citation}", "why not:"]
        lines += [f"  - {x}" for x in n.reasons]
        trace = n.trace
    lines.append("tests evaluated:")
    lines += [f"  {'✓' if ok else '✗'} {test}({arg}) on {seen}" for test, arg, seen, ok in trace]
    return "\n".join(lines)


def print_summary(results: list[Assessment], names: list[str]) -> None:
    """One line per product: what certificate, which edition, how many lab tests, warnings."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 140)
    table = Table(title=f"{len(results)} products assessed", title_justify="left", expand=True)
    for col in ("SKU", "Product", "Cert.", "Toy standard", "Apply", "Lab tests", "Warnings"):
        table.add_column(
            col,
            no_wrap=col in ("SKU", "Cert.", "Toy standard"),
            justify="right" if col in ("Apply", "Lab tests") else "left",
        )
    for a, name in zip(results, names, strict=True):
        lab = [r.id for r in a.requirements if r.third_party_testing]
        alerts = f" [bold red]{len(a.alerts)} alert(s)[/bold red]" if a.alerts else ""
        table.add_row(
            a.sku,
            name + alerts,
            a.certificate,
            a.toy_standard or "—",
            str(len(a.requirements)),
            str(len(lab)),
            ", ".join(w.key for w in a.warnings) or "—",
        )
    console.print(table)
    console.print(
        "Details: toysafe assess PROFILE (add --format json, or --explain ID)", style="dim"
    )


def print_verification(v: Verification) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 140)
    console.print(
        f"SKU {v.sku} — verified as of {v.as_of.isoformat()}; evidence may be at most "
        f"{v.max_age_months} months old",
        highlight=False,
    )
    table = Table(
        title=f"{len(v.requirements)} requirements need a CPSC-accepted lab",
        title_justify="left",
        expand=True,
    )
    table.add_column("Requirement", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Evidence", ratio=1)
    table.add_column("Findings", ratio=4)
    for r in v.requirements:
        reports = sorted({e.report_no for e in r.evidence})
        style = STATUS_STYLE[r.status]
        table.add_row(
            r.id, f"[{style}]{r.status}[/{style}]", ", ".join(reports), "\n".join(r.findings)
        )
    console.print(table)
    for finding in v.findings:
        console.print(f"[yellow]note[/yellow] {finding}", highlight=False)
    if not v.labs_checked:
        console.print(
            "[yellow]note[/yellow] lab acceptance was not checked: give the CPSC lab registry "
            "with --labs to check that each lab was accepted for each requirement",
            highlight=False,
        )
    if v.certifiable:
        until = f" (evidence valid until {v.valid_until.isoformat()})" if v.valid_until else ""
        unchecked = "" if v.labs_checked else " (lab acceptance not checked)"
        console.print(f"[bold green]CERTIFIABLE[/bold green]{until}{unchecked}")
    else:
        console.print("[bold red]NOT CERTIFIABLE[/bold red]: fix the requirements above")


def print_plan(sku: str, lines: list[PlanLine]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 160)
    table = Table(
        title=f"Test plan for {sku}: {len(lines)} lines to quote", title_justify="left", expand=True
    )
    for col in ("Requirement", "Component", "Material", "Analytes", "Method", "Sample"):
        table.add_column(col, no_wrap=col == "Requirement")
    for line in lines:
        comp = line.component or line.component_name
        if line.component and line.component_name:
            comp = f"{line.component} ({line.component_name})"
        table.add_row(
            line.requirement, comp, line.material, line.analytes, line.method, line.sample
        )
    console.print(table)
    console.print(
        "Send this plan (--format csv) to several labs to compare quotes line by line.", style="dim"
    )
