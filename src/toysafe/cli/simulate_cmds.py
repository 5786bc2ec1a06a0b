"""``toysafe program simulate``: the program on a synthetic marketplace (contract 9), and the
backtest of a candidate policy (``--compare``) on the same seed."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from toysafe.cli.common import fail
from toysafe.cli.program_cmds import program_app


def _policy(path: Path, option: str) -> Any:
    from toysafe.io.errors import InputError
    from toysafe.io.program import read_policy

    try:
        return read_policy(path)
    except InputError as e:
        fail(f"{option}: {e}")


def _dump(doc: Any) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


@program_app.command("simulate")
def simulate_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for metrics.json, charts, report.")],
    sellers: Annotated[int, typer.Option("--sellers", help="Synthetic sellers.")] = 50,
    listings: Annotated[int, typer.Option("--listings", help="Synthetic listings.")] = 500,
    days: Annotated[int, typer.Option("--days", help="Days to simulate.")] = 60,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same run).")] = 1,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            help="The policy to run (default: the simulator's, toysafe/sim/data/policy.yaml).",
        ),
    ] = None,
    compare: Annotated[
        Path | None,
        typer.Option("--compare", help="A candidate policy run on the same seed, side by side."),
    ] = None,
    start: Annotated[
        str, typer.Option("--start", help="The first simulated day (YYYY-MM-DD).")
    ] = "2026-01-05",
    reviewers: Annotated[int, typer.Option("--reviewers", help="Reviewers.")] = 2,
    capacity: Annotated[
        int, typer.Option("--capacity", help="Cases one reviewer decides per day.")
    ] = 25,
    sla_days: Annotated[
        int, typer.Option("--sla-days", help="Reviewer SLA in days (a breach is a longer wait).")
    ] = 14,
    history: Annotated[
        bool,
        typer.Option(
            "--history/--no-history",
            help="Start with a catalog that has history (approvals before the first day, so "
            "renewals fall due; sellers old enough for the trusted tier).",
        ),
    ] = True,
    profiles: Annotated[
        Path | None,
        typer.Option(
            "--profiles",
            help="Folder of product profiles (default: toysafe/sim/data/products).",
        ),
    ] = None,
) -> None:
    """Run the program day by day on a synthetic marketplace; write metrics.json (toysafe/
    simulation@1), PNG charts and report.html into --out."""
    from toysafe.io.errors import InputError
    from toysafe.sim.actors import SimConfig
    from toysafe.sim.catalog import DEFAULT_POLICY, EXAMPLES

    try:
        first = date.fromisoformat(start)
    except ValueError:
        fail(f"--start: '{start}' is not a date (YYYY-MM-DD)")
    cfg = SimConfig(sellers, listings, days, seed, first, reviewers, capacity, sla_days, history)
    problems = cfg.problems()
    if problems:
        fail("; ".join(f"{opt}: {why}" for opt, why in problems))
    if out.exists() and not out.is_dir():
        fail(f"--out: {out} exists and is not a folder")
    base = _policy(policy or DEFAULT_POLICY, "--policy")
    cand = _policy(compare, "--compare") if compare is not None else None
    folder = profiles or EXAMPLES
    if not folder.is_dir():
        fail(f"--profiles: {folder} is not a folder")

    try:
        metrics = _run(cfg, base, folder, "baseline" if cand else "simulate")
        other = _run(cfg, cand, folder, "candidate") if cand is not None else None
    except InputError as e:
        fail(str(e))
    _write(out, metrics, other, compare.name if compare else None)
    t = metrics["totals"]
    ttc = t["time_to_compliance_days"]
    typer.echo(
        f"simulated {days} days: {t['requests_opened']} requests, {t['approvals']} approvals "
        f"(median {ttc['median']} d, p90 {ttc['p90']} d to compliance), {t['suppressions']} "
        f"suppressions ({t['false_positive_suppressions']} of compliant listings), "
        f"{t['sla_breaches']} SLA breaches -> {out / 'report.html'}"
    )
    if other is not None:
        o = other["totals"]
        typer.echo(
            f"candidate {compare}: {o['requests_opened']} requests, {o['approvals']} approvals, "
            f"{o['suppressions']} suppressions ({o['false_positive_suppressions']} of compliant "
            f"listings), {o['sla_breaches']} SLA breaches"
        )


def _run(cfg: Any, policy: Any, folder: Path, label: str) -> dict[str, Any]:
    from toysafe.sim.engine import Simulation

    if not sys.stderr.isatty():
        return Simulation(cfg, policy, folder).run()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(f"{label}: day"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=cfg.days)
        return Simulation(cfg, policy, folder, lambda n: bar.update(task, completed=n)).run()


def _write(
    out: Path, metrics: dict[str, Any], other: dict[str, Any] | None, name: str | None
) -> None:
    """Everything into a fresh folder first, then moved into --out (nothing half-written)."""
    from toysafe.render.simulation import headline, write

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".simulate-", dir=out.parent))
    try:
        if other is not None:
            metrics = {
                **metrics,
                "comparison": {
                    "candidate": name,
                    "candidate_digest": other["policy"]["digest"],
                    "baseline": headline(metrics),
                    "candidate_totals": headline(other),
                },
            }
            (tmp / "candidate").mkdir()
            (tmp / "candidate" / "metrics.json").write_text(_dump(other), encoding="utf-8")
        (tmp / "metrics.json").write_text(_dump(metrics), encoding="utf-8")
        write(metrics, tmp, other, name)
        out.mkdir(parents=True, exist_ok=True)
        for item in sorted(tmp.iterdir()):
            target = out / item.name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(item, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
